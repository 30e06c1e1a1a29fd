"""Metric definitions (name + regex over the log stream) and their live capture.

Like SageMaker's ``metric_definitions``: every log line of a training job is matched against
each definition's regex, and the first group, read as a number, becomes a point of the job's
metric time series (step = how many values of that metric came before, plus one). Built-in
algorithms print ``metric NAME=VALUE step=N`` lines, which are captured without definitions.

Example:
    >>> defs = parse_metric_definitions([{"Name": "val:acc", "Regex": "val_acc: ([0-9.]+)"}])
    >>> points = []
    >>> capture = MetricCapture(defs, sink=points.extend)
    >>> capture.feed("[1/2] train_loss: 0.61 val_acc: 0.72")
    >>> points[0].name, points[0].value, points[0].step
    ('val:acc', 0.72, 1)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sagebox.backends.metadata.base import MetricPoint
from sagebox.errors import InputDataError

__all__ = ["MetricCapture", "MetricDefinition", "parse_metric_definitions"]

BUILTIN_LINE = re.compile(
    r"^metric (?P<name>[\w:./@-]+)=(?P<value>\S+)(?: step=(?P<step>\d+))?\s*$"
)
_HINT = 'give a list like [{"Name": "validation:accuracy", "Regex": "val_acc: ([0-9.]+)"}]'


@dataclass(frozen=True)
class MetricDefinition:
    """A metric captured from the log: its name and a regex whose first group is the value."""

    name: str
    regex: str

    @property
    def pattern(self) -> re.Pattern[str]:
        """The compiled regex."""
        return re.compile(self.regex)

    def as_dict(self) -> dict[str, str]:
        """SageMaker's form: ``{"Name": ..., "Regex": ...}``."""
        return {"Name": self.name, "Regex": self.regex}


def parse_metric_definitions(
    definitions: Iterable[Mapping[str, str] | str | MetricDefinition] | None,
) -> list[MetricDefinition]:
    """Validate metric definitions given as SageMaker dicts, ``NAME=REGEX`` strings or objects.

    Raises:
        InputDataError: if a definition lacks a name or regex, the regex does not compile, or
            it has no capture group.
    """
    out: list[MetricDefinition] = []
    for item in definitions or []:
        if isinstance(item, MetricDefinition):
            definition = item
        elif isinstance(item, str):
            name, sep, regex = item.partition("=")
            if not sep:
                raise InputDataError(
                    f"metric definition {item!r} is not NAME=REGEX",
                    hint="e.g. --metric 'validation:accuracy=val_acc: ([0-9.]+)'",
                )
            definition = MetricDefinition(name.strip(), regex)
        elif isinstance(item, Mapping):
            given_name = item.get("Name") or item.get("name")
            given_regex = item.get("Regex") or item.get("regex")
            if not given_name or not given_regex:
                raise InputDataError(
                    f"metric definition {dict(item)!r} needs a Name and a Regex", hint=_HINT
                )
            definition = MetricDefinition(str(given_name), str(given_regex))
        else:
            raise InputDataError(f"cannot read a metric definition from {item!r}", hint=_HINT)
        try:
            groups = definition.pattern.groups
        except re.error as exc:
            raise InputDataError(
                f"the regex of metric {definition.name!r} does not compile: {exc}",
                hint="fix the regular expression (Python syntax)",
            ) from exc
        if groups < 1:
            raise InputDataError(
                f"the regex {definition.regex!r} of metric {definition.name!r} has no group",
                hint="put the value in parentheses, e.g. 'val_acc: ([0-9.]+)'",
            )
        out.append(definition)
    return out


class MetricCapture:
    """Turns log lines into metric points, handed to ``sink`` as they are found.

    Args:
        definitions: the regex definitions.
        sink: receives each line's points (e.g. ``metadata.add_metric_points``).
        builtin_lines: also capture ``metric NAME=VALUE step=N`` lines.
    """

    def __init__(
        self,
        definitions: list[MetricDefinition],
        sink: Callable[[list[MetricPoint]], object],
        builtin_lines: bool = False,
    ) -> None:
        self._compiled = [(d.name, d.pattern) for d in definitions]
        self._sink = sink
        self._builtin = builtin_lines
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def feed(self, line: str) -> None:
        """Match one log line (safe to call from several threads)."""
        points = []
        with self._lock:
            for name, pattern in self._compiled:
                match = pattern.search(line)
                value = _number(match.group(1)) if match else None
                if value is not None:
                    self._counts[name] = self._counts.get(name, 0) + 1
                    points.append(MetricPoint(name, value, self._counts[name]))
            if self._builtin:
                match = BUILTIN_LINE.match(line.strip())
                value = _number(match.group("value")) if match else None
                if match and value is not None:
                    step = match.group("step")
                    points.append(
                        MetricPoint(match.group("name"), value, int(step) if step else None)
                    )
            if points:
                self._sink(points)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None
