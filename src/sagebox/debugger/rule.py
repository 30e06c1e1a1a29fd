"""The interface of debugger and profiler rules, their results and the rule registry.

A rule is configured with SageMaker's parameter names (``Overfit(patience=1,
ratio_threshold=0.1)``), then :meth:`Rule.evaluate` is called again and again while the job
trains, each time with all the data seen so far; it returns a :class:`Finding` once the
condition holds. The evaluator that a training job runs
(:mod:`sagebox.training._rule_evaluator`) turns that into the rule's status, evidence and
actions.

Rules are registered by SageMaker's rule name (``LossNotDecreasing``) and reachable also by its
snake_case spelling (``loss_not_decreasing``), like ``rule_configs.loss_not_decreasing()``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from sagebox.errors import InputDataError

__all__ = ["Finding", "Rule", "RuleStatus", "get_rule", "register_rule", "rule_names"]


class RuleStatus(StrEnum):
    """A rule's evaluation status, as SageMaker names it."""

    IN_PROGRESS = "InProgress"
    NO_ISSUES_FOUND = "NoIssuesFound"
    ISSUES_FOUND = "IssuesFound"
    ERROR = "Error"


@dataclass(frozen=True)
class Finding:
    """A rule's condition held: where (step), what (one line) and the figures behind it."""

    message: str
    step: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


class Rule(ABC):
    """One built-in rule.

    Subclasses set ``name`` (SageMaker's), ``aliases`` (other accepted names), ``kind``
    (``debugger`` or ``profiler``), ``defaults`` (parameter name → default value; the type of
    the default is the parameter's type), ``description`` and ``recommendation``, and
    implement :meth:`evaluate`.
    """

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    kind: ClassVar[str] = "debugger"
    defaults: ClassVar[dict[str, Any]] = {}
    description: ClassVar[str] = ""
    recommendation: ClassVar[str] = ""

    def __init__(self, **parameters: Any) -> None:
        unknown = sorted(set(parameters) - set(self.defaults))
        if unknown:
            raise InputDataError(
                f"rule {self.name} has no parameter {', '.join(unknown)}",
                hint=f"its parameters are: {', '.join(sorted(self.defaults)) or 'none'}",
            )
        self.parameters: dict[str, Any] = {}
        for key, default in self.defaults.items():
            value = parameters.get(key, default)
            self.parameters[key] = _coerce(self.name, key, value, default)

    def __getattr__(self, item: str) -> Any:
        parameters = self.__dict__.get("parameters", {})
        if item in parameters:
            return parameters[item]
        raise AttributeError(item)

    @abstractmethod
    def evaluate(self, data: Any) -> Finding | None:
        """Return a Finding if the rule's condition holds on the data seen so far.

        ``data`` is a :class:`sagebox.debugger.data.DebugData` (debugger rules) or a
        :class:`sagebox.profiler.data.ProfileData` (profiler rules).
        """

    def finish(self, data: Any) -> Finding | None:
        """A last evaluation once the job has ended (default: :meth:`evaluate`)."""
        return self.evaluate(data)


_RULES: dict[str, type[Rule]] = {}


def register_rule(cls: type[Rule]) -> type[Rule]:
    """Class decorator: make a rule reachable by its name and its snake_case name."""
    _RULES[cls.name] = cls
    _RULES[snake_case(cls.name)] = cls
    for alias in cls.aliases:
        _RULES[alias] = cls
    return cls


def get_rule(name: str) -> type[Rule]:
    """The rule class called ``name`` (``Overfit`` or ``overfit``).

    Raises:
        InputDataError: if no rule has this name.
    """
    _load_builtin_rules()
    cls = _RULES.get(name) or _RULES.get(snake_case(name))
    if cls is None:
        raise InputDataError(
            f"unknown rule {name!r}", hint=f"use one of: {', '.join(rule_names())}"
        )
    return cls


def rule_names() -> list[str]:
    """SageMaker names of every built-in rule."""
    _load_builtin_rules()
    return sorted({cls.name for cls in _RULES.values()})


def snake_case(name: str) -> str:
    """``LossNotDecreasing`` → ``loss_not_decreasing`` (unchanged if already so)."""
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", spaced).lower()


def _load_builtin_rules() -> None:
    import importlib

    for module in ("sagebox.debugger.builtin_rules", "sagebox.profiler.rules"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def _coerce(rule: str, key: str, value: Any, default: Any) -> Any:
    if default is None or value is None:
        return value
    kind = type(default)
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(value)
                return value.lower() in ("true", "1")
            return bool(value)
        return kind(value)
    except (TypeError, ValueError):
        raise InputDataError(
            f"rule {rule}: {key}={value!r} is not a {kind.__name__}",
            hint=f"give {key} as a {kind.__name__}, e.g. {default!r}",
        ) from None
