"""What debugger rules read: a job's scalars, tensor summaries and sampled batches, kept in memory.

:class:`DebugData` tails the event files of a debug directory (see
:mod:`sagebox.debugger.events`): each :meth:`DebugData.refresh` reads only the lines appended
since the last one and appends them to per-series lists, so refreshing every second during a
long run stays cheap. Rules then query the series.

Scalars, tensors and batches come from the first host (hosts sorted by name, ``algo-1``
before ``algo-2``), like SageMaker rules, which inspect one worker's tensors.

Example:
    >>> data = DebugData(job_dir / "debug")
    >>> data.refresh()
    >>> data.scalars("loss", mode="train")[-1]
    (120, 0.41)
"""

from __future__ import annotations

import bisect
import json
import math
import re
import time
from collections import defaultdict
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sagebox.debugger.events import EventReader

__all__ = ["DebugData", "as_float", "parse_mode"]

_DEBUG_STREAMS = ("scalars", "tensors", "batches")


class DebugData:
    """The debugger events of one job, read incrementally from ``debug_dir``.

    Attributes:
        ended: set to True by the evaluator once the job has finished, before the rules'
            last evaluation (``Rule.finish``).
    """

    def __init__(self, debug_dir: Path | str) -> None:
        self.debug_dir = Path(debug_dir)
        self.ended = False
        self._created = time.time()
        self._started: float | None = None
        self._readers = {stream: EventReader(self.debug_dir, stream) for stream in _DEBUG_STREAMS}
        # host -> (mode, name) -> [(step, value)]
        self._scalars: dict[str, dict[tuple[str, str], list[tuple[int, float]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        # host -> kind -> name -> [summary]
        self._tensors: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list))
        )
        # host -> mode -> [batch]
        self._batches: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self._last_step: int | None = None
        self._last_time: float | None = None

    # -- reading ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the events appended since the last call (all of them on the first call)."""
        if self._started is None:
            self._started = _read_started(self.debug_dir / "meta.json")
        for event in self._readers["scalars"].read_new():
            step = self._note(event)
            if step is None or "name" not in event:
                continue
            series = self._scalars[event["host"]][(parse_mode(event.get("mode")), event["name"])]
            _insert(series, (step, as_float(event.get("value"))))
        for event in self._readers["tensors"].read_new():
            step = self._note(event)
            if step is None or "name" not in event:
                continue
            event["step"] = step
            kind = str(event.get("kind", "weight"))
            _insert_event(self._tensors[event["host"]][kind][event["name"]], event)
        for event in self._readers["batches"].read_new():
            step = self._note(event)
            if step is None:
                continue
            event["step"] = step
            _insert_event(self._batches[event["host"]][parse_mode(event.get("mode"))], event)

    def _note(self, event: dict[str, Any]) -> int | None:
        try:
            step = int(event["step"])
        except (KeyError, TypeError, ValueError):
            return None
        if self._last_step is None or step > self._last_step:
            self._last_step = step
        stamp = event.get("time")
        if isinstance(stamp, int | float) and (self._last_time is None or stamp > self._last_time):
            self._last_time = float(stamp)
        return step

    # -- queries ---------------------------------------------------------------------------

    @property
    def host(self) -> str | None:
        """The host whose scalars, tensors and batches are read (first by name), if any."""
        hosts = set(self._scalars) | set(self._tensors) | set(self._batches)
        return min(hosts) if hosts else None

    def scalars(self, name_regex: str, mode: str | None = "train") -> list[tuple[int, float]]:
        """``(step, value)`` of every scalar whose name matches ``name_regex`` (whole name),
        sorted by step; ``mode`` ``train``, ``eval`` or None / ``global`` (any mode)."""
        points: list[tuple[int, float]] = []
        for series in self.scalar_series(name_regex, mode).values():
            points.extend(series)
        points.sort(key=lambda point: point[0])
        return points

    def scalar_series(
        self, name_regex: str, mode: str | None = "train"
    ) -> dict[str, list[tuple[int, float]]]:
        """Like :meth:`scalars`, one sorted series per matching scalar name."""
        host = self.host
        if host is None:
            return {}
        wanted = _wanted(mode)
        pattern = _compile(name_regex)
        out: dict[str, list[tuple[int, float]]] = {}
        for (event_mode, name), series in sorted(self._scalars[host].items()):
            if wanted not in (None, event_mode) or not pattern.fullmatch(name):
                continue
            out.setdefault(name, []).extend(series)
        for series in out.values():
            series.sort(key=lambda point: point[0])
        return out

    def scalar_names(self, mode: str | None = None) -> list[str]:
        """Sorted names of the scalars saved in ``mode`` (any mode if None)."""
        host = self.host
        if host is None:
            return []
        wanted = _wanted(mode)
        return sorted({n for (m, n) in self._scalars[host] if wanted in (None, m)})

    def tensors(self, kind: str, name_regex: str = ".*") -> dict[str, list[dict[str, Any]]]:
        """Summaries of tensors of ``kind`` (``weight``, ``gradient``, ``activation``,
        ``activation_input``) whose name matches ``name_regex`` (whole name): per tensor name,
        the summaries sorted by step."""
        host = self.host
        if host is None:
            return {}
        pattern = _compile(name_regex)
        return {
            name: list(summaries)
            for name, summaries in sorted(self._tensors[host].get(kind, {}).items())
            if pattern.fullmatch(name)
        }

    def tensor_kinds(self) -> list[str]:
        """The kinds of tensors saved so far."""
        host = self.host
        return sorted(self._tensors[host]) if host is not None else []

    def batches(self, mode: str | None = "train") -> list[dict[str, Any]]:
        """Sampled ``{"step", "labels", "predictions"}`` batches of ``mode``, sorted by step."""
        host = self.host
        if host is None:
            return []
        wanted = _wanted(mode)
        if wanted is not None:
            return list(self._batches[host][wanted])
        merged = [batch for batches in self._batches[host].values() for batch in batches]
        return sorted(merged, key=lambda batch: batch["step"])

    def last_step(self) -> int | None:
        """The highest step seen in any debugger event (None before the first)."""
        return self._last_step

    def last_event_time(self) -> float | None:
        """Unix time of the newest debugger event (None before the first)."""
        return self._last_time

    @property
    def started(self) -> float:
        """When the job started (``meta.json``), else when this reader was created."""
        return self._started if self._started is not None else self._created

    def now(self) -> float:
        """The current Unix time (a method, so tests can replace it)."""
        return time.time()


def parse_mode(mode: Any) -> str:
    """A mode as stored: ``train`` (also for a missing mode) or ``eval``; SageMaker's
    ``TRAIN``/``EVAL`` and ``validation`` are accepted. Other text is kept, lower-cased."""
    text = str(mode or "train").strip().lower()
    if text in ("eval", "validation", "valid", "val", "test"):
        return "eval"
    if text in ("train", "training"):
        return "train"
    return text


def as_float(value: Any) -> float:
    """A number from an event (NaN for null or text that is not a number)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _wanted(mode: str | None) -> str | None:
    """The stored mode a query asks for; None (any) for None or SageMaker's ``GLOBAL``."""
    if mode is None or str(mode).strip().lower() == "global":
        return None
    return parse_mode(mode)


@lru_cache(maxsize=256)
def _compile(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def _insert(series: list[tuple[int, float]], point: tuple[int, float]) -> None:
    if not series or series[-1][0] <= point[0]:
        series.append(point)
    else:
        bisect.insort(series, point, key=lambda p: p[0])


def _insert_event(series: list[dict[str, Any]], event: dict[str, Any]) -> None:
    if not series or series[-1]["step"] <= event["step"]:
        series.append(event)
    else:
        bisect.insort(series, event, key=lambda e: e["step"])


def _read_started(path: Path) -> float | None:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    started = meta.get("started") if isinstance(meta, dict) else None
    if isinstance(started, int | float):
        return float(started)
    if isinstance(started, str):
        try:
            return datetime.fromisoformat(started).timestamp()
        except ValueError:
            return None
    return None
