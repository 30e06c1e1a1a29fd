"""Hyperparameter ranges with SageMaker's names, and how each one is searched.

:class:`ContinuousParameter`, :class:`IntegerParameter` and :class:`CategoricalParameter` are
the three range kinds of SageMaker's ``ParameterRanges``; ``scaling_type`` is one of
``Auto``, ``Linear``, ``Logarithmic`` and ``ReverseLogarithmic`` with SageMaker's rules:

- ``Logarithmic`` needs ``min_value > 0``;
- ``ReverseLogarithmic`` (continuous only) needs ``0 <= min_value < max_value < 1``: values
  close to 1 are searched as finely as a log scale searches values close to 0;
- ``Auto`` is ``Logarithmic`` when ``min_value > 0`` and the range spans at least two orders of
  magnitude (``max_value / min_value >= 100``), ``Linear`` otherwise.

Each range becomes an Optuna distribution (:meth:`distribution`); a reverse-log value ``v`` is
searched as ``1 - v`` on a log scale, and :meth:`value` maps it back.

:func:`parse_range` reads the CLI's ``-R name=spec`` syntax: ``1e-5:5e-5[:log|linear|revlog]``
(continuous), ``16..256[:log]`` (integer) and ``128,256`` (categorical).

Example:
    >>> ContinuousParameter(1e-5, 5e-5, "Logarithmic").to_dict("lr")["ScalingType"]
    'Logarithmic'
    >>> parse_range("batch_size=128,256")
    ('batch_size', CategoricalParameter(values=['128', '256']))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sagebox.errors import InputDataError

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

__all__ = [
    "SCALING_TYPES",
    "CategoricalParameter",
    "ContinuousParameter",
    "IntegerParameter",
    "ParameterRange",
    "parse_range",
    "parse_ranges",
    "ranges_from_dict",
    "ranges_to_dict",
]

SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
_SCALING_ALIASES = {
    "auto": "Auto",
    "linear": "Linear",
    "lin": "Linear",
    "log": "Logarithmic",
    "logarithmic": "Logarithmic",
    "revlog": "ReverseLogarithmic",
    "reverselogarithmic": "ReverseLogarithmic",
}


def _scaling(value: str) -> str:
    scaling = _SCALING_ALIASES.get(str(value).lower())
    if scaling is None:
        raise InputDataError(
            f"unknown scaling_type {value!r}", hint=f"use one of {', '.join(SCALING_TYPES)}"
        )
    return scaling


def _number(value: Any, what: str, integer: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or (integer and number != int(number)):
        kind = "an integer" if integer else "a finite number"
        raise InputDataError(f"{what} must be {kind}, got {value!r}", hint="fix the range")
    return number


class ParameterRange:
    """A hyperparameter's range: how it is validated, searched and written down."""

    kind: str = ""

    def check(self, name: str) -> None:
        """Raise :class:`InputDataError` if the range is not valid for ``name``."""
        raise NotImplementedError

    def distribution(self) -> BaseDistribution:
        """The Optuna distribution the range is searched on."""
        raise NotImplementedError

    def value(self, searched: Any) -> Any:
        """The hyperparameter value for a value drawn from :meth:`distribution`."""
        return searched

    def searched(self, value: Any) -> Any:
        """The inverse of :meth:`value` (to seed a study with a known trial)."""
        return value

    def bounds(self) -> list[Any]:
        """The extreme values the range can give (checked against an algorithm's rules)."""
        raise NotImplementedError

    def to_dict(self, name: str) -> dict[str, Any]:
        """SageMaker's ``ParameterRanges`` entry for this range."""
        raise NotImplementedError


def _resolved_scaling(scaling: str, low: float, high: float) -> str:
    if scaling != "Auto":
        return scaling
    return "Logarithmic" if low > 0 and high / low >= 100 else "Linear"


def _check_bounds(
    rng: ContinuousParameter | IntegerParameter, name: str, integer: bool
) -> tuple[float, float]:
    """Check a numeric range's bounds (numbers, min < max, log above 0); return them."""
    low = _number(rng.min_value, f"{name}: min_value", integer)
    high = _number(rng.max_value, f"{name}: max_value", integer)
    if low >= high:
        raise InputDataError(
            f"{name}: min_value {low:g} must be below max_value {high:g}",
            hint="swap the bounds, or use a CategoricalParameter for a single value",
        )
    if rng.scaling_type == "Logarithmic" and low <= 0:
        raise InputDataError(
            f"{name}: a Logarithmic range needs min_value > 0, got {low:g}",
            hint="raise min_value above 0 or use Linear scaling",
        )
    return low, high


@dataclass
class ContinuousParameter(ParameterRange):
    """A real-valued hyperparameter in ``[min_value, max_value]``.

    Example:
        >>> ContinuousParameter(0.01, 10, "Auto").resolved_scaling
        'Logarithmic'
    """

    min_value: float
    max_value: float
    scaling_type: str = "Auto"
    kind = "Continuous"

    def __post_init__(self) -> None:
        self.scaling_type = _scaling(self.scaling_type)

    @property
    def resolved_scaling(self) -> str:
        """``Linear``, ``Logarithmic`` or ``ReverseLogarithmic`` (``Auto`` resolved)."""
        return _resolved_scaling(self.scaling_type, float(self.min_value), float(self.max_value))

    def check(self, name: str) -> None:
        low, high = _check_bounds(self, name, integer=False)
        if self.scaling_type == "ReverseLogarithmic" and not (low >= 0 and high < 1):
            raise InputDataError(
                f"{name}: a ReverseLogarithmic range must lie in [0, 1), got [{low:g}, {high:g}]",
                hint="use it for values close to 1 such as momentum; else Logarithmic",
            )

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import FloatDistribution

        low, high = float(self.min_value), float(self.max_value)
        scaling = self.resolved_scaling
        if scaling == "ReverseLogarithmic":
            return FloatDistribution(1.0 - high, 1.0 - low, log=True)
        return FloatDistribution(low, high, log=scaling == "Logarithmic")

    def value(self, searched: Any) -> float:
        if self.resolved_scaling == "ReverseLogarithmic":
            return 1.0 - float(searched)
        return float(searched)

    def searched(self, value: Any) -> float:
        return self.value(value)  # 1 - (1 - v) = v: the map is its own inverse

    def bounds(self) -> list[Any]:
        return [float(self.min_value), float(self.max_value)]

    def to_dict(self, name: str) -> dict[str, Any]:
        return {
            "Name": name,
            "MinValue": f"{float(self.min_value):g}",
            "MaxValue": f"{float(self.max_value):g}",
            "ScalingType": self.scaling_type,
        }


@dataclass
class IntegerParameter(ParameterRange):
    """An integer hyperparameter in ``[min_value, max_value]`` (both included).

    Example:
        >>> IntegerParameter(16, 256, "Logarithmic").distribution()
        IntDistribution(high=256, log=True, low=16, step=1)
    """

    min_value: int
    max_value: int
    scaling_type: str = "Auto"
    kind = "Integer"

    def __post_init__(self) -> None:
        self.scaling_type = _scaling(self.scaling_type)

    @property
    def resolved_scaling(self) -> str:
        """``Linear`` or ``Logarithmic`` (``Auto`` resolved)."""
        return _resolved_scaling(self.scaling_type, float(self.min_value), float(self.max_value))

    def check(self, name: str) -> None:
        _check_bounds(self, name, integer=True)
        if self.scaling_type == "ReverseLogarithmic":
            raise InputDataError(
                f"{name}: ReverseLogarithmic scaling is for continuous ranges only",
                hint="use Linear or Logarithmic for an IntegerParameter",
            )

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import IntDistribution

        return IntDistribution(
            int(self.min_value), int(self.max_value), log=self.resolved_scaling == "Logarithmic"
        )

    def value(self, searched: Any) -> int:
        return int(searched)

    def bounds(self) -> list[Any]:
        return [int(self.min_value), int(self.max_value)]

    def to_dict(self, name: str) -> dict[str, Any]:
        return {
            "Name": name,
            "MinValue": str(int(self.min_value)),
            "MaxValue": str(int(self.max_value)),
            "ScalingType": self.scaling_type,
        }


@dataclass
class CategoricalParameter(ParameterRange):
    """A hyperparameter that takes one of ``values`` (kept as strings, as SageMaker does).

    Example:
        >>> CategoricalParameter([128, 256]).values
        ['128', '256']
    """

    values: list[Any] = field(default_factory=list)
    kind = "Categorical"

    def __post_init__(self) -> None:
        if isinstance(self.values, str | bytes) or not hasattr(self.values, "__iter__"):
            self.values = [self.values]
        self.values = [_categorical_text(v) for v in self.values]

    def check(self, name: str) -> None:
        if not self.values:
            raise InputDataError(f"{name}: a CategoricalParameter needs values", hint="give 1+")
        if len(set(self.values)) != len(self.values):
            raise InputDataError(
                f"{name}: repeated categorical values {self.values}", hint="list each value once"
            )

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution(list(self.values))

    def bounds(self) -> list[Any]:
        return list(self.values)

    def to_dict(self, name: str) -> dict[str, Any]:
        return {"Name": name, "Values": list(self.values)}


def _categorical_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ranges_to_dict(ranges: dict[str, ParameterRange]) -> dict[str, list[dict[str, Any]]]:
    """SageMaker's ``ParameterRanges`` object for ``ranges``."""
    out: dict[str, list[dict[str, Any]]] = {
        "ContinuousParameterRanges": [],
        "IntegerParameterRanges": [],
        "CategoricalParameterRanges": [],
    }
    for name, rng in ranges.items():
        out[f"{rng.kind}ParameterRanges"].append(rng.to_dict(name))
    return out


def ranges_from_dict(data: dict[str, list[dict[str, Any]]]) -> dict[str, ParameterRange]:
    """The ranges of a SageMaker ``ParameterRanges`` object (inverse of :func:`ranges_to_dict`).

    Raises:
        InputDataError: on an unknown key or a malformed entry.
    """
    ranges: dict[str, ParameterRange] = {}
    for key, entries in (data or {}).items():
        for entry in entries or []:
            try:
                name = entry["Name"]
                if key == "ContinuousParameterRanges":
                    ranges[name] = ContinuousParameter(
                        float(entry["MinValue"]),
                        float(entry["MaxValue"]),
                        entry.get("ScalingType", "Auto"),
                    )
                elif key == "IntegerParameterRanges":
                    ranges[name] = IntegerParameter(
                        int(float(entry["MinValue"])),
                        int(float(entry["MaxValue"])),
                        entry.get("ScalingType", "Auto"),
                    )
                elif key == "CategoricalParameterRanges":
                    ranges[name] = CategoricalParameter(list(entry["Values"]))
                else:
                    raise InputDataError(
                        f"unknown parameter range kind {key!r}",
                        hint="use ContinuousParameterRanges, IntegerParameterRanges or "
                        "CategoricalParameterRanges",
                    )
            except (KeyError, TypeError, ValueError) as exc:
                raise InputDataError(
                    f"malformed {key} entry {entry!r}: {exc}",
                    hint="give Name with MinValue/MaxValue or Values",
                ) from exc
    return ranges


def parse_range(text: str) -> tuple[str, ParameterRange]:
    """One ``-R`` option: ``name=low:high[:scaling]``, ``name=low..high[:scaling]`` or ``name=a,b``.

    ``low:high`` is continuous, ``low..high`` integer and a comma list categorical (a single
    value without ``:`` or ``..`` is a one-value categorical).

    Raises:
        InputDataError: naming the option and the syntax.
    """
    hint = "write -R learning_rate=1e-5:5e-5:log, -R epochs=1..10 or -R batch_size=128,256"
    name, sep, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not sep or not name or not spec:
        raise InputDataError(f"bad range {text!r}: expected NAME=SPEC", hint=hint)
    try:
        if ".." in spec:
            bounds, _, scaling = spec.partition(":")
            low, _, high = bounds.partition("..")
            rng: ParameterRange = IntegerParameter(
                int(low), int(high), _scaling(scaling) if scaling else "Auto"
            )
        elif ":" in spec:
            parts = spec.split(":")
            if len(parts) not in (2, 3):
                raise ValueError("expected low:high[:scaling]")
            scaling = _scaling(parts[2]) if len(parts) == 3 else "Auto"
            rng = ContinuousParameter(float(parts[0]), float(parts[1]), scaling)
        else:
            rng = CategoricalParameter([v.strip() for v in spec.split(",") if v.strip()])
    except ValueError as exc:
        raise InputDataError(f"bad range {text!r}: {exc}", hint=hint) from exc
    rng.check(name)
    return name, rng


def parse_ranges(texts: list[str]) -> dict[str, ParameterRange]:
    """Several ``-R`` options; a name given twice is an error."""
    ranges: dict[str, ParameterRange] = {}
    for text in texts:
        name, rng = parse_range(text)
        if name in ranges:
            raise InputDataError(f"range {name!r} given twice", hint="give each name once")
        ranges[name] = rng
    return ranges
