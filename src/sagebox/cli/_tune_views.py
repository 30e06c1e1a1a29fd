"""How ``sagebox tune`` shows a tuning job: following it live (a rich table on a terminal, a
line per trial change otherwise), the trials table, the summary and the outcome."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import typer

from sagebox.cli._output import console

if TYPE_CHECKING:
    from rich.console import RenderableType

    from sagebox.backends.metadata.base import JobRecord
    from sagebox.session import Session
    from sagebox.tuning import HyperparameterTuner

__all__ = [
    "best_so_far",
    "follow",
    "format_pairs",
    "format_value",
    "live_view",
    "print_outcome",
    "print_summary",
    "trials_table",
]

#: seconds between refreshes of the live trials table
REFRESH_SECONDS = 1.0
_STATUS_STYLES = {
    "Completed": "green",
    "Failed": "red",
    "Stopped": "yellow",
    "Stopping": "yellow",
    "InProgress": "cyan",
    "Pending": "dim",
}


# -- following a tuning job ---------------------------------------------------------------------


def follow(session: Session, name: str, quiet: bool = False) -> JobRecord:
    """Follow tuning job ``name`` until it ends; return its final record.

    On a terminal: a live table of the trials, refreshed every second. Otherwise one line
    per trial state change (on stderr when ``quiet``, so that stdout keeps only the JSON).
    Ctrl-C stops following; the tuning job keeps running.
    """
    from sagebox.jobs import JobClient

    jobs = JobClient(session)
    stream = sys.stderr if quiet else sys.stdout
    try:
        if console.is_terminal and not quiet:
            return _follow_live(session, jobs, name)
        return _follow_lines(session, jobs, name, stream)
    except KeyboardInterrupt:
        console.print(
            f"stopped following; {name} keeps running (sagebox tune stop {name} stops it)",
            highlight=False,
        )
        raise typer.Exit(130) from None


def _follow_live(session: Session, jobs: Any, name: str) -> JobRecord:
    from rich.live import Live

    job = jobs.describe(name)
    with Live(live_view(session, job), console=console, auto_refresh=False) as live:
        while not job.status.is_terminal:
            time.sleep(REFRESH_SECONDS)
            job = jobs.describe(name)
            live.update(live_view(session, job), refresh=True)
    return job


def live_view(session: Session, job: JobRecord) -> RenderableType:
    """The live view of a tuning job: a header (status, trials, best so far) and the trials."""
    from rich.console import Group
    from rich.text import Text

    from sagebox.tuning import TuningSpec, trial_rows

    spec = TuningSpec.from_parameters(job.parameters)
    rows = trial_rows(session, job.name)
    header = Text.assemble(
        ("tuning job ", ""),
        (job.name, "bold"),
        f" ({spec.strategy}, {spec.objective.type} {spec.objective.metric_name}) · ",
        (job.status.value, f"bold {_STATUS_STYLES.get(job.status.value, '')}"),
        f" · {len(rows)}/{spec.trial_count()} trials",
    )
    best = best_so_far(spec, rows)
    if best is not None:
        header.append(f" · best {format_value(best[1])} ({best[0]})")
    parts: list[Any] = [header, trials_table(spec, rows)]
    if job.failure_reason:
        parts.append(Text(f"reason: {job.failure_reason}", style="yellow"))
    if not job.status.is_terminal:
        parts.append(Text("following until the job ends; Ctrl-C stops following", style="dim"))
    return Group(*parts)


def _follow_lines(session: Session, jobs: Any, name: str, stream: Any) -> JobRecord:
    from sagebox.tuning import TuningSpec, trial_rows

    seen: dict[str, str] = {}
    while True:
        job = jobs.describe(name)
        spec = TuningSpec.from_parameters(job.parameters)
        for number, row in enumerate(trial_rows(session, name), start=1):
            trial = row["TrainingJobName"] or f"trial {number}"
            line = _trial_line(spec, number, row)
            if seen.get(trial) == line:
                continue
            seen[trial] = line
            stream.write(f"{line}\n")
            stream.flush()
        if job.status.is_terminal:
            return job
        time.sleep(REFRESH_SECONDS)


def _trial_line(spec: Any, number: int, row: dict[str, Any]) -> str:
    status = row["TrainingJobStatus"]
    text = f"trial {number}/{spec.trial_count()} {row['TrainingJobName'] or ''} {status}"
    if status in ("Pending", "InProgress"):
        text += " " + " ".join(f"{n}={format_value(row.get(n))}" for n in spec.ranges)
    elif row["FinalObjectiveValue"] is not None:
        text += f" {spec.objective.metric_name}={format_value(row['FinalObjectiveValue'])}"
    if row.get("StopReason"):
        text += f" ({row['StopReason']})"
    return text


def trials_table(spec: Any, rows: list[dict[str, Any]]) -> Any:
    """The trials as a Rich table (the live view and ``sagebox tune trials``)."""
    from rich.table import Table

    objectives = [o.metric_name for o in spec.all_objectives]
    table = Table(title="trials")
    table.add_column("#", justify="right")
    table.add_column("training job", overflow="fold")
    table.add_column("status")
    for metric in objectives if spec.multi_objective else objectives[:1]:
        table.add_column(metric, justify="right")
    for name in spec.ranges:
        table.add_column(name, justify="right")
    table.add_column("time", justify="right")
    table.add_column("note")
    best = best_so_far(spec, rows)
    for number, row in enumerate(rows, start=1):
        status = row["TrainingJobStatus"]
        if row["TrialState"] == "PRUNED":
            status = "Stopped"
        values = (
            [format_value(row.get(m)) for m in objectives]
            if spec.multi_objective
            else [format_value(row["FinalObjectiveValue"])]
        )
        elapsed = row.get("TrainingElapsedTimeSeconds")
        note = row.get("StopReason") or ""
        if row.get("Feasible") is False:
            note = (note + "; " if note else "") + "breaks a constraint"
        if best is not None and row["TrainingJobName"] == best[0]:
            note = (note + "; " if note else "") + "best"
        table.add_row(
            str(number),
            row["TrainingJobName"] or "",
            f"[{_STATUS_STYLES.get(status, '')}]{status}[/]",
            *values,
            *(format_value(row.get(n)) for n in spec.ranges),
            "" if elapsed is None else f"{elapsed:.0f} s",
            note,
        )
    if not rows:
        table.add_row("", "(no trial yet)", "", *[""] * (len(table.columns) - 3))
    return table


def best_so_far(spec: Any, rows: list[dict[str, Any]]) -> tuple[str, float] | None:
    if spec.multi_objective:
        return None
    objective = spec.objective
    best: tuple[str, float] | None = None
    for row in rows:
        value = row["FinalObjectiveValue"]
        if row["TrialState"] != "COMPLETE" or value is None or row.get("Feasible") is False:
            continue
        if best is None or objective.better(float(value), best[1]):
            best = (str(row["TrainingJobName"]), float(value))
    return best


# -- printing -----------------------------------------------------------------------------------


def print_outcome(tuner: HyperparameterTuner, job: JobRecord) -> None:
    reason = f" ({job.failure_reason})" if job.failure_reason else ""
    console.print(f"\n[bold]{job.name}[/bold]: {job.status.value}{reason}", highlight=False)
    description = tuner.describe()
    best = description.get("BestTrainingJob")
    if best is not None:
        objective = best["FinalHyperParameterTuningJobObjectiveMetric"]
        console.print(
            f"best training job: {best['TrainingJobName']} "
            f"({objective['MetricName']}={format_value(objective['Value'])}; "
            f"{format_pairs(best['TunedHyperParameters'])})",
            highlight=False,
        )
    front = description.get("ParetoFrontTrainingJobs")
    if front:
        names = ", ".join(str(t["TrainingJobName"]) for t in front)
        console.print(f"Pareto front ({len(front)}): {names}", highlight=False)


def print_summary(description: dict[str, Any]) -> None:
    config = description["HyperParameterTuningJobConfig"]
    limits = config["ResourceLimits"]
    objective = config["HyperParameterTuningJobObjective"]
    counters = description["TrainingJobStatusCounters"]
    facts: list[tuple[str, Any]] = [
        ("name", description["HyperParameterTuningJobName"]),
        ("status", description["HyperParameterTuningJobStatus"]),
        ("strategy", config["Strategy"]),
        ("objective", f"{objective['Type']} {objective['MetricName']}"),
        (
            "trials",
            f"{limits['MaxNumberOfTrainingJobs']} at most, "
            f"{limits['MaxParallelTrainingJobs']} at once",
        ),
        ("early stopping", config["TrainingJobEarlyStoppingType"]),
        (
            "training jobs",
            ", ".join(f"{v} {k}" for k, v in counters.items() if v) or "none yet",
        ),
        (
            "algorithm",
            description["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"],
        ),
        ("created", description["CreationTime"]),
        ("ended", description.get("HyperParameterTuningEndTime") or ""),
    ]
    if config.get("Objectives"):
        facts.append(
            (
                "objectives",
                ", ".join(f"{o['Type']} {o['MetricName']}" for o in config["Objectives"]),
            )
        )
    if config.get("Constraints"):
        facts.append(("constraints", ", ".join(config["Constraints"])))
    if description.get("WarmStartConfig"):
        warm = description["WarmStartConfig"]
        parents = ", ".join(
            p["HyperParameterTuningJobName"] for p in warm["ParentHyperParameterTuningJobs"]
        )
        facts.append(("warm start", f"{warm['WarmStartType']} from {parents}"))
    best = description.get("BestTrainingJob")
    if best is not None:
        value = best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        facts.append(
            (
                "best training job",
                f"{best['TrainingJobName']} ({objective['MetricName']}={format_value(value)}; "
                f"{format_pairs(best['TunedHyperParameters'])})",
            )
        )
    if description.get("ParetoFrontTrainingJobs"):
        front = description["ParetoFrontTrainingJobs"]
        facts.append(("Pareto front", ", ".join(str(t["TrainingJobName"]) for t in front)))
    if description.get("OverallBestTrainingJob"):
        facts.append(
            ("overall best", str(description["OverallBestTrainingJob"].get("TrainingJobName")))
        )
    if description.get("FailureReason"):
        facts.append(("failure reason", description["FailureReason"]))
    for key, value in facts:
        console.print(f"[bold]{key}[/bold]: {value}", highlight=False)


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return f"{number:.4g}" if "." in value or "e" in value.lower() else value
    return str(value)


def format_pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in values.items())
