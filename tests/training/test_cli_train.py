"""``sagebox train``, ``sagebox jobs metrics`` and ``--algorithm`` in evaluate and demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.training.conftest import FIXTURES


def test_train_help(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("train", "--help")
    assert result.returncode == 0
    for option in ("--algorithm", "--entry-point", "--hyperparameter", "--metric", "--resume"):
        assert option in result.stdout


def test_train_builtin_json_and_metrics(cli, prepared: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "train", "--algorithm", "blazingtext", "--train", prepared["train"],
        "--validation", prepared["validation"], "-H", "epochs=5", "-H", "vector_dim=8", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    job = json.loads(result.stdout.strip().splitlines()[-1])
    assert job["status"] == "Completed" and job["outputs"]["model"].endswith("model.tar.gz")
    assert "metric validation:accuracy=" in result.stderr  # the live log goes to stderr
    points = json.loads(cli("jobs", "metrics", job["name"], "--json").stdout)
    assert {"train:accuracy", "validation:accuracy"} <= {p["name"] for p in points}
    table = cli("jobs", "metrics", job["name"], "--name", "validation:accuracy")
    assert table.returncode == 0 and "validation:accuracy" in table.stdout


def test_train_errors_are_one_liners(cli, prepared: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "train", "--algorithm", "blazingtext", "--train", prepared["train"], "-H", "bogus=1"
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "error: unknown hyperparameter(s) for blazingtext: bogus"
    assert lines[1].startswith("hint: known: ") and "word_ngrams" in lines[1]
    missing = cli("train", "--algorithm", "linear-text", "--train", "nowhere/at-all")
    assert missing.returncode == 1 and "has no data at nowhere/at-all" in missing.stderr
    negative = cli("train", "--algorithm", "text-transformer", "--train", prepared["train"],
                   "-H", "learning_rate=-1")  # fmt: skip
    assert negative.returncode == 1 and "learning_rate=-1.0 is out of range" in negative.stderr


def test_train_script_failure_exits_non_zero(cli, prepared: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "train", "--entry-point", "crash.py", "--source-dir", str(FIXTURES / "scripts"),
        "--train", prepared["train"], "--no-logs",
    )  # fmt: skip
    assert result.returncode == 1
    assert "Failed" in result.stdout and "ValueError: boom" in result.stdout


@pytest.mark.slow
def test_evaluate_and_demo_take_any_algorithm(  # type: ignore[no-untyped-def]
    cli, tiny_encoder: Path, sagebox_env: Path
) -> None:
    from sagebox.datasets import generate_reviews

    for name, rows, seed in (("a.csv", 400, 1), ("b.csv", 200, 2)):
        generate_reviews(rows, seed=seed).to_csv(sagebox_env.parent / name, index=False)
    train, test = str(sagebox_env.parent / "a.csv"), str(sagebox_env.parent / "b.csv")
    for algorithm, params in (
        ("blazingtext", ["-H", "epochs=5"]),
        ("xgboost", ["-H", "num_round=20", "-H", "svd_components=8"]),
        ("ensemble", ["-H", "members=linear-text,blazingtext"]),
    ):
        result = cli("evaluate", "--train", train, "--test", test, "--algorithm", algorithm,
                     *params, "--json")  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert report["algorithm"] == algorithm and report["accuracy"] > 0.4
    tiny = [
        "-H", f"model_name_or_path={tiny_encoder}", "-H", "max_seq_length=32",
        "-H", "train_steps_per_epoch=3", "-H", "num_threads=1",
    ]  # fmt: skip
    result = cli("demo", "--rows", "300", "--algorithm", "text-transformer", *tiny, "--json",
                 timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["model_name"].startswith("reviews-text-transformer-")
    assert len(summary["predictions"]) == 4
