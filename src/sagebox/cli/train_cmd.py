"""``sagebox train``: start a training job (built-in algorithm or script) and follow it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from sagebox.cli._output import JsonOption, console, print_json, print_table
from sagebox.cli._params import parse_hyperparameters, parse_pairs


def train(
    algorithm: str | None = typer.Option(
        None,
        "--algorithm",
        "-a",
        help="Built-in algorithm (linear-text, blazingtext, xgboost, text-transformer, ensemble).",
    ),
    entry_point: str | None = typer.Option(
        None, "--entry-point", "-e", help="Script-mode training script (SageMaker compatible)."
    ),
    source_dir: Path | None = typer.Option(None, "--source-dir", help="Directory with the script."),
    train_uri: str | None = typer.Option(None, "--train", help="Lake URI of the train channel."),
    validation_uri: str | None = typer.Option(None, "--validation", help="Validation channel."),
    test_uri: str | None = typer.Option(None, "--test", help="Test channel."),
    channel: list[str] = typer.Option([], "--channel", "-c", help="More channels: NAME=URI."),
    hyperparameter: list[str] = typer.Option(
        [], "--hyperparameter", "-H", help="NAME=VALUE (repeatable; VALUE read as JSON if valid)."
    ),
    hyperparameters_json: str | None = typer.Option(
        None, "--hyperparameters", help="All hyperparameters as one JSON object."
    ),
    instance_count: int = typer.Option(1, "--instance-count", min=1, help="Worker processes."),
    instance_type: str = typer.Option("local", "--instance-type", help="local or local:THREADS."),
    max_run: float | None = typer.Option(None, "--max-run", help="Fail after this many seconds."),
    max_retries: int = typer.Option(0, "--max-retries", min=0, help="Restarts after a kill."),
    env: list[str] = typer.Option([], "--env", help="Worker environment NAME=VALUE."),
    metric: list[str] = typer.Option(
        [], "--metric", "-m", help="Metric to capture from the log: NAME=REGEX (first group)."
    ),
    checkpoint_uri: str | None = typer.Option(None, "--checkpoint-uri", help="Lake prefix."),
    output_path: str | None = typer.Option(None, "--output-path", help="Lake prefix for models."),
    rule: list[str] = typer.Option(
        [],
        "--rule",
        "-r",
        help="Debugger/profiler rule to run while training: NAME or NAME:KEY=VALUE,KEY=VALUE "
        "(repeatable), e.g. --rule overfit:patience=2,ratio_threshold=0.2 --rule "
        "CPUBottleneck. Statuses: sagebox debug rules JOB.",
    ),
    rule_action: list[str] = typer.Option(
        [],
        "--rule-action",
        help="What every --rule does when it fires: stop (end the job as Stopped) or notify "
        "(log line, and a POST to --webhook-url). Repeatable.",
    ),
    webhook_url: str | None = typer.Option(
        None, "--webhook-url", help="http(s) URL the notify action POSTs findings to (JSON)."
    ),
    disable_profiler: bool = typer.Option(
        False, "--disable-profiler", help="No system metrics or framework timings."
    ),
    debug_interval: int | None = typer.Option(
        None, "--debug-interval", help="Debugger hook: save scalars every N steps (default 10)."
    ),
    tensor_interval: int | None = typer.Option(
        None,
        "--tensor-interval",
        help="Debugger hook: save weight/gradient summaries every N steps (default 50).",
    ),
    job_name: str | None = typer.Option(None, "--job-name", help="Name of the job."),
    resume: str | None = typer.Option(
        None, "--resume", help="Continue JOB from its checkpoints in a new job (other options off)."
    ),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Follow the job until it ends."),
    logs: bool = typer.Option(True, "--logs/--no-logs", help="Stream the job log while waiting."),
    json_output: bool = JsonOption,
) -> None:
    """Train a model as a job: a built-in algorithm or a SageMaker script-mode script.

    Channels are lake keys or URIs (a file or a prefix). The log is streamed live (to stderr
    with --json); captured metrics and the model URI are summarised at the end. The exit
    status is non-zero unless the job completed.

    Debugger rules: --rule NAME[:KEY=VALUE,...] (SageMaker rule and parameter names) with
    --rule-action stop and/or notify for all of them, e.g. --rule overfit:patience=2
    --rule-action stop. The profiler samples the machine every 500 ms unless
    --disable-profiler.
    """
    from sagebox.jobs import JobClient
    from sagebox.session import Session
    from sagebox.training import Estimator, resume_training_job

    session = Session()
    if resume is not None:
        job = resume_training_job(session, resume)
    else:
        channels = {
            k: v
            for k, v in (("train", train_uri), ("validation", validation_uri), ("test", test_uri))
            if v
        }
        channels.update(parse_pairs(channel, "--channel"))
        estimator = Estimator(
            algorithm=algorithm,
            entry_point=entry_point,
            source_dir=source_dir,
            hyperparameters=parse_hyperparameters(hyperparameter, hyperparameters_json),
            instance_count=instance_count,
            instance_type=instance_type,
            max_run=max_run,
            max_retries=max_retries,
            environment=parse_pairs(env, "--env"),
            metric_definitions=[
                {"Name": k, "Regex": v} for k, v in parse_pairs(metric, "--metric").items()
            ],
            checkpoint_uri=checkpoint_uri,
            output_path=output_path,
            session=session,
            **_debugger_options(
                rule, rule_action, webhook_url, disable_profiler, debug_interval, tensor_interval
            ),
        )
        job = estimator.fit(channels, wait=False, job_name=job_name)
    jobs = JobClient(session)
    if not wait:
        print_json(job) if json_output else console.print(f"started {job.name}")
        return
    stream = sys.stderr if json_output else sys.stdout
    if logs:
        for chunk in jobs.follow(job.name):
            stream.write(chunk)
            stream.flush()
    else:
        with console.status(f"training {job.name}"):
            jobs.wait(job.name)
    job = jobs.wait(job.name)
    if json_output:
        print_json(job)
    else:
        _summary(job)
    if job.status.value != "Completed":
        raise typer.Exit(1)


def _debugger_options(
    rules: list[str],
    actions: list[str],
    webhook_url: str | None,
    disable_profiler: bool,
    debug_interval: int | None,
    tensor_interval: int | None,
) -> dict[str, Any]:
    """The Estimator's debugger arguments from the command-line options."""
    from sagebox.errors import InputDataError

    hook: dict[str, Any] = {}
    for name, value in (("save_interval", debug_interval), ("tensor_interval", tensor_interval)):
        if value is not None:
            hook[name] = value
    known = {"stop": "stop_training", "stop_training": "stop_training", "notify": "notify"}
    kinds = []
    for action in actions:
        if action.lower() not in known:
            raise InputDataError(
                f"--rule-action {action!r} is not stop or notify",
                hint="e.g. --rule overfit --rule-action stop",
            )
        kinds.append(known[action.lower()])
    if webhook_url and "notify" not in kinds:
        kinds.append("notify")
    if kinds and not rules:
        raise InputDataError(
            "--rule-action and --webhook-url need at least one --rule",
            hint="e.g. --rule overfit --rule-action stop",
        )
    acts: list[dict[str, Any]] = [{"type": kind} for kind in dict.fromkeys(kinds)]
    for act in acts:
        if act["type"] == "notify" and webhook_url:
            act["webhook_url"] = webhook_url
    configured = []
    for item in rules:
        name, parameters = _parse_rule(item)
        configured.append({"name": name, "parameters": parameters, "actions": acts})
    return {
        "rules": configured,
        "debugger_hook_config": hook or None,
        "disable_profiler": disable_profiler,
    }


_RULE_SYNTAX = "give --rule NAME or NAME:KEY=VALUE,KEY=VALUE, e.g. --rule overfit:patience=2"


def _parse_rule(item: str) -> tuple[str, dict[str, Any]]:
    """``overfit:patience=2,ratio_threshold=0.1`` → name and parameters (JSON values if valid).

    A comma only separates parameters when a ``KEY=`` follows, so values (regexes) may hold
    commas.
    """
    import json
    import re

    from sagebox.errors import InputDataError

    name, _, rest = item.partition(":")
    name = name.strip()
    if not name:
        raise InputDataError(f"--rule {item!r} has no rule name", hint=_RULE_SYNTAX)
    parameters: dict[str, Any] = {}
    for pair in re.split(r",(?=\s*[A-Za-z_][A-Za-z0-9_]*\s*=)", rest) if rest.strip() else []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InputDataError(f"--rule {item!r}: {pair!r} is not KEY=VALUE", hint=_RULE_SYNTAX)
        try:
            parameters[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            parameters[key.strip()] = raw
    return name, parameters


def _summary(job: Any) -> None:
    reason = f" ({job.failure_reason})" if job.failure_reason else ""
    console.print(f"\n[bold]{job.name}[/bold]: {job.status.value}{reason}")
    if job.restarts:
        console.print(f"restarted {job.restarts} time(s)")
    if job.metrics:
        rows = [{"metric": k, "value": f"{v:.4g}"} for k, v in sorted(job.metrics.items())]
        print_table(rows, ["metric", "value"], title="final metrics")
    if job.outputs.get("model"):
        console.print(f"model: {job.outputs['model']}")
