"""The debugger hook: which events a PyTorch training loop produces, at which steps."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from sagebox.debugger import Hook, HookConfig
from sagebox.debugger._hook_stats import dead_units, decode_stats, tensor_stats
from sagebox.debugger.events import EventReader
from sagebox.errors import ConfigError
from tests.fixtures.encoders import tiny_encoder  # noqa: F401

SCRIPT = Path(__file__).with_name("scripts") / "train_mlp.py"


def events(root: Path, stream: str) -> list[dict[str, Any]]:
    return EventReader(root, stream).read_new()


def mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def train(
    model: nn.Module,
    steps: int,
    optimizer: torch.optim.Optimizer | None = None,
    every: Callable[[int], None] | None = None,
) -> None:
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1])
    for i in range(steps):
        model.train()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        if optimizer is not None:
            optimizer.step()
            optimizer.zero_grad()
        if every is not None:
            every(i)


def test_steps_intervals_and_eval_forwards(tmp_path: Path) -> None:
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    hook = Hook(tmp_path, config=HookConfig(save_interval=2, tensor_interval=3))
    hook.register_module(model)
    hook.register_optimizer(optimizer)

    def validate(i: int) -> None:
        model.eval()
        with torch.no_grad():
            model(torch.randn(2, 4))  # an eval forward: not a training step
        hook.record_scalar("accuracy", 0.5 + i / 100, mode="eval")

    train(model, 7, optimizer, every=validate)
    assert hook.step == 6
    hook.close()

    scalars = events(tmp_path, "scalars")
    assert [(e["step"], e["value"]) for e in scalars if e["name"] == "learning_rate"] == [
        (s, 0.1) for s in (0, 2, 4, 6)
    ]
    accuracy = [(e["step"], e["mode"]) for e in scalars if e["name"] == "accuracy"]
    assert accuracy == [(i, "eval") for i in range(7)]

    tensors = events(tmp_path, "tensors")
    by_kind: dict[str, set[int]] = {}
    for e in tensors:
        by_kind.setdefault(e["kind"], set()).add(e["step"])
    assert by_kind == {
        "weight": {0, 3, 6},
        "gradient": {0, 3, 6},
        "activation": {0, 3, 6},
        "activation_input": {0, 3, 6},
    }
    names = {(e["kind"], e["name"]) for e in tensors if e["step"] == 3}
    assert names == {
        *(
            (kind, p)
            for kind in ("weight", "gradient")
            for p in ("0.weight", "0.bias", "2.weight", "2.bias")
        ),
        ("activation", "1.output"),
        ("activation_input", "1.input"),
    }
    weight = next(e for e in tensors if e["name"] == "0.weight" and e["kind"] == "weight")
    assert weight["size"] == 32 and weight["nan"] == 0 and 0 <= weight["zero_fraction"] <= 1
    relu = next(e for e in tensors if e["kind"] == "activation")
    assert relu["min"] >= 0 and 0 <= relu["dead_fraction"] <= 1

    framework = events(tmp_path, "framework")
    phases: dict[str, list[int]] = {}
    for e in framework:
        phases.setdefault(e["phase"], []).append(e["step"])
        assert e["end"] >= e["start"] and e["batch_size"] == 5
    assert phases["step"] == list(range(7))
    assert phases["forward"] == phases["backward"] == phases["optimizer"] == list(range(7))
    # the time spent validating is not data loading: no data phase after an eval forward
    assert "data" not in phases
    steps = [e for e in framework if e["phase"] == "step"]
    assert all(a["end"] <= b["start"] for a, b in zip(steps, steps[1:], strict=False))
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["hook"] == HookConfig(save_interval=2, tensor_interval=3).to_json()


def test_data_phase_between_steps_and_no_optimizer(tmp_path: Path) -> None:
    model = mlp()
    with Hook(tmp_path, config=HookConfig(save_interval=1, tensor_interval=100)) as hook:
        hook.register_module(model)
        train(model, 3)  # no optimizer registered: every train forward is a step
        with torch.no_grad():
            model(torch.randn(1, 4))  # grad disabled: not a step
        assert hook.step == 2 and hook.mode == "eval"
    framework = events(tmp_path, "framework")
    assert [e["step"] for e in framework if e["phase"] == "data"] == [1, 2]
    assert [e["step"] for e in framework if e["phase"] == "backward"] == [0, 1, 2]
    assert not [e for e in framework if e["phase"] == "optimizer"]
    data = {e["step"]: e for e in framework if e["phase"] == "data"}
    step = {e["step"]: e for e in framework if e["phase"] == "step"}
    assert data[1]["start"] == step[0]["end"] and data[1]["start"] == step[1]["start"]
    assert {e["kind"] for e in events(tmp_path, "tensors")} == {
        "weight",
        "gradient",
        "activation",
        "activation_input",
    }
    assert {e["step"] for e in events(tmp_path, "tensors")} == {0}


def test_gradient_accumulation_is_one_step(tmp_path: Path) -> None:
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with Hook(tmp_path) as hook:
        hook.register_module(model)
        hook.register_optimizer(optimizer)
        x, y = torch.randn(4, 4), torch.tensor([0, 1, 2, 0])
        for _ in range(3):
            for half in (x[:2], x[2:]):
                nn.functional.cross_entropy(model(half), y[:2]).backward()
            optimizer.step()
            optimizer.zero_grad()
        assert hook.step == 2
    steps = [e["step"] for e in events(tmp_path, "framework") if e["phase"] == "step"]
    assert steps == [0, 1, 2]


def test_nan_and_inf_are_counted(tmp_path: Path) -> None:
    model = mlp()
    with torch.no_grad():
        first: Any = model[0]
        first.weight[0, :3] = torch.tensor([math.nan, math.inf, -math.inf])
    with Hook(tmp_path, config=HookConfig(tensor_interval=1)) as hook:
        hook.register_module(model)
        train(model, 1)
    tensors = {(e["kind"], e["name"]): e for e in events(tmp_path, "tensors")}
    weight = tensors[("weight", "0.weight")]
    assert (weight["nan"], weight["inf"]) == (1, 2)
    assert math.isnan(weight["mean"])
    assert tensors[("weight", "2.weight")]["nan"] == 0
    assert tensors[("gradient", "2.weight")]["nan"] > 0  # NaN flows into the gradients


def test_weights_are_summarised_anew_only_when_changed(tmp_path: Path) -> None:
    model = mlp()
    model[0].weight.requires_grad_(False)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    with Hook(tmp_path, config=HookConfig(tensor_interval=1)) as hook:
        hook.register_module(model)
        hook.register_optimizer(optimizer)
        train(model, 2, optimizer)
        with torch.no_grad():
            frozen: Any = model[0].weight
            frozen.mul_(2)  # an in-place change of a frozen weight
        train(model, 1, optimizer)
    norm = {
        (e["name"], e["step"]): e["norm"]
        for e in events(tmp_path, "tensors")
        if e["kind"] == "weight"
    }
    assert norm[("0.weight", 0)] == norm[("0.weight", 1)]
    assert norm[("0.weight", 2)] == pytest.approx(2 * norm[("0.weight", 1)])
    assert norm[("2.weight", 0)] != norm[("2.weight", 1)] != norm[("2.weight", 2)]


def test_summary_figures_match_numpy() -> None:
    x = torch.tensor([[0.0, -2.0, 3.0], [1.0, 0.0, 4.0]])
    stats = tensor_stats(x)
    assert stats is not None
    summary = decode_stats(stats.tolist())
    flat = x.numpy().reshape(-1)
    assert summary["norm"] == pytest.approx(float((flat**2).sum() ** 0.5))
    assert summary["mean"] == pytest.approx(float(flat.mean()))
    assert summary["std"] == pytest.approx(float(flat.std()))
    assert (summary["min"], summary["max"]) == (-2.0, 4.0)
    assert summary["zero_fraction"] == pytest.approx(2 / 6)
    assert (summary["nan"], summary["inf"], summary["size"]) == (0, 0, 6)
    assert "dead_fraction" not in summary
    # units: the last dimension; unit 1 is positive for no row, units 0 and 2 are
    assert float(dead_units(torch.tensor([[0.0, -1.0, 2.0], [3.0, 0.0, 0.0]]))) == pytest.approx(
        1 / 3
    )
    assert float(dead_units(torch.tensor([[math.nan, -1.0], [-1.0, -1.0]]))) == 0.5
    # a convolution's units are its channels (dimension 1)
    conv = torch.zeros(2, 4, 3, 3)
    conv[:, 0] = 1.0
    assert float(dead_units(conv)) == pytest.approx(3 / 4)
    assert tensor_stats(torch.zeros(0)) is None


def test_record_scalar_batch_and_modes(tmp_path: Path) -> None:
    model = mlp()
    with Hook(tmp_path, config=HookConfig(save_interval=2)) as hook:
        hook.register_module(model)

        def record(i: int) -> None:
            logits = torch.tensor([[0.1, 2.0, 0.3], [3.0, 0.0, 0.0]])
            hook.record_batch(torch.tensor([1, 2]), logits)  # train: save steps only
            hook.record_scalar("loss", torch.tensor(1.0 / (i + 1)))

        train(model, 4, every=record)
        hook.set_mode("eval")
        assert hook.mode == "eval"
        model(torch.randn(1, 4))  # train-mode module, but the hook says eval: not a step
        hook.record_scalar("loss", 0.5)
        hook.record_batch([0, 1, 2], [0, 0, 2])
        hook.set_mode("train")
        with pytest.raises(ConfigError, match="test"):
            hook.record_scalar("loss", 1.0, mode="test")
        assert hook.step == 3
    scalars = [(e["step"], e["mode"], e["value"]) for e in events(tmp_path, "scalars")]
    assert [s[:2] for s in scalars] == [(0, "train"), (1, "train"), (2, "train"), (3, "train"),
                                        (3, "eval")]  # fmt: skip
    assert [s[2] for s in scalars] == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.5])
    batches = [
        (e["step"], e["mode"], e["labels"], e["predictions"]) for e in events(tmp_path, "batches")
    ]
    assert batches == [
        (0, "train", [1, 2], [1, 0]),
        (2, "train", [1, 2], [1, 0]),
        (3, "eval", [0, 1, 2], [0, 0, 2]),
    ]


def test_register_loss_saves_train_steps_and_eval_means(tmp_path: Path) -> None:
    model, loss_fn = mlp(), nn.CrossEntropyLoss()
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1])
    with Hook(tmp_path, config=HookConfig(save_interval=2)) as hook:
        hook.register_module(model)
        hook.register_loss(loss_fn)
        train_losses = []
        for _ in range(3):
            model.train()
            loss = loss_fn(model(x), y)
            loss.backward()
            train_losses.append(float(loss.detach()))
        model.eval()
        with torch.no_grad():
            eval_losses = [float(loss_fn(model(x[:k]), y[:k])) for k in (2, 5)]
        model.train()
        loss_fn(model(x), y).backward()  # the next step writes the evaluation's mean
    scalars = [(e["step"], e["mode"], e["value"]) for e in events(tmp_path, "scalars")]
    assert scalars[:2] == [(0, "train", pytest.approx(train_losses[0])),
                           (2, "train", pytest.approx(train_losses[2]))]  # fmt: skip
    assert scalars[2] == (2, "eval", pytest.approx(sum(eval_losses) / 2))


def test_close_removes_the_hooks_and_collections_filter(tmp_path: Path) -> None:
    model = mlp()
    config = HookConfig(tensor_interval=1, collections=("weights",), framework_profile=False)
    hook = Hook(tmp_path, config=config)
    hook.register_module(model)
    train(model, 2)
    hook.record_scalar("loss", 1.0)  # "losses" is not collected
    hook.record_batch([1], [1])
    hook.close()
    hook.close()
    before = {p.name: p.stat().st_size for p in tmp_path.rglob("*.jsonl")}
    assert set(before) == {"algo-1.jsonl"} and (tmp_path / "tensors").is_dir()
    assert not (tmp_path / "scalars").exists() and not (tmp_path / "framework").exists()
    assert {e["kind"] for e in events(tmp_path, "tensors")} == {"weight"}
    train(model, 2)  # after close: the module has no hooks left
    assert {p.name: p.stat().st_size for p in tmp_path.rglob("*.jsonl")} == before
    assert not model._forward_pre_hooks and not model._forward_hooks


def test_create_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGEBOX_DEBUG_DIR", raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert Hook.create_from_env() is None
    monkeypatch.setenv("SAGEBOX_DEBUG_DIR", str(tmp_path / "debug"))
    monkeypatch.setenv("SAGEBOX_DEBUGGER_CONFIG", json.dumps({"save_interval": 3}))
    monkeypatch.setenv("SM_CURRENT_HOST", "algo-2")
    monkeypatch.setenv("SM_TRAINING_ENV", json.dumps({"job_name": "job-1"}))
    hook = Hook.create_from_env()
    assert hook is not None
    assert (hook.host, hook.config.save_interval, hook.config.tensor_interval) == ("algo-2", 3, 50)
    hook.record_scalar("loss", 1.0)
    hook.close()
    assert (tmp_path / "debug" / "scalars" / "algo-2.jsonl").is_file()
    assert json.loads((tmp_path / "debug" / "meta.json").read_text())["job"] == "job-1"
    monkeypatch.setenv("LOCAL_RANK", "1")  # a second process on the same host writes nothing
    assert Hook.create_from_env() is None
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("SAGEBOX_DEBUGGER_CONFIG", '{"save_interval": 0}')
    with pytest.raises(ConfigError, match="save_interval=0"):
        Hook.create_from_env()


def test_hook_config_json() -> None:
    config = HookConfig(save_interval=5, collections=("losses", "weights"))
    assert HookConfig.from_json(config.to_json()) == config
    assert HookConfig.from_json(json.dumps(config.to_json())) == config
    assert HookConfig.from_json(None) == HookConfig()
    sagemaker = {
        "hook_parameters": {"save_interval": "20", "framework_profile": "false"},
        "collection_configs": [{"name": "gradients"}, {"name": "losses"}],
    }
    assert HookConfig.from_json(sagemaker) == HookConfig(
        save_interval=20, collections=("gradients", "losses"), framework_profile=False
    )
    for bad, match in [
        ({"save_intervall": 5}, "save_intervall"),
        ({"collections": ["weights", "biases"]}, "biases"),
        ({"tensor_interval": "often"}, "tensor_interval"),
        ("{not json", "not valid JSON"),
        ([1, 2], "JSON object"),
    ]:
        with pytest.raises(ConfigError, match=match):
            HookConfig.from_json(bad)  # type: ignore[arg-type]


def test_a_failing_hook_never_breaks_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = mlp()
    with Hook(tmp_path, config=HookConfig(tensor_interval=1)) as hook:
        hook.register_module(model)

        def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("summary failed")

        monkeypatch.setattr("sagebox.debugger.hook.tensor_stats", broken)
        train(model, 2)  # no exception reaches the training loop
        assert hook.step == 1


def test_script_mode_fixture_writes_events(tmp_path: Path) -> None:
    """The two-line hook in an unmodified script; lr=1000 makes the loss and weights NaN."""
    env = {
        **os.environ,
        "SAGEBOX_DEBUG_DIR": str(tmp_path),
        "SAGEBOX_DEBUGGER_CONFIG": json.dumps({"tensor_interval": 5}),
    }
    env.pop("LOCAL_RANK", None)
    args = ["--epochs", "1", "--val-rows", "50", "--lr", "1000"]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "epoch 1 train_loss: nan" in result.stdout
    scalars = events(tmp_path, "scalars")
    assert {(e["name"], e["mode"]) for e in scalars} == {
        ("loss", "train"),
        ("loss", "eval"),
        ("accuracy", "eval"),
        ("learning_rate", "train"),
    }
    assert [e["step"] for e in scalars if e["name"] == "loss" and e["mode"] == "eval"] == [62]
    assert any(e["nan"] > 0 for e in events(tmp_path, "tensors"))
    assert events(tmp_path, "batches") and events(tmp_path, "framework")


def test_text_transformer_saves_debug_data(
    tiny_encoder: Path,  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The built-in writes train/eval losses, batches, GELU activations and phase timings."""
    from sagebox.algorithms.base import FitContext
    from sagebox.algorithms.text_transformer import TextTransformerClassifier

    monkeypatch.setenv("SAGEBOX_DEBUG_DIR", str(tmp_path))
    monkeypatch.setenv(
        "SAGEBOX_DEBUGGER_CONFIG", json.dumps({"save_interval": 2, "tensor_interval": 3})
    )
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    texts = ["love it", "hate it", "it is ok", "great fit", "awful fabric", "fine"] * 4
    labels = [1, -1, 0, 1, -1, 0] * 4
    clf = TextTransformerClassifier(
        model_name_or_path=str(tiny_encoder), max_seq_length=16, epochs=2, train_batch_size=4,
        num_threads=1, log_interval=0,
    )  # fmt: skip
    clf.fit(
        texts, labels, FitContext(validation=(texts[:6], labels[:6]), log_metric=lambda *a: None)
    )
    scalars = events(tmp_path, "scalars")
    train_loss = [e["step"] for e in scalars if e["name"] == "loss" and e["mode"] == "train"]
    assert train_loss == [0, 2, 4, 6, 8, 10]  # 2 epochs of 6 steps, every 2nd step
    evals = {(e["name"], e["step"]) for e in scalars if e["mode"] == "eval"}
    assert evals == {(name, step) for name in ("loss", "accuracy", "macro_f1") for step in (5, 11)}
    batches = events(tmp_path, "batches")
    assert [(e["step"], len(e["labels"])) for e in batches if e["mode"] == "train"][:2] == [
        (0, 4),
        (2, 4),
    ]
    assert [len(e["predictions"]) for e in batches if e["mode"] == "eval"] == [6, 6]
    tensors = events(tmp_path, "tensors")
    assert {e["step"] for e in tensors} == {0, 3, 6, 9}
    names = {(e["kind"], e["name"]) for e in tensors}
    assert ("activation", "bert.encoder.layer.0.intermediate.intermediate_act_fn.output") in names
    assert ("gradient", "classifier.weight") in names
    assert ("gradient", "bert.embeddings.word_embeddings.weight") not in names  # frozen
    assert ("weight", "bert.embeddings.word_embeddings.weight") in names
    framework = events(tmp_path, "framework")
    assert {e["phase"] for e in framework} == {"step", "data", "forward", "backward", "optimizer"}
    assert {e["batch_size"] for e in framework} == {4}
    assert clf.predict(["love it"]).shape == (1,)  # the hook is closed: prediction unaffected
