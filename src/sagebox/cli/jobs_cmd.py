"""``sagebox jobs``: list, describe, follow logs of, watch, stop and wait on jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from sagebox.cli._output import JsonOption, console, print_json, print_record, print_table
from sagebox.cli._params import parse_job_status

if TYPE_CHECKING:
    from sagebox.jobs import JobClient

app = typer.Typer(help="Inspect and control jobs.", no_args_is_help=True)

_COLUMNS = ["name", "kind", "status", "created_at", "ended_at", "failure_reason"]


def _client() -> JobClient:
    from sagebox.jobs import JobClient

    return JobClient()


@app.command("list")
def list_jobs(
    kind: str | None = typer.Option(None, help="Only jobs of this kind (training, ...)."),
    status: str | None = typer.Option(None, help="Only jobs in this status (InProgress, ...)."),
    limit: int = typer.Option(50, min=1, help="At most this many jobs."),
    json_output: bool = JsonOption,
) -> None:
    """List jobs, newest first."""

    wanted = parse_job_status(status)
    jobs = _client().list(kind=kind, status=wanted, limit=limit)
    if json_output:
        print_json(jobs)
    else:
        print_table([j.__dict__ for j in jobs], _COLUMNS, title="jobs")


@app.command("describe")
def describe(
    name: str = typer.Argument(..., help="Job name."), json_output: bool = JsonOption
) -> None:
    """Show one job: status, parameters, inputs, outputs, metrics, log location."""
    print_record(_client().describe(name), json_output)


@app.command("logs")
def logs(
    name: str = typer.Argument(..., help="Job name."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing until the job ends."),
) -> None:
    """Print a job's combined stdout/stderr."""
    client = _client()
    if follow:
        for chunk in client.follow(name):
            typer.echo(chunk, nl=False)
    else:
        typer.echo(client.logs(name), nl=False)


@app.command("stop")
def stop(
    name: str = typer.Argument(..., help="Job name."),
    grace: float = typer.Option(10.0, help="Seconds to wait after SIGTERM before SIGKILL."),
    json_output: bool = JsonOption,
) -> None:
    """Stop a running job."""
    job = _client().stop(name, grace_seconds=grace)
    if json_output:
        print_json(job)
    else:
        console.print(f"{job.name}: {job.status.value}")


@app.command("wait")
def wait(
    name: str = typer.Argument(..., help="Job name."),
    timeout: float | None = typer.Option(None, help="Give up after this many seconds."),
    json_output: bool = JsonOption,
) -> None:
    """Wait until a job ends; exit non-zero unless it completed."""
    from sagebox.backends.metadata.base import JobStatus

    with console.status(f"waiting for {name}"):
        job = _client().wait(name, timeout=timeout)
    if json_output:
        print_json(job)
    else:
        reason = f" ({job.failure_reason})" if job.failure_reason else ""
        console.print(f"{job.name}: {job.status.value}{reason}")
    if job.status is not JobStatus.COMPLETED:
        raise typer.Exit(1)


@app.command("metrics")
def metrics(
    name: str = typer.Argument(..., help="Job name."),
    metric: str | None = typer.Option(None, "--name", "-n", help="Only this metric."),
    last: bool = typer.Option(False, "--last", help="Only the last value of each metric."),
    json_output: bool = JsonOption,
) -> None:
    """Show a job's metric time series (captured live from its log)."""
    points = _client().metrics(name, metric)
    if last:
        latest = {p.name: p for p in points}
        points = list(latest.values())
    if json_output:
        print_json(points)
        return
    rows = [
        {"metric": p.name, "step": p.step, "value": f"{p.value:.6g}", "time": p.timestamp}
        for p in points
    ]
    print_table(rows, ["metric", "step", "value", "time"], title=f"metrics of {name}")


@app.command("watch")
def watch(
    name: str = typer.Argument(..., help="Job name."),
    interval: float = typer.Option(2.0, "--interval", min=0.1, help="Seconds between refreshes."),
    once: bool = typer.Option(False, "--once", help="Print one snapshot and exit."),
) -> None:
    """Live view of a job: status, latest metrics and rule statuses, until the job ends.

    Example: ``sagebox jobs watch training-20261127-174401-3fa2``
    """
    import time

    from rich.live import Live

    from sagebox.cli._watch import JobWatch

    view = JobWatch(name)
    job, renderable = view.snapshot()
    if once or job.status.is_terminal:
        console.print(renderable)
        return
    try:
        with Live(renderable, console=console, auto_refresh=False) as live:
            while not job.status.is_terminal:
                time.sleep(interval)
                job, renderable = view.snapshot()
                live.update(renderable, refresh=True)
    except KeyboardInterrupt:
        console.print(f"stopped watching; {name} keeps running", highlight=False)
