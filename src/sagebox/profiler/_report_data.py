"""What the profiler report shows: the job record, its rule evaluations and its debug events.

Everything here is plain data and arithmetic (no plotting), so the figures in the report can
be tested on their own. The debug directory is the job's local ``<job workdir>/debug`` while
that exists (the job ran on this machine), else a copy of the lake prefix
``jobs/<job>/debug-output/``.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from sagebox.debugger.events import debug_output_prefix

if TYPE_CHECKING:
    from sagebox.backends.metadata.base import JobRecord, RuleEvaluationRecord
    from sagebox.session import Session

__all__ = [
    "PHASES",
    "ReportData",
    "RuleRow",
    "debug_dir_of",
    "job_duration",
    "lake_debug_prefix",
    "load_report_data",
    "phase_breakdown",
    "rule_evaluations",
    "rule_rows",
    "step_durations",
    "step_outlier_threshold",
    "throughput",
]

#: framework phases of a training step, in the order a step runs them
PHASES = ("data", "forward", "backward", "optimizer")


@dataclass
class RuleRow:
    """One rule of the job as the report and ``sagebox debug rules`` list it."""

    name: str
    kind: str
    status: str
    step: int | None = None
    message: str = ""
    recommendation: str = ""
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    actions: list[Any] = field(default_factory=list)
    updated_at: datetime | None = None


@dataclass
class ReportData:
    """The job, its rules and its debug events.

    ``system`` holds every host's samples; ``framework`` (step and phase intervals) and
    ``scalars`` (``(name, mode)`` → ``[(step, value)]``) the first host's, as the rules read
    them.
    """

    job: JobRecord
    rules: list[RuleRow]
    debug_dir: Path | None
    system: list[dict[str, Any]] = field(default_factory=list)
    framework: list[dict[str, Any]] = field(default_factory=list)
    scalars: dict[tuple[str, str], list[tuple[int, float]]] = field(default_factory=dict)

    @property
    def hosts(self) -> list[str]:
        """Hosts that wrote any system or framework event, sorted (``algo-1`` first)."""
        return sorted({str(e["host"]) for e in self.system + self.framework if "host" in e})

    @property
    def start_time(self) -> float | None:
        """Unix time of the first event: the zero of every time axis."""
        times = [e["time"] for e in self.system if _finite(e.get("time"))]
        times += [e["start"] for e in self.framework if _finite(e.get("start"))]
        if not times and self.job.started_at is not None:
            return self.job.started_at.timestamp()
        return min(times) if times else None


def lake_debug_prefix(job_name: str) -> str:
    """The lake prefix a job's debug output is synced to."""
    return debug_output_prefix(job_name)


def debug_dir_of(session: Session, job: JobRecord, scratch: Path) -> Path | None:
    """The job's debug directory: local if it is on this machine, else copied from the lake
    (the job's ``debug_output``, by default ``jobs/<job>/debug-output/``).

    Returns None if the job wrote no debug data at all.
    """
    local = session.settings.jobs_dir / job.name / "work" / "debug"
    if local.is_dir():
        return local
    output = job.outputs.get("debug_output")
    prefix = session.key_for(output) if output else lake_debug_prefix(job.name)
    prefix = prefix.rstrip("/") + "/"
    objects = session.storage.list(prefix)
    if not objects:
        return None
    for info in objects:
        relative = info.key[len(prefix) :] if info.key.startswith(prefix) else info.key
        session.storage.download(info.key, scratch / relative)
    return scratch


def rule_evaluations(session: Session, job_name: str) -> list[RuleEvaluationRecord]:
    """The job's stored rule evaluations, in the order the rules were first recorded."""
    return session.metadata.list_rule_evaluations(job_name)


def rule_rows(job: JobRecord, evaluations: list[RuleEvaluationRecord]) -> list[RuleRow]:
    """One row per rule: its stored evaluation, or "NotEvaluated" for a configured rule
    that has none yet, with the rule's recommendation and description."""
    from sagebox.debugger.rule import get_rule
    from sagebox.errors import InputDataError

    rows: list[RuleRow] = []
    seen: set[str] = set()
    for ev in evaluations:
        name = str(ev.rule_name)
        seen.add(name)
        rows.append(
            RuleRow(
                name=name,
                kind=ev.kind or "",
                status=str(getattr(ev.status, "value", ev.status)),
                step=ev.step,
                message=ev.message or "",
                parameters=dict(ev.parameters or {}),
                evidence=dict(ev.evidence or {}),
                actions=list(ev.actions or []),
                updated_at=ev.updated_at,
            )
        )
    for configured in job.parameters.get("rules") or []:
        name = str(configured.get("name", "")) if isinstance(configured, dict) else str(configured)
        if name and name not in seen:
            seen.add(name)
            spec = configured if isinstance(configured, dict) else {}
            rows.append(
                RuleRow(
                    name=name,
                    kind="",
                    status="NotEvaluated",
                    parameters=dict(spec.get("parameters") or {}),
                    actions=list(spec.get("actions") or []),
                )
            )
    for row in rows:
        try:
            cls = get_rule(row.name)
        except InputDataError:
            continue
        row.kind = row.kind or cls.kind
        row.recommendation = cls.recommendation
        row.description = cls.description
    order = {"IssuesFound": 0, "Error": 1, "InProgress": 2, "NoIssuesFound": 3}
    rows.sort(key=lambda r: (order.get(r.status, 4), r.kind != "debugger", r.name))
    return rows


def load_report_data(session: Session, job_name: str, scratch: Path) -> ReportData:
    """Read everything the report needs.

    Raises:
        NotFoundError: no such job.
    """
    job = session.metadata.get_job(job_name)
    rules = rule_rows(job, rule_evaluations(session, job_name))
    debug_dir = debug_dir_of(session, job, scratch)
    data = ReportData(job=job, rules=rules, debug_dir=debug_dir)
    if debug_dir is not None:
        from sagebox.debugger.data import DebugData
        from sagebox.profiler.data import ProfileData

        profile = ProfileData(debug_dir)
        profile.refresh()
        data.system = profile.system()
        for phase in ("step", *PHASES):
            data.framework.extend(profile.phases(phase))
        debug = DebugData(debug_dir)
        debug.refresh()
        for mode in ("train", "eval"):
            for name, series in debug.scalar_series(".*", mode).items():
                data.scalars[(name, mode)] = series
    return data


def step_durations(framework: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """``(step, seconds)`` of every ``step`` interval, sorted by step."""
    out = []
    for event in framework:
        seconds = _interval(event)
        if event.get("phase") == "step" and seconds is not None:
            out.append((int(event.get("step") or 0), seconds))
    return sorted(out)


def step_outlier_threshold(durations: list[float], stddev: float) -> float | None:
    """Seconds above which a step is an outlier: mean + ``stddev`` standard deviations
    (StepOutlier's definition). None with fewer than 3 steps."""
    if len(durations) < 3:
        return None
    return statistics.fmean(durations) + stddev * statistics.pstdev(durations)


def phase_breakdown(framework: list[dict[str, Any]]) -> dict[str, float]:
    """Total seconds per phase of the training loop: data, forward, backward, optimizer and
    ``other`` (the rest of the step: logging, hooks, metric updates...).

    Waiting for data may be timed inside or before the ``step`` interval; either way it is
    counted once.
    """
    totals: dict[str, float] = defaultdict(float)
    for event in framework:
        seconds = _interval(event)
        if seconds is not None:
            totals[str(event.get("phase"))] += seconds
    step = totals.get("step", 0.0)
    if step <= 0:
        return {}
    parts = {phase: totals.get(phase, 0.0) for phase in PHASES}
    inside = sum(parts.values()) <= step * 1.02
    loop = step if inside else step + parts["data"]
    parts["other"] = max(0.0, loop - sum(parts.values()))
    return parts


def throughput(framework: list[dict[str, Any]]) -> float | None:
    """Training samples per second of the first host (None without batch sizes)."""
    steps = [e for e in framework if e.get("phase") == "step" and _interval(e) is not None]
    if not steps:
        return None
    host = min(str(e.get("host", "")) for e in steps)
    mine = [e for e in steps if e.get("host", "") == host]
    samples = sum(int(e.get("batch_size") or 0) for e in mine)
    if samples == 0:
        return None
    data = [e for e in framework if e.get("phase") == "data" and e.get("host", "") == host]
    span = max(e["end"] for e in mine + data) - min(e["start"] for e in mine + data)
    return samples / span if span > 0 else None


def job_duration(job: JobRecord) -> float | None:
    """Seconds from start to end (to now while the job runs)."""
    if job.started_at is None:
        return None
    end = job.ended_at or datetime.now(UTC)
    start = job.started_at
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    return max(0.0, (end - start).total_seconds())


def _interval(event: dict[str, Any]) -> float | None:
    start, end = event.get("start"), event.get("end")
    if not (_finite(start) and _finite(end)):
        return None
    seconds = float(end) - float(start)
    return seconds if seconds >= 0 else None


def _finite(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and math.isfinite(value)
