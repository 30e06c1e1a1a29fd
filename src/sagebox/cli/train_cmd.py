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
