"""The tuning report of a tuning job: one self-contained HTML page.

It shows the job summary (status, strategy, objective, trial counters), the objective of each
trial with the best so far (stopped trials marked), a parallel-coordinates plot of the tuned
hyperparameters coloured by the objective, each trial's learning curve (the objective metric
per epoch or step, as the trial emitted it), the best trial (or the Pareto front of a
multi-objective job) and the table of trials. Plotly's JavaScript is embedded, so the page
opens offline. The report can be written while the job runs (it shows the trials so far).

Example:
    >>> from sagebox.tuning.report import write_tuning_report
    >>> write_tuning_report(session, "reviews-tuning", "tuning.html")  # doctest: +SKIP
    PosixPath('tuning.html')
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagebox._html_reports import chart_div, render_report, write_report_file
from sagebox._html_reports import duration_text as _duration
from sagebox._html_reports import time_text as _when
from sagebox.tuning import _report_charts as charts
from sagebox.tuning._report_charts import OUTCOME_STYLE, ReportTrial
from sagebox.tuning.analytics import describe_tuning_job, get_tuning_job, trial_rows
from sagebox.tuning.spec import TuningSpec

if TYPE_CHECKING:
    from sagebox.session import Session

__all__ = ["write_tuning_report"]

STATUS_CSS = {
    "Completed": "good",
    "InProgress": "info",
    "Pending": "muted",
    "Stopping": "warn",
    "Stopped": "warn",
    "Failed": "bad",
}


def write_tuning_report(session: Session, name: str, path: str | Path) -> Path:
    """Write the HTML report of tuning job ``name`` to ``path`` (replaced atomically).

    Args:
        session: whose metadata store (and study storage) to read.
        name: the tuning job.
        path: the HTML file to write; its folder is created.

    Returns:
        The path written.

    Raises:
        NotFoundError: if there is no such job.
        InputDataError: if ``name`` is not a tuning job.
    """
    from sagebox.jobs.client import JobClient

    JobClient(session).describe(name)  # notices a lost runner first
    get_tuning_job(session, name)
    description = describe_tuning_job(session, name)
    html = _render_report(session, name, description)
    out = Path(path)
    write_report_file(out, html)
    return out


def _outcome(row: dict[str, Any]) -> str:
    state, status = row["TrialState"], row["TrainingJobStatus"]
    if state == "PRUNED" or status == "Stopped":
        return "stopped"
    if state == "COMPLETE":
        return "infeasible" if row.get("Feasible") is False else "completed"
    if state == "FAIL" or status == "Failed":
        return "failed"
    return "running"


def _report_trials(
    session: Session, spec: TuningSpec, rows: list[dict[str, Any]]
) -> list[ReportTrial]:
    metric = spec.objective.metric_name
    trials = []
    for number, row in enumerate(rows, start=1):
        job = row["TrainingJobName"]
        curve = [] if job is None else _curve(session, job, metric)
        objective = row["FinalObjectiveValue"]
        outcome = _outcome(row)
        if objective is None and outcome == "stopped" and curve:
            objective = curve[-1][1]
        values = {
            o.metric_name: float(row[o.metric_name])
            for o in spec.all_objectives
            if spec.multi_objective and row.get(o.metric_name) is not None
        }
        trials.append(
            ReportTrial(
                number=number,
                job=job,
                outcome=outcome,
                objective=None if objective is None else float(objective),
                values=values,
                hyperparameters={n: row.get(n) for n in spec.ranges},
                curve=curve,
            )
        )
    return trials


def _curve(session: Session, job: str, metric: str) -> list[tuple[float, float]]:
    """The trial's objective points: those with a step (epoch) when it reported any, else
    every point numbered in order (a final value logged without a step is left out of a
    per-epoch curve, as it repeats the last epoch's)."""
    points = [p for p in session.metadata.list_metric_points(job, metric) if math.isfinite(p.value)]
    stepped = [(float(p.step), float(p.value)) for p in points if p.step is not None]
    if stepped:
        return sorted(stepped)
    return [(float(i), float(p.value)) for i, p in enumerate(points, start=1)]


def _render_report(session: Session, name: str, description: dict[str, Any]) -> str:
    job = session.metadata.get_job(name)
    spec = TuningSpec.from_parameters(job.parameters)
    rows = trial_rows(session, name)
    trials = _report_trials(session, spec, rows)
    objective = spec.objective
    figures: dict[str, dict[str, str] | None] = {
        "objective": _chart(
            "objective",
            charts.objective_over_trials(trials, objective, not spec.multi_objective),
        ),
        "parallel": _chart("parallel", charts.parallel_coordinates(trials, spec)),
        "curves": _chart("curves", charts.learning_curves(trials, objective.metric_name)),
        "pareto": None,
    }
    front = list(description.get("ParetoFrontTrainingJobs") or [])
    if spec.multi_objective:
        names = {str(t.get("TrainingJobName")) for t in front}
        figures["pareto"] = _chart(
            "pareto", charts.pareto_scatter(trials, spec.all_objectives, names)
        )
    single_points = bool(trials) and all(len(t.curve) <= 1 for t in trials)
    return _render(
        "tuning_report.html.j2",
        title=f"Tuning report: {name}",
        job=job,
        spec=spec,
        cards=_cards(job, spec, description, trials),
        headline=_headline(job, spec, description, trials),
        facts=_facts(job, spec, description),
        best=_best(session, spec, description),
        front=_front_rows(spec, front),
        trials=_trial_table(spec, rows, trials),
        ranges=list(spec.ranges),
        objectives=[o.metric_name for o in spec.all_objectives],
        charts=figures,
        single_points=single_points,
        status_css=STATUS_CSS,
        outcome_style=OUTCOME_STYLE,
    )


def _cards(
    job: Any, spec: TuningSpec, description: dict[str, Any], trials: list[ReportTrial]
) -> list[tuple[str, str]]:
    counters = description["TrainingJobStatusCounters"]
    best = description.get("BestTrainingJob")
    cards = [
        ("status", job.status.value),
        ("strategy", spec.strategy),
        ("trials", f"{len(trials)} of {spec.trial_count()}"),
        ("completed", str(counters["Completed"])),
        ("stopped early", str(counters["Stopped"])),
        ("failed", str(counters["NonRetryableError"])),
    ]
    if best is not None:
        value = best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        cards.append(("best objective", _number(value)))
    elif spec.multi_objective:
        cards.append(("Pareto front", f"{len(description.get('ParetoFrontTrainingJobs', []))}"))
    cards.append(("duration", _duration(_seconds(job.started_at, job.ended_at))))
    return cards


def _headline(
    job: Any, spec: TuningSpec, description: dict[str, Any], trials: list[ReportTrial]
) -> str:
    what = spec.training.get("algorithm") or spec.training.get("entry_point") or "a script"
    objectives = " and ".join(f"{o.type.lower()} {o.metric_name}" for o in spec.all_objectives)
    verb = "searched" if job.status.is_terminal else "is searching"
    text = (
        f"The {spec.strategy} search {verb} {len(spec.ranges)} hyperparameter(s) of {what} "
        f"to {objectives} over {len(trials)} of {spec.trial_count()} trial(s) "
        f"({spec.max_parallel_jobs} at a time) and is {job.status.value}."
    )
    best = description.get("BestTrainingJob")
    if best is not None:
        value = best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        tuned = ", ".join(f"{k}={_text(v)}" for k, v in best["TunedHyperParameters"].items())
        text += (
            f" The best trial is {best['TrainingJobName']} with "
            f"{spec.objective.metric_name}={_number(value)} ({tuned})."
        )
    elif spec.multi_objective and description.get("ParetoFrontTrainingJobs"):
        text += f" {len(description['ParetoFrontTrainingJobs'])} trial(s) form the Pareto front."
    stopped = sum(1 for t in trials if t.outcome == "stopped")
    if stopped:
        text += f" {stopped} trial(s) were stopped early."
    if job.failure_reason:
        text += f" Reason: {job.failure_reason}"
    return text


def _facts(job: Any, spec: TuningSpec, description: dict[str, Any]) -> list[tuple[str, str]]:
    training = spec.training
    facts = [("tuning job", job.name)]
    if training.get("algorithm"):
        facts.append(("algorithm", str(training["algorithm"])))
    if training.get("entry_point"):
        facts.append(("script", str(training["entry_point"])))
    objectives = ", ".join(f"{o.metric_name} ({o.type})" for o in spec.all_objectives)
    facts.append(("objective" if not spec.multi_objective else "objectives", objectives))
    facts.append(("ranges", _ranges_text(spec)))
    if spec.static_hyperparameters:
        facts.append(("static hyperparameters", _pairs(spec.static_hyperparameters)))
    facts.append(("max jobs / parallel", f"{spec.trial_count()} / {spec.max_parallel_jobs}"))
    facts.append(("early stopping", spec.early_stopping_type))
    if spec.strategy == "Hyperband":
        low, high = spec.resource_bounds()
        facts.append(("Hyperband resource", f"{spec.resource_name()} from {low} to {high}"))
    if spec.random_seed is not None:
        facts.append(("random seed", str(spec.random_seed)))
    if spec.max_runtime_in_seconds:
        facts.append(("max runtime", _duration(spec.max_runtime_in_seconds)))
    if spec.constraints:
        facts.append(("constraints", ", ".join(spec.constraints)))
    if spec.warm_start:
        parents = ", ".join(spec.warm_start.get("parents", []))
        facts.append(("warm start", f"{spec.warm_start.get('type')} from {parents}"))
    if job.inputs:
        facts.append(("inputs", _pairs(job.inputs)))
    facts.append(("created", _when(job.created_at)))
    facts.append(("ended", _when(job.ended_at) if job.ended_at else "still running"))
    overall = description.get("OverallBestTrainingJob")
    if overall:
        facts.append(("overall best (with parents)", str(overall.get("TrainingJobName"))))
    if job.failure_reason:
        facts.append(("failure reason", str(job.failure_reason)))
    return facts


def _ranges_text(spec: TuningSpec) -> str:
    parts = []
    for name, rng in spec.ranges.items():
        entry = rng.to_dict(name)
        if "Values" in entry:
            parts.append(f"{name} in {{{', '.join(entry['Values'])}}}")
        else:
            parts.append(
                f"{name} in [{entry['MinValue']}, {entry['MaxValue']}] {entry['ScalingType']}"
            )
    return "; ".join(parts)


def _best(session: Session, spec: TuningSpec, description: dict[str, Any]) -> dict[str, Any]:
    best = description.get("BestTrainingJob")
    if best is None:
        return {}
    name = str(best["TrainingJobName"])
    record = session.metadata.get_job(name)
    return {
        "job": name,
        "metric": spec.objective.metric_name,
        "value": _number(best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]),
        "tuned": {k: _text(v) for k, v in best["TunedHyperParameters"].items()},
        "hyperparameters": {
            k: v
            for k, v in (record.parameters.get("hyperparameters") or {}).items()
            if k not in spec.ranges
        },
        "metrics": {k: _number(v) for k, v in sorted(record.metrics.items())},
        "model": record.outputs.get("model"),
    }


def _front_rows(spec: TuningSpec, front: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for item in front:
        values = item.get("FinalObjectiveValues") or {}
        rows.append(
            {
                "job": item.get("TrainingJobName"),
                "values": [_number(values.get(o.metric_name)) for o in spec.all_objectives],
                "tuned": {k: _text(v) for k, v in (item.get("TunedHyperParameters") or {}).items()},
            }
        )
    return rows


def _trial_table(
    spec: TuningSpec, rows: list[dict[str, Any]], trials: list[ReportTrial]
) -> list[dict[str, Any]]:
    table = []
    for row, trial in zip(rows, trials, strict=True):
        note = row.get("StopReason") or ""
        if row.get("Feasible") is False:
            note = (note + " " if note else "") + "breaks a constraint"
        table.append(
            {
                "number": trial.number,
                "job": trial.job or "(not started)",
                "status": row["TrainingJobStatus"],
                "outcome": trial.outcome,
                "objective": _number(trial.objective),
                "values": [_number(row.get(o.metric_name)) for o in spec.all_objectives],
                "hyperparameters": [_value(row.get(n)) for n in spec.ranges],
                "elapsed": _duration(row.get("TrainingElapsedTimeSeconds")),
                "note": note,
            }
        )
    return table


def _chart(name: str, fig: Any) -> dict[str, str] | None:
    return chart_div(name, fig)


def _render(template: str, **context: Any) -> str:
    return render_report("sagebox.tuning", template, **context)


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, int | float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def _value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else ("—" if value is None else str(value))


def _text(value: Any) -> str:
    """A hyperparameter value as text: floats (also SageMaker's strings) to 6 digits."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    text = str(value)
    if isinstance(value, float) or "." in text or "e" in text.lower():
        return f"{number:.6g}"
    return text


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None:
        return None
    end = end or datetime.now(UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    return (end - start).total_seconds()


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())
