"""Debugger rules on real training jobs: they fire on broken runs, stay silent on a healthy one,
and their actions stop the job (keeping its checkpoint) and call a webhook.

The jobs run the script-mode fixture ``scripts/train_mlp.py`` (a tiny MLP; each knob breaks
the run in one way) and ``scripts/overfit_checkpointed.py`` (overfits for ~forever).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.cli.train_cmd import _parse_rule
from sagebox.debugger import RuleConfig
from sagebox.jobs import JobClient
from sagebox.session import Session
from sagebox.training import Estimator
from sagebox.training.launcher import WorkerSpec, run_workers

SCRIPTS = Path(__file__).with_name("scripts")
SLEEP = Path(__file__).parents[1] / "training" / "fixtures" / "scripts" / "sleep.py"
RULES = [
    RuleConfig("exploding_tensor"),
    RuleConfig("loss_not_decreasing"),
    # A healthy run's validation loss wobbles around the training loss (label noise): only
    # a clear and lasting gap is overfitting.
    RuleConfig("overfit", {"patience": 2, "ratio_threshold": 0.3}),
    RuleConfig("poor_weight_initialization"),
]
RUNS = {  # run → (train_mlp.py arguments, the rule it must trip)
    "healthy": ({"epochs": 4}, None),
    "lr-too-high": ({"epochs": 3, "lr": 1000}, "ExplodingTensor"),
    "frozen": ({"epochs": 4, "freeze": True}, "LossNotDecreasing"),
    "tiny-train-set": ({"epochs": 20, "train-rows": 8}, "Overfit"),
    "bad-init": ({"epochs": 3, "init-scale": 50}, "PoorWeightInitialization"),
}


@pytest.fixture()
def session(sagebox_env: Path) -> Session:
    return Session()


@pytest.mark.slow
def test_rules_fire_on_broken_runs_and_stay_silent_on_a_healthy_one(session: Session) -> None:
    jobs = JobClient(session)
    started = {}
    for run, (arguments, _) in RUNS.items():
        est = Estimator(
            entry_point="train_mlp.py",
            source_dir=SCRIPTS,
            hyperparameters=arguments,
            rules=RULES,
            base_job_name=run,
            session=session,
        )
        started[run] = est.fit(wait=False).name  # two run at a time (max_workers)
    for run, name in started.items():
        job = jobs.wait(name, timeout=300)
        assert job.status is JobStatus.COMPLETED, (run, job.failure_reason, jobs.logs(name))
        records = {r.rule_name: r for r in session.metadata.list_rule_evaluations(name)}
        assert list(records) == [r.name for r in RULES]
        expected = RUNS[run][1]
        if expected is None:
            assert {r.status for r in records.values()} == {"NoIssuesFound"}, [
                (r.rule_name, r.message) for r in records.values()
            ]
            continue
        fired = records[expected]
        assert fired.status == "IssuesFound", (run, fired)
        assert fired.step is not None and fired.message and fired.evidence
        assert f"rule {expected}: IssuesFound at step {fired.step}: " in jobs.logs(name)

    healthy = jobs.describe(started["healthy"])
    prefix = f"jobs/{healthy.name}/debug-output/"
    assert healthy.outputs["debug_output"] == session.storage.url(prefix)
    keys = {info.key[len(prefix) :] for info in session.storage.list(prefix)}
    assert {"meta.json", "scalars/algo-1.jsonl", "tensors/algo-1.jsonl"} <= keys
    meta = json.loads(session.storage.read_bytes(prefix + "meta.json"))
    assert meta["job"] == healthy.name and [r["name"] for r in meta["rules"]] == [
        r.name for r in RULES
    ]


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagebox", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_the_stop_action_stops_an_overfitting_job_and_keeps_its_checkpoint(
    session: Session, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, bodies = webhook
    started = time.monotonic()
    result = _cli(
        "train", "--entry-point", "overfit_checkpointed.py", "--source-dir", str(SCRIPTS),
        "--rule", "overfit:patience=2,ratio_threshold=0.3", "--rule", "exploding_tensor",
        "--rule-action", "stop", "--webhook-url", url, "--debug-interval", "5",
        "--checkpoint-uri", "ckpt/overfit", "--no-logs", "--json",
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr[-3000:]
    job = json.loads(result.stdout.strip().splitlines()[-1])
    assert job["status"] == "Stopped", job
    assert job["failure_reason"].startswith("Stopped by rule Overfit: validation loss ")
    assert "model" not in job["outputs"] and "debug_output" in job["outputs"]
    log = JobClient(session).logs(job["name"])
    epochs = [int(line.split()[1]) for line in log.splitlines() if line.startswith("epoch ")]
    assert 0 < epochs[-1] < 20_000, "the job ran to (nearly) its natural end of 100000 epochs"
    assert elapsed < 240

    prefix = f"jobs/{job['name']}/debug-output/"
    meta = json.loads(session.storage.read_bytes(prefix + "meta.json"))
    assert meta["hook"]["save_interval"] == 5  # --debug-interval reached the worker's hook
    assert session.storage.exists(prefix + "system/algo-1.jsonl")  # the profiler ran
    checkpoint = json.loads(session.storage.read_bytes("ckpt/overfit/checkpoint.json"))
    assert epochs[-1] - 50 <= checkpoint["epoch"] <= epochs[-1]  # the last one, kept

    records = {r.rule_name: r for r in session.metadata.list_rule_evaluations(job["name"])}
    overfit = records["Overfit"]
    assert overfit.status == "IssuesFound" and overfit.step is not None
    assert overfit.parameters["patience"] == 2 and overfit.parameters["ratio_threshold"] == 0.3
    assert [(a["type"], a["result"]) for a in overfit.actions] == [
        ("stop_training", "stop requested"),
        ("notify", "webhook HTTP 204"),
    ]
    assert records["ExplodingTensor"].status == "NoIssuesFound"
    assert f"rule Overfit: IssuesFound at step {overfit.step}: " in log
    (body,) = bodies
    assert body["job"] == job["name"] and body["rule"] == "Overfit"
    assert body["status"] == "IssuesFound" and body["step"] == overfit.step
    assert body["message"] == overfit.message and body["evidence"] == overfit.evidence


def test_train_rule_options_report_bad_input_in_one_line(sagebox_env: Path) -> None:
    base = ["train", "--entry-point", "train_mlp.py", "--source-dir", str(SCRIPTS)]
    cases = {
        ("--rule", "overfitting"): ("error: unknown rule 'overfitting'", "Overfit"),
        ("--rule", "overfit:patience"): ("is not KEY=VALUE", "--rule overfit:patience=2"),
        ("--rule", "overfit:patient=2"): ("rule Overfit has no parameter patient", "patience"),
        ("--rule", "overfit", "--rule-action", "email"): ("'email' is not stop or notify", ""),
        ("--rule-action", "stop"): ("need at least one --rule", "--rule overfit"),
        ("--rule", "overfit", "--webhook-url", "ftp://x"): ("'ftp://x' is not an http", ""),
        ("--debug-interval", "0"): ("save_interval=0", "save_interval=10"),
        ("--rule", "cpu_bottleneck", "--disable-profiler"): ("need the profiler", ""),
    }
    for args, (message, hint) in cases.items():
        result = _cli(*base, *args, timeout=60)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and len(lines) == 2, (args, result.stderr)
        assert message in lines[0] and lines[0].startswith("error: "), (args, lines)
        assert lines[1].startswith("hint: ") and hint in lines[1], (args, lines)
    help_text = _cli("train", "--help", timeout=60).stdout
    for option in ("--rule", "--rule-action", "--webhook-url", "--disable-profiler"):
        assert option in help_text


def test_rule_option_syntax() -> None:
    assert _parse_rule("overfit") == ("overfit", {})
    assert _parse_rule("Overfit:patience=2, ratio_threshold=0.25") == (
        "Overfit",
        {"patience": 2, "ratio_threshold": 0.25},
    )
    assert _parse_rule("exploding_tensor:tensor_regex=.*relu.*,.*gelu.*,only_nan=true") == (
        "exploding_tensor",
        {"tensor_regex": ".*relu.*,.*gelu.*", "only_nan": True},
    )


def test_run_workers_stops_on_the_event(tmp_path: Path) -> None:
    stop = threading.Event()
    spec = WorkerSpec("algo-1", [sys.executable, str(SLEEP)], {}, tmp_path)
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    started = time.monotonic()
    result = run_workers([spec, WorkerSpec("algo-2", spec.argv, {}, tmp_path)], stop=stop)
    assert result.stopped and not result.ok and result.describe() == "stopped on request"
    assert time.monotonic() - started < 30  # not the script's 120 s


def test_estimator_takes_sagemaker_debugger_arguments(session: Session) -> None:
    from sagebox.debugger import HookConfig, Notify, ProfilerConfig, StopTraining

    est = Estimator(
        entry_point="train_mlp.py",
        source_dir=SCRIPTS,
        debugger_hook_config=HookConfig(save_interval=3, collections=("losses",)),
        rules=["overfit", RuleConfig("CPUBottleneck", actions=[StopTraining(), Notify()])],
        profiler_config=ProfilerConfig(system_monitor_interval_millis=1000),
        session=session,
    )
    params = est.spec.to_parameters()
    assert params["debugger_hook_config"]["save_interval"] == 3
    assert params["rules"] == [
        {"name": "Overfit", "parameters": {}, "actions": []},
        {
            "name": "CPUBottleneck",
            "parameters": {},
            "actions": [{"type": "stop_training"}, {"type": "notify"}],
        },
    ]
    assert params["profiler_config"]["system_monitor_interval_millis"] == 1000
    plan = est.spec.debug_plan()
    assert plan.hook is not None and plan.hook["collections"] == ["losses"]
    quiet = Estimator(
        entry_point="train_mlp.py", source_dir=SCRIPTS, disable_profiler=True, session=session
    )
    assert quiet.spec.profiler_config == {
        "system_monitor_interval_millis": 500,
        "framework_profile": True,
        "disable_profiler": True,
    }
    assert not quiet.spec.debug_plan().enabled
    assert (
        "profiler_config"
        not in Estimator(
            entry_point="train_mlp.py", source_dir=SCRIPTS, session=session
        ).spec.to_parameters()
    )
