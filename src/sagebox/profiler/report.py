"""The profiler report of a training job: one self-contained HTML page.

It shows the job summary, every rule's status with its recommendation, system utilisation over
time, a per-core CPU heat map, step durations with outliers, where a step's time goes (data,
forward, backward, optimizer) and the loss curves the debugger hook saved. Plotly's JavaScript
is embedded, so the page opens offline and can be mailed as it is.

Example:
    >>> from sagebox.profiler.report import write_profiler_report
    >>> write_profiler_report("training-20261127-174401-3fa2", "report.html")  # doctest: +SKIP
    PosixPath('report.html')
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagebox._html_reports import chart_div, render_report, write_report_file
from sagebox._html_reports import duration_text as _duration
from sagebox._html_reports import time_text as _when
from sagebox.errors import NotFoundError
from sagebox.profiler import _report_charts as charts
from sagebox.profiler._report_data import (
    ReportData,
    job_duration,
    lake_debug_prefix,
    load_report_data,
    phase_breakdown,
    step_durations,
    step_outlier_threshold,
    throughput,
)

if TYPE_CHECKING:
    from sagebox.session import Session

__all__ = ["write_profiler_report"]

MAX_HEATMAP_HOSTS = 4
STATUS_CSS = {
    "IssuesFound": "bad",
    "Error": "warn",
    "InProgress": "info",
    "NoIssuesFound": "good",
    "NotEvaluated": "muted",
}


def write_profiler_report(
    job_name: str, out_path: str | Path, session: Session | None = None
) -> Path:
    """Write the HTML profiler report of a training job.

    The job's debug data is read from its local work directory while that exists, else from
    the lake (``jobs/<job>/debug-output/``); rule statuses come from the metadata store. The
    report can be written while the job still runs (it shows the data so far).

    Args:
        job_name: the training job.
        out_path: the HTML file to write (replaced atomically).
        session: whose metadata store and lake to read (default: a new one).

    Returns:
        The path written.

    Raises:
        NotFoundError: no such job, or the job saved no debug or profiler data.
    """
    from sagebox.session import Session

    session = session or Session()
    with tempfile.TemporaryDirectory(prefix="sagebox-profiler-") as scratch:
        data = load_report_data(session, job_name, Path(scratch))
        if data.debug_dir is None and not data.rules:
            raise NotFoundError(
                f"job {job_name} has no debug or profiler data",
                hint="train with a debugger hook config, rules or a profiler config "
                "(see docs/debugger.md); data is looked for in the job's work directory and "
                f"in the lake under {lake_debug_prefix(job_name)}",
            )
        html = _render_report(data)
    path = Path(out_path)
    write_report_file(path, html)
    return path


def _render_report(data: ReportData) -> str:
    job = data.job
    t0 = data.start_time
    span = _span(data, t0)
    unit, unit_label = charts.time_unit(span)
    durations = step_durations(data.framework)
    stddev = _step_outlier_stddev()
    threshold = step_outlier_threshold([d for _, d in durations], stddev)
    parts = phase_breakdown(data.framework)
    steps = len(durations) or _last_step(data)
    samples_per_s = throughput(data.framework)
    figures: dict[str, list[dict[str, str]]] = {
        "system": [],
        "heatmap": [],
        "steps": [],
        "scalars": [],
    }
    if t0 is not None:
        fig = charts.system_timeline(data.system, t0, unit, unit_label)
        if fig is not None:
            figures["system"].append(_chart("system", fig))
        for host in data.hosts[:MAX_HEATMAP_HOSTS]:
            mine = [e for e in data.system if e.get("host") == host]
            fig = charts.cpu_heatmap(mine, t0, unit, unit_label, host)
            if fig is not None:
                figures["heatmap"].append(_chart(f"cpu-heatmap-{host}", fig))
    fig = charts.step_chart(durations, threshold, stddev)
    if fig is not None:
        figures["steps"].append(_chart("step-duration", fig))
    fig = charts.phase_chart(parts, len(durations))
    if fig is not None:
        figures["steps"].append(_chart("phases", fig))
    for name, fig in charts.scalar_charts(data.scalars):
        figures["scalars"].append(_chart(f"scalar-{_slug(name)}", fig))
    issues = [r for r in data.rules if r.status == "IssuesFound"]
    duration = job_duration(job)
    cards = [
        ("status", job.status.value),
        ("duration", _duration(duration)),
        ("steps", f"{steps:,}" if steps else "—"),
        ("samples / s", f"{samples_per_s:,.1f}" if samples_per_s else "—"),
        ("instances", str(job.parameters.get("instance_count", 1))),
        ("rules with issues", f"{len(issues)} of {len(data.rules)}" if data.rules else "none set"),
    ]
    return _render(
        "profiler_report.html.j2",
        title=f"Profiler report: {job.name}",
        job=job,
        headline=_headline(data, duration, steps, samples_per_s),
        cards=cards,
        facts=_facts(data),
        rules=data.rules,
        issues=issues,
        status_css=STATUS_CSS,
        system_stats=_system_stats(data),
        step_stats=_step_stats(durations, threshold, stddev),
        phases=_phase_rows(parts, len(durations)),
        charts=figures,
        hosts=data.hosts,
        heatmap_hosts_left=max(0, len(data.hosts) - MAX_HEATMAP_HOSTS),
        has_gpu=any(e.get("gpu") for e in data.system),
        has_debug=data.debug_dir is not None,
        sample_interval=_sample_interval(data),
        stddev=f"{stddev:g}",
    )


def _span(data: ReportData, t0: float | None) -> float:
    if t0 is None:
        return 0.0
    ends = [e["time"] for e in data.system if isinstance(e.get("time"), int | float)]
    ends += [e["end"] for e in data.framework if isinstance(e.get("end"), int | float)]
    return max(ends, default=t0) - t0


def _last_step(data: ReportData) -> int:
    return max((step for series in data.scalars.values() for step, _ in series), default=0)


def _step_outlier_stddev() -> float:
    from sagebox.debugger.rule import get_rule
    from sagebox.errors import InputDataError

    try:
        return float(get_rule("StepOutlier").defaults.get("stddev", 3.0))
    except InputDataError:
        return 3.0


def _headline(
    data: ReportData, duration: float | None, steps: int, samples_per_s: float | None
) -> str:
    job = data.job
    what = job.parameters.get("algorithm") or job.parameters.get("entry_point") or job.kind
    verb = "ran" if job.status.is_terminal else "has been running"
    text = f"The job {verb} {what} for {_duration(duration)}"
    if steps:
        text += f" over {steps:,} training steps"
    if samples_per_s:
        text += f" ({samples_per_s:,.1f} samples per second)"
    text += f" and is {job.status.value}."
    if job.failure_reason:
        text += f" Reason: {job.failure_reason}."
    issues = [r for r in data.rules if r.status == "IssuesFound"]
    if not data.rules:
        text += " No rules were configured."
    elif issues:
        names = ", ".join(
            f"{r.name}" + (f" (step {r.step})" if r.step is not None else "") for r in issues
        )
        text += f" {len(issues)} of {len(data.rules)} rules found issues: {names}."
    else:
        text += f" None of the {len(data.rules)} rules found an issue."
    return text


def _facts(data: ReportData) -> list[tuple[str, str]]:
    job = data.job
    params = job.parameters
    facts = [("job", job.name)]
    if params.get("algorithm"):
        facts.append(("algorithm", str(params["algorithm"])))
    if params.get("entry_point"):
        facts.append(("script", str(params["entry_point"])))
    facts.append(
        ("instances", f"{params.get('instance_count', 1)} × {params.get('instance_type', 'local')}")
    )
    facts.append(("created", _when(job.created_at)))
    facts.append(("started", _when(job.started_at)))
    facts.append(("ended", _when(job.ended_at) if job.ended_at else "still running"))
    if params.get("hyperparameters"):
        facts.append(("hyperparameters", _pairs(params["hyperparameters"])))
    if job.metrics:
        facts.append(
            ("final metrics", _pairs({k: f"{v:.4g}" for k, v in sorted(job.metrics.items())}))
        )
    if params.get("debugger_hook_config"):
        facts.append(("debugger hook", _pairs(params["debugger_hook_config"])))
    if params.get("profiler_config"):
        facts.append(("profiler", _pairs(params["profiler_config"])))
    if data.hosts:
        facts.append(("hosts", ", ".join(data.hosts)))
    return facts


def _system_stats(data: ReportData) -> list[dict[str, str]]:
    rows = []
    for host in data.hosts:
        events = [e for e in data.system if e.get("host") == host]
        if not events:
            continue
        interval = statistics.median([float(e.get("interval") or 0.0) for e in events] or [0.0])
        row = {
            "host": host,
            "samples": f"{len(events):,}",
            "cores": str(max((len(e.get("cpu") or []) for e in events), default=0)),
            "cpu": _mean_p95(events, "cpu_total", "%"),
            "memory": _mean_p95(events, "memory_percent", "%"),
            "disk": _total_mb(events, ("disk_read_mb_s", "disk_write_mb_s"), interval),
            "network": _total_mb(events, ("net_recv_mb_s", "net_sent_mb_s"), interval),
            "gpu": _gpu_stats(events),
        }
        rows.append(row)
    return rows


def _sample_interval(data: ReportData) -> str:
    intervals = [float(e["interval"]) for e in data.system if _positive(e.get("interval"))]
    if not intervals:
        return ""
    seconds = statistics.median(intervals)
    return f"{seconds * 1000:.0f} ms" if seconds < 2 else f"{seconds:.1f} s"


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


def _values(events: list[dict[str, Any]], key: str) -> list[float]:
    return [float(e[key]) for e in events if isinstance(e.get(key), int | float)]


def _mean_p95(events: list[dict[str, Any]], key: str, suffix: str) -> str:
    values = sorted(_values(events, key))
    if not values:
        return "—"
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    return f"{statistics.fmean(values):.0f}{suffix} / {p95:.0f}{suffix}"


def _total_mb(events: list[dict[str, Any]], keys: tuple[str, str], interval: float) -> str:
    totals = [sum(_values(events, k)) * interval for k in keys]
    if not any(_values(events, k) for k in keys):
        return "—"
    return f"{totals[0]:,.1f} / {totals[1]:,.1f} MB"


def _gpu_stats(events: list[dict[str, Any]]) -> str:
    utils = [
        float(g["util"])
        for e in events
        for g in e.get("gpu") or []
        if isinstance(g.get("util"), int | float)
    ]
    return f"{statistics.fmean(utils):.0f}%" if utils else "—"


def _step_stats(
    durations: list[tuple[int, float]], threshold: float | None, stddev: float
) -> dict[str, str] | None:
    if not durations:
        return None
    values = sorted(d for _, d in durations)
    outliers = sum(1 for v in values if threshold is not None and v > threshold)
    return {
        "steps": f"{len(values):,}",
        "mean": f"{statistics.fmean(values) * 1000:,.1f} ms",
        "median": f"{statistics.median(values) * 1000:,.1f} ms",
        "p95": f"{values[min(len(values) - 1, int(0.95 * len(values)))] * 1000:,.1f} ms",
        "max": f"{values[-1] * 1000:,.1f} ms",
        "outliers": f"{outliers:,}",
        "threshold": f"{threshold * 1000:,.1f} ms (mean + {stddev:g}σ)" if threshold else "—",
    }


def _phase_rows(parts: dict[str, float], steps: int) -> list[dict[str, str]]:
    total = sum(parts.values())
    if total <= 0:
        return []
    return [
        {
            "phase": phase,
            "total": f"{seconds:,.2f} s",
            "per_step": f"{seconds / max(1, steps) * 1000:,.1f} ms",
            "share": f"{seconds / total:.0%}",
        }
        for phase, seconds in parts.items()
    ]


def _chart(name: str, fig: Any) -> dict[str, str]:
    div = chart_div(name, fig)
    assert div is not None
    return div


def _render(template: str, **context: Any) -> str:
    return render_report("sagebox.profiler", template, **context)


def _pairs(values: Any) -> str:
    if isinstance(values, dict):
        return ", ".join(f"{k}={v}" for k, v in values.items())
    return str(values)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-").lower() or "scalar"
