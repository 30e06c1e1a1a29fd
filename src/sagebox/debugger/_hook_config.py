"""The configuration of the debugger hook (the training job parameter ``debugger_hook_config``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagebox.errors import ConfigError

__all__ = ["COLLECTIONS", "HookConfig"]

#: the collections a hook can save
COLLECTIONS = ("losses", "metrics", "weights", "gradients", "activations", "batches")


@dataclass(frozen=True)
class HookConfig:
    """What a :class:`Hook` saves and how often (the job parameter ``debugger_hook_config``).

    Args:
        save_interval: save scalars of the hook's own (loss, learning rate) and batches every
            this many steps.
        tensor_interval: save weight, gradient and activation summaries every this many steps.
        collections: which of :data:`COLLECTIONS` to save.
        framework_profile: save the step, data, forward, backward and optimizer timings.

    Raises:
        ConfigError: on an interval below 1 or an unknown collection.

    Example:
        >>> HookConfig(save_interval=5).to_json()["save_interval"]
        5
        >>> HookConfig.from_json({"hook_parameters": {"save_interval": "20"}}).save_interval
        20
    """

    save_interval: int = 10
    tensor_interval: int = 50
    collections: tuple[str, ...] = COLLECTIONS
    framework_profile: bool = True

    def __post_init__(self) -> None:
        for name in ("save_interval", "tensor_interval"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"debugger hook {name}={value!r} is not a whole number >= 1",
                    hint=f"e.g. {name}=10",
                )
        object.__setattr__(self, "collections", tuple(self.collections))
        unknown = [c for c in self.collections if c not in COLLECTIONS]
        if unknown:
            raise ConfigError(
                f"unknown debugger collection(s) {unknown}",
                hint=f"use some of {', '.join(COLLECTIONS)}",
            )

    def to_json(self) -> dict[str, Any]:
        """This configuration as a JSON-ready dict (what :meth:`from_json` reads)."""
        return {
            "save_interval": self.save_interval,
            "tensor_interval": self.tensor_interval,
            "collections": list(self.collections),
            "framework_profile": self.framework_profile,
        }

    @classmethod
    def from_json(cls, data: str | Mapping[str, Any] | None) -> HookConfig:
        """Read a configuration from a dict or JSON text (missing fields take the defaults).

        Besides this class's fields it accepts SageMaker's ``DebuggerHookConfig`` shape:
        ``{"hook_parameters": {"save_interval": "100"}, "collection_configs":
        [{"name": "weights"}]}`` (string values are converted).

        Raises:
            ConfigError: on invalid JSON, an unknown key or a bad value.
        """
        if data is None or data == "":
            return cls()
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise ConfigError(
                    f"debugger hook config is not valid JSON: {exc}",
                    hint='e.g. {"save_interval": 10, "tensor_interval": 50}',
                ) from exc
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"debugger hook config must be a JSON object, not {type(data).__name__}",
                hint='e.g. {"save_interval": 10}',
            )
        values = {
            k: v for k, v in data.items() if k not in ("hook_parameters", "collection_configs")
        }
        values.update(data.get("hook_parameters") or {})
        if data.get("collection_configs"):
            values["collections"] = [
                c["name"] if isinstance(c, Mapping) else str(c) for c in data["collection_configs"]
            ]
        known = cls.__dataclass_fields__  # type: ignore[attr-defined]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(
                f"unknown debugger hook config key(s) {unknown}",
                hint=f"use {', '.join(known)}",
            )
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            try:
                if key in ("save_interval", "tensor_interval"):
                    kwargs[key] = int(value)
                elif key == "framework_profile":
                    kwargs[key] = _as_bool(value)
                else:
                    kwargs[key] = tuple([value] if isinstance(value, str) else value)
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"debugger hook config {key}={value!r} is not valid",
                    hint="intervals are whole numbers, framework_profile true or false",
                ) from exc
        return cls(**kwargs)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        if value.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if value.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(value)
    return bool(value)
