"""What profiler rules read: system samples and framework phase timings, kept in memory.

:class:`ProfileData` tails the ``system`` and ``framework`` event files of a debug directory
(see :mod:`sagebox.debugger.events`); each :meth:`ProfileData.refresh` reads only what was
appended since the last one, so refreshing every second during a long run stays cheap.

System samples come from every host (each keeps its ``host`` key); framework timings (steps
and their phases) from the first host by name, whose steps stand for the job's.

Example:
    >>> data = ProfileData(job_dir / "debug")
    >>> data.refresh()
    >>> data.has_gpu, data.cores, data.step_durations()[:2]
    (False, 2, [(1, 0.31), (2, 0.12)])
"""

from __future__ import annotations

import bisect
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from sagebox.debugger.events import EventReader

__all__ = ["ProfileData", "interval_seconds"]


class ProfileData:
    """The profiler events of one job, read incrementally from ``debug_dir``.

    Attributes:
        ended: set to True by the evaluator once the job has finished, before the rules'
            last evaluation.
    """

    def __init__(self, debug_dir: Path | str) -> None:
        self.debug_dir = Path(debug_dir)
        self.ended = False
        self.has_gpu = False
        self.cores = 0
        self._system_reader = EventReader(self.debug_dir, "system")
        self._framework_reader = EventReader(self.debug_dir, "framework")
        self._system: list[dict[str, Any]] = []
        # host -> phase -> [interval event], sorted by step
        self._framework: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(list)
        )

    def refresh(self) -> None:
        """Read the events appended since the last call (all of them on the first call)."""
        for sample in self._system_reader.read_new():
            if not isinstance(sample.get("time"), int | float):
                continue
            if sample.get("gpu"):
                self.has_gpu = True
            self.cores = max(self.cores, len(sample.get("cpu") or []))
            if not self._system or self._system[-1]["time"] <= sample["time"]:
                self._system.append(sample)
            else:
                bisect.insort(self._system, sample, key=lambda s: s["time"])
        for event in self._framework_reader.read_new():
            if interval_seconds(event) is None:
                continue
            try:
                event["step"] = int(event.get("step", 0))
            except (TypeError, ValueError):
                continue
            series = self._framework[event["host"]][str(event.get("phase"))]
            if not series or series[-1]["step"] <= event["step"]:
                series.append(event)
            else:
                bisect.insort(series, event, key=lambda e: e["step"])

    @property
    def host(self) -> str | None:
        """The host whose framework timings are read (first by name), if any."""
        return min(self._framework) if self._framework else None

    def system(self) -> list[dict[str, Any]]:
        """Every system sample of every host, sorted by time (each with its ``host``)."""
        return list(self._system)

    def phases(self, phase: str) -> list[dict[str, Any]]:
        """The ``phase`` intervals (``step``, ``data``, ``forward``, ``backward``,
        ``optimizer``) of the first host, sorted by step."""
        host = self.host
        return list(self._framework[host].get(phase, [])) if host is not None else []

    def step_durations(self, mode: str | None = None) -> list[tuple[int, float]]:
        """``(step, seconds)`` of every training step of the first host, sorted by step;
        only steps saved in ``mode`` if given and the events carry a mode."""
        out = []
        for event in self.phases("step"):
            if mode is not None and str(event.get("mode", mode)).lower() != mode.lower():
                continue
            out.append((event["step"], interval_seconds(event) or 0.0))
        return out

    def step_phases(self) -> dict[int, dict[str, float]]:
        """Seconds per phase of each step of the first host: ``{step: {phase: seconds}}``,
        plus ``span``, the wall-clock time from the first phase's start to the last's end
        (waiting for data may be timed inside or before the ``step`` interval)."""
        host = self.host
        if host is None:
            return {}
        out: dict[int, dict[str, float]] = defaultdict(dict)
        bounds: dict[int, list[float]] = {}
        for phase, events in self._framework[host].items():
            for event in events:
                seconds = interval_seconds(event) or 0.0
                parts = out[event["step"]]
                parts[phase] = parts.get(phase, 0.0) + seconds
                start, end = float(event["start"]), float(event["end"])
                low_high = bounds.setdefault(event["step"], [start, end])
                low_high[0] = min(low_high[0], start)
                low_high[1] = max(low_high[1], end)
        for step, (start, end) in bounds.items():
            out[step]["span"] = max(end - start, 0.0)
        return dict(out)

    def now(self) -> float:
        """The current Unix time (a method, so tests can replace it)."""
        return time.time()


def interval_seconds(event: dict[str, Any]) -> float | None:
    """``end - start`` of a framework event in seconds (None if either is missing)."""
    start, end = event.get("start"), event.get("end")
    if not isinstance(start, int | float) or not isinstance(end, int | float):
        return None
    return max(float(end) - float(start), 0.0)
