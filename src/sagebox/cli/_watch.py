"""The live view of ``sagebox jobs watch``: a job's status, latest metrics and rule statuses."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sagebox.debugger.events import EventReader

if TYPE_CHECKING:
    from rich.console import RenderableType

    from sagebox.backends.metadata.base import JobRecord
    from sagebox.session import Session

__all__ = ["JobWatch"]

_STATUS_STYLES = {
    "Completed": "bold green",
    "Failed": "bold red",
    "Stopped": "bold yellow",
    "Stopping": "yellow",
    "InProgress": "bold cyan",
    "Pending": "dim",
}


class JobWatch:
    """Builds snapshots of one job; debugger scalars are tailed from its local debug directory.

    Example:
        >>> watch = JobWatch("training-20261127-174401-3fa2")  # doctest: +SKIP
        >>> job, view = watch.snapshot()  # doctest: +SKIP
    """

    def __init__(self, name: str, session: Session | None = None) -> None:
        from sagebox.jobs import JobClient

        self.name = name
        self.client = JobClient(session)
        self.session = self.client.session
        from sagebox.names import check_resource_name

        debug_dir = (
            self.session.settings.jobs_dir / check_resource_name("job", name) / "work" / "debug"
        )
        self._scalars = EventReader(debug_dir, "scalars")
        self._latest: dict[tuple[str, str], tuple[int, float]] = {}
        self._host: str | None = None

    def snapshot(self) -> tuple[JobRecord, RenderableType]:
        """The job's current record and a Rich renderable of it.

        Raises:
            NotFoundError: no such job.
        """
        from rich.console import Group
        from rich.text import Text

        from sagebox.cli.debug_cmd import rules_table
        from sagebox.profiler import job_duration, rule_evaluations, rule_rows

        job = self.client.describe(self.name)
        self._read_scalars()
        what = job.parameters.get("algorithm") or job.parameters.get("entry_point") or ""
        header = Text.assemble(
            ("job ", ""),
            (job.name, "bold"),
            f" ({job.kind}{', ' + str(what) if what else ''}) · ",
            (job.status.value, _STATUS_STYLES.get(job.status.value, "")),
            f" · {_elapsed(job_duration(job))}",
        )
        if self._latest:
            header.append(f" · step {max(s for s, _ in self._latest.values()):,}")
        parts: list[Any] = [header]
        if job.failure_reason:
            parts.append(Text(f"reason: {job.failure_reason}", style="yellow"))
        parts.append(self._metrics_table(job))
        rows = rule_rows(job, rule_evaluations(self.session, self.name))
        if rows:
            parts.append(rules_table(rows, title="rules"))
        else:
            parts.append(Text("no rules configured", style="dim"))
        if not job.status.is_terminal:
            parts.append(Text("watching until the job ends; Ctrl-C stops watching", style="dim"))
        return job, Group(*parts)

    def _read_scalars(self) -> None:
        for event in self._scalars.read_new():
            host = str(event.get("host", ""))
            if self._host is None or host < self._host:
                self._host = host
            value, step = event.get("value"), event.get("step")
            if host != self._host or not isinstance(step, int):
                continue
            if not isinstance(value, int | float):
                continue
            key = (str(event.get("name")), str(event.get("mode", "train")))
            if key not in self._latest or step >= self._latest[key][0]:
                self._latest[key] = (step, float(value))

    def _metrics_table(self, job: JobRecord) -> Any:
        from rich.table import Table

        table = Table(title="latest metrics")
        for column in ("metric", "value", "step", "source"):
            table.add_column(column, justify="right" if column in ("value", "step") else "left")
        for name, value in sorted(job.metrics.items()):
            table.add_row(name, _number(value), "", "log")
        for (name, mode), (step, value) in sorted(self._latest.items()):
            table.add_row(f"{name} ({mode})", _number(value), f"{step:,}", "debugger")
        if not table.rows:
            table.add_row("(none yet)", "", "", "")
        return table


def _number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.6g}"


def _elapsed(seconds: float | None) -> str:
    if seconds is None:
        return "not started"
    seconds = int(seconds)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
