"""How a training job is debugged and profiled: rule configs, actions and the profiler config.

These are the job parameters ``rules``, ``debugger_hook_config`` and ``profiler_config`` in
Python form, validated when built. SageMaker writes
``Rule.sagemaker(rule_configs.overfit(), rule_parameters={"patience": 2},
actions=rule_configs.ActionList(rule_configs.StopTraining()))``; sagebox writes::

    >>> from sagebox.debugger import Notify, RuleConfig, StopTraining
    >>> rule = RuleConfig("overfit", {"patience": 2}, actions=[StopTraining()])
    >>> rule.name, rule.to_dict()["actions"]
    ('Overfit', [{'type': 'stop_training'}])
    >>> notify = RuleConfig("loss_not_decreasing", actions=[Notify("http://127.0.0.1:9000/hook")])

As job parameters (what ``Estimator(rules=...)`` stores and ``sagebox train --rule`` builds)::

    {"name": "Overfit", "parameters": {"patience": 2},
     "actions": [{"type": "stop_training"}, {"type": "notify", "webhook_url": "http://..."}]}
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from sagebox.debugger.rule import Rule, get_rule
from sagebox.errors import InputDataError

__all__ = [
    "DEFAULT_HOOK_COLLECTIONS",
    "Action",
    "DebugPlan",
    "Notify",
    "ProfilerConfig",
    "RuleConfig",
    "StopTraining",
    "action_from_dict",
    "parse_rule_configs",
    "plan_debugging",
    "validate_hook_config",
]

#: What the hook saves unless told otherwise (see :class:`sagebox.debugger.hook.HookConfig`).
DEFAULT_HOOK_COLLECTIONS = ("losses", "metrics", "weights", "gradients", "activations", "batches")
#: Built-in algorithms whose trainer calls the hook, so it is on for them by default.
HOOKED_ALGORITHMS = ("text-transformer",)


class Action(ABC):
    """Something done when a rule finds an issue (SageMaker's rule actions)."""

    type: ClassVar[str]

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The action as a job parameter (``{"type": ...}``)."""


@dataclass(frozen=True)
class StopTraining(Action):
    """Stop the training job: it ends as Stopped with the rule as the reason.

    The workers are terminated and the checkpoint directory is synced one last time, so the
    last checkpoint stays in ``checkpoint_uri``.
    """

    type: ClassVar[str] = "stop_training"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type}


@dataclass(frozen=True)
class Notify(Action):
    """Write the finding to the job log and, with ``webhook_url``, POST it as JSON.

    The body is ``{"job", "rule", "status", "step", "message", "evidence"}``.

    Raises:
        InputDataError: if ``webhook_url`` is not an http(s) URL.
    """

    webhook_url: str | None = None
    type: ClassVar[str] = "notify"

    def __post_init__(self) -> None:
        if self.webhook_url is not None:
            _check_url(self.webhook_url)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.webhook_url:
            out["webhook_url"] = self.webhook_url
        return out


_ACTIONS: dict[str, type[Action]] = {"stop_training": StopTraining, "notify": Notify}
_ACTION_ALIASES = {"stop": "stop_training", "stoptraining": "stop_training", "webhook": "notify"}


def action_from_dict(value: dict[str, Any] | Action) -> Action:
    """Read one action from its job-parameter form (an Action is returned as is).

    Raises:
        InputDataError: if the type is unknown or a field is bad.
    """
    if isinstance(value, Action):
        return value
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise InputDataError(
            f"rule action {value!r} is not an object with a 'type'",
            hint=f"give e.g. {{'type': 'stop_training'}}; types: {', '.join(_ACTIONS)}",
        )
    kind = value["type"].lower()
    kind = _ACTION_ALIASES.get(kind, kind)
    cls = _ACTIONS.get(kind)
    if cls is None:
        raise InputDataError(
            f"unknown rule action type {value['type']!r}",
            hint=f"use one of: {', '.join(_ACTIONS)}",
        )
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(value) - fields - {"type", "result"})
    if unknown:
        raise InputDataError(
            f"rule action {kind} has no field {', '.join(unknown)}",
            hint=f"its fields are: {', '.join(sorted(fields)) or 'none besides type'}",
        )
    return cls(**{k: v for k, v in value.items() if k in fields})


class RuleConfig:
    """One rule to run on a training job, with its parameters and actions.

    Args:
        name: the rule's SageMaker name or snake_case name (``Overfit`` or ``overfit``);
            stored as the SageMaker name.
        parameters: the rule's parameters by SageMaker's names (``{"patience": 2}``).
        actions: what to do when the rule fires (:class:`StopTraining`, :class:`Notify`), as
            objects or their dicts.

    Raises:
        InputDataError: on an unknown rule (the message lists the rules), an unknown or bad
            parameter, or a bad action.

    Example:
        >>> RuleConfig("exploding_tensor", actions=[StopTraining()]).name
        'ExplodingTensor'
    """

    def __init__(
        self,
        name: str,
        parameters: dict[str, Any] | None = None,
        actions: Sequence[Action | dict[str, Any]] = (),
    ) -> None:
        if not isinstance(name, str) or not name:
            raise InputDataError(f"rule name {name!r} is not a string", hint=_RULES_HINT)
        parameters = {} if parameters is None else parameters
        if not isinstance(parameters, dict):
            raise InputDataError(
                f"rule {name}: parameters {parameters!r} are not a mapping",
                hint='give them as {"name": value}',
            )
        if isinstance(actions, str | dict) or not isinstance(actions, Sequence):
            raise InputDataError(
                f"rule {name}: actions {actions!r} are not a list",
                hint="give a list such as [StopTraining(), Notify()]",
            )
        self.name: str = get_rule(name).name
        self.parameters: dict[str, Any] = dict(parameters)
        self.actions: list[Action] = [action_from_dict(a) for a in actions]
        self.build()  # checks the parameters

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuleConfig):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"RuleConfig({self.name!r}, {self.parameters!r}, actions={self.actions!r})"

    @property
    def rule_class(self) -> type[Rule]:
        """The rule's class."""
        return get_rule(self.name)

    @property
    def kind(self) -> str:
        """``debugger`` or ``profiler``."""
        return self.rule_class.kind

    def build(self) -> Rule:
        """A fresh rule object with these parameters."""
        return self.rule_class(**self.parameters)

    def stops_training(self) -> bool:
        """Whether a finding stops the job (a StopTraining action or ``stop_training_on_fire``)."""
        if any(isinstance(a, StopTraining) for a in self.actions):
            return True
        return bool(self.build().parameters.get("stop_training_on_fire", False))

    def to_dict(self) -> dict[str, Any]:
        """The rule as a job parameter."""
        return {
            "name": self.name,
            "parameters": dict(self.parameters),
            "actions": [a.to_dict() for a in self.actions],
        }

    @classmethod
    def from_dict(cls, value: dict[str, Any] | RuleConfig | Rule | str) -> RuleConfig:
        """Read a rule from a job parameter, a rule object or a bare rule name.

        Raises:
            InputDataError: as the constructor, or on an unknown key.
        """
        if isinstance(value, RuleConfig):
            return value
        if isinstance(value, Rule):
            return cls(type(value).name, dict(value.parameters))
        if isinstance(value, str):
            return cls(value)
        if not isinstance(value, dict) or "name" not in value:
            raise InputDataError(
                f"rule {value!r} is not an object with a 'name'",
                hint='give e.g. {"name": "Overfit", "parameters": {"patience": 2}}',
            )
        unknown = sorted(set(value) - {"name", "parameters", "actions"})
        if unknown:
            raise InputDataError(
                f"rule {value['name']!r} has unknown key(s) {', '.join(unknown)}",
                hint="a rule has 'name', 'parameters' and 'actions'",
            )
        return cls(value["name"], value.get("parameters") or {}, value.get("actions") or [])


def parse_rule_configs(values: list[Any] | None) -> list[RuleConfig]:
    """Rules from job parameters (or RuleConfig/Rule objects or names), each rule at most once.

    Raises:
        InputDataError: on a bad rule or one given twice.
    """
    if values is None:
        return []
    if not isinstance(values, list | tuple):
        raise InputDataError(f"rules {values!r} are not a list", hint=_RULES_HINT)
    rules = [RuleConfig.from_dict(v) for v in values]
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise InputDataError(
                f"rule {rule.name} is given twice",
                hint="give each rule once, with all its parameters and actions",
            )
        seen.add(rule.name)
    return rules


@dataclass(frozen=True)
class ProfilerConfig:
    """The profiler of a training job (on by default, as in SageMaker).

    Args:
        system_monitor_interval_millis: how often CPU, memory, disk, network and GPU use are
            sampled (ms; 100 to 60000).
        framework_profile: time the training steps' phases (data, forward, backward,
            optimizer) through the hook.
        disable_profiler: turn the profiler off (no system metrics, no framework timings).

    Example:
        >>> ProfilerConfig(system_monitor_interval_millis=1000).to_dict()["disable_profiler"]
        False
    """

    system_monitor_interval_millis: int = 500
    framework_profile: bool = True
    disable_profiler: bool = False

    def __post_init__(self) -> None:
        interval = self.system_monitor_interval_millis
        if (
            isinstance(interval, bool)
            or not isinstance(interval, int)
            or not (100 <= interval <= 60_000)
        ):
            raise InputDataError(
                f"system_monitor_interval_millis={interval!r} must be an integer from 100 to 60000",
                hint="the default samples every 500 ms",
            )
        for name in ("framework_profile", "disable_profiler"):
            if not isinstance(getattr(self, name), bool):
                raise InputDataError(
                    f"profiler_config {name}={getattr(self, name)!r} is not true or false",
                    hint="give a boolean",
                )

    @property
    def enabled(self) -> bool:
        """Whether system metrics are collected."""
        return not self.disable_profiler

    def to_dict(self) -> dict[str, Any]:
        """The config as a job parameter."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any] | ProfilerConfig | None) -> ProfilerConfig:
        """Read the config from a job parameter (None: the defaults).

        Raises:
            InputDataError: on an unknown key or a bad value.
        """
        if value is None:
            return cls()
        if isinstance(value, ProfilerConfig):
            return value
        if not isinstance(value, dict):
            raise InputDataError(
                f"profiler_config {value!r} is not a mapping",
                hint='give e.g. {"system_monitor_interval_millis": 500}',
            )
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise InputDataError(
                f"profiler_config has unknown key(s) {', '.join(unknown)}",
                hint=f"its keys are: {', '.join(names)}",
            )
        return cls(**value)


def validate_hook_config(value: dict[str, Any]) -> dict[str, Any]:
    """Check a ``debugger_hook_config`` mapping; return it in :class:`HookConfig` JSON form.

    Keys are the fields of :class:`sagebox.debugger.hook.HookConfig` (``save_interval`` and
    ``tensor_interval`` in steps, ``collections``, ``framework_profile``), or SageMaker's
    ``{"hook_parameters": {...}, "collection_configs": [{"name": ...}]}``.

    Raises:
        InputDataError: on an unknown key or a bad value.
    """
    from sagebox.debugger.hook import HookConfig
    from sagebox.errors import ConfigError

    if not isinstance(value, dict):
        raise InputDataError(
            f"debugger_hook_config {value!r} is not a mapping",
            hint='give e.g. {"save_interval": 10, "tensor_interval": 50}, or False to disable',
        )
    try:
        return HookConfig.from_json(value).to_json()
    except ConfigError as exc:
        raise InputDataError(exc.message, hint=exc.hint) from None


@dataclass(frozen=True)
class DebugPlan:
    """What a training job runs for debugging and profiling, decided from its parameters.

    Attributes:
        hook: the HookConfig mapping the workers get (``SAGEBOX_DEBUGGER_CONFIG``), or None
            when no hook runs (no ``SAGEBOX_DEBUG_DIR`` either).
        rules: the rules to evaluate.
        profiler: the profiler config.
    """

    hook: dict[str, Any] | None
    rules: list[RuleConfig]
    profiler: ProfilerConfig

    @property
    def enabled(self) -> bool:
        """Whether anything at all is collected or evaluated."""
        return self.hook is not None or bool(self.rules) or self.profiler.enabled

    def summary(self) -> str:
        """One line for the job log."""
        parts = []
        if self.hook is not None:
            collections = self.hook.get("collections", DEFAULT_HOOK_COLLECTIONS)
            parts.append(
                f"hook every {self.hook.get('save_interval', 10)} step(s) "
                f"({', '.join(collections) or 'framework timings only'})"
            )
        if self.profiler.enabled:
            parts.append(f"system monitor every {self.profiler.system_monitor_interval_millis} ms")
        if self.rules:
            parts.append(f"rules {', '.join(r.name for r in self.rules)}")
        return "debugger: " + ("; ".join(parts) or "off")


def plan_debugging(
    algorithm: str | None,
    debugger_hook_config: dict[str, Any] | bool | None,
    rules: list[Any] | None,
    profiler_config: dict[str, Any] | None,
) -> DebugPlan:
    """Decide what a job collects and evaluates.

    The hook is on for the text-transformer built-in, whenever a debugger rule is configured
    and whenever a hook config is given; ``debugger_hook_config=False`` turns it off. When the
    profiler is on (default) and the hook is otherwise off, the hook still runs to time the
    framework phases, saving nothing else. System metrics are sampled unless the profiler is
    disabled.

    Raises:
        InputDataError: on a bad rule, hook config or profiler config, or a combination that
            cannot work (a debugger rule with the hook off, a profiler rule with the profiler
            off).
    """
    configs = parse_rule_configs(rules)
    profiler = ProfilerConfig.from_dict(profiler_config)
    debugger_rules = [r.name for r in configs if r.kind != "profiler"]
    profiler_rules = [r.name for r in configs if r.kind == "profiler"]
    if profiler_rules and not profiler.enabled:
        raise InputDataError(
            f"profiler rule(s) {', '.join(profiler_rules)} need the profiler, which is disabled",
            hint="drop disable_profiler (--disable-profiler) or the profiler rules",
        )
    hook: dict[str, Any] | None
    if debugger_hook_config is False:
        if debugger_rules:
            raise InputDataError(
                f"debugger rule(s) {', '.join(debugger_rules)} need the debugger hook, which "
                "debugger_hook_config=False turns off",
                hint="drop debugger_hook_config=False or the debugger rules",
            )
        hook = None
    elif debugger_hook_config is True or debugger_hook_config is None:
        wanted = (
            debugger_hook_config is True or bool(debugger_rules) or algorithm in HOOKED_ALGORITHMS
        )
        hook = {} if wanted else None
    else:
        hook = validate_hook_config(debugger_hook_config)
        if "framework_profile" not in debugger_hook_config:
            del hook["framework_profile"]  # set from the profiler config below
    framework = profiler.enabled and profiler.framework_profile
    if hook is not None:
        hook.setdefault("framework_profile", framework)
    elif framework:
        hook = {"collections": [], "framework_profile": True}
    return DebugPlan(hook=hook, rules=configs, profiler=profiler)


def _check_url(url: Any) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputDataError(
            f"webhook URL {url!r} is not an http(s) URL",
            hint="give e.g. http://127.0.0.1:9000/hook or https://hooks.example.com/...",
        )


_RULES_HINT = "give rules by name, e.g. 'overfit', or as {'name': 'Overfit', 'parameters': {}}"
