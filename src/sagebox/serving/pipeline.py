"""What a worker serves: one model package, or an inference pipeline of several steps.

A :class:`HookModel` runs a package's four hooks. A :class:`PipelineModel` chains steps the
way SageMaker chains the containers of a pipeline model: each step's response (JSON) is the
next step's request, and only the last step's response goes back to the client (in the
client's ``Accept`` format). The chain runs in one process, so it costs no extra hops.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["HookModel", "PipelineModel", "load_handler", "load_served_model"]

_JSON = "application/json"


def load_handler(model_dir: Path) -> ModuleType:
    """The package's ``code/inference.py`` (missing hooks filled with the defaults)."""
    from sagebox.serving import handler as default_handler

    path = model_dir / "code" / "inference.py"
    if not path.is_file():
        return default_handler
    spec = importlib.util.spec_from_file_location("sagebox_model_inference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for hook in ("model_fn", "input_fn", "predict_fn", "output_fn"):
        if not hasattr(module, hook):
            setattr(module, hook, getattr(default_handler, hook))
    return module


class HookModel:
    """One model package (or built-in step) behind the four inference hooks.

    Example:
        >>> model = HookModel.from_dir(Path("model"))
        >>> body, kind = model.invoke(b'["love it"]', "application/json", "application/json")
    """

    def __init__(self, hooks: Any, model: Any, name: str = "") -> None:
        self.hooks = hooks
        self.model = model
        self.name = name

    @classmethod
    def from_dir(cls, model_dir: Path, name: str = "") -> HookModel:
        """Load a model package's ``code/inference.py`` hooks (or the defaults) and the model."""
        hooks = load_handler(model_dir)
        return cls(hooks, hooks.model_fn(model_dir), name or model_dir.name)

    @classmethod
    def builtin(cls, step: str) -> HookModel:
        """A built-in pipeline step (see :mod:`sagebox.serving.steps`)."""
        from sagebox.serving.steps import builtin_step

        hooks = builtin_step(step)
        return cls(hooks, hooks.model_fn(None), step)

    def decode(self, body: bytes, content_type: str) -> Any:
        """``input_fn``."""
        return self.hooks.input_fn(body, content_type)

    def predict(self, data: Any) -> Any:
        """``predict_fn``."""
        return self.hooks.predict_fn(data, self.model)

    def encode(self, predictions: Any, accept: str) -> tuple[bytes, str]:
        """``output_fn``."""
        return self.hooks.output_fn(predictions, accept)

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        """All three request hooks."""
        return self.encode(self.predict(self.decode(body, content_type)), accept)


class PipelineModel:
    """Steps run in order; JSON passes between them.

    Example:
        >>> chain = PipelineModel([HookModel.builtin("normalize-text"), model,
        ...                        HookModel.builtin("label-names")])
    """

    def __init__(self, steps: Sequence[HookModel]) -> None:
        self.steps = list(steps)
        self.step_ms = [0.0] * len(self.steps)

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        """Run the chain; the last step answers in ``accept``."""
        kind = content_type
        last = len(self.steps) - 1
        for i, step in enumerate(self.steps):
            started = time.perf_counter()
            body, kind = step.invoke(body, kind, accept if i == last else _JSON)
            self.step_ms[i] += (time.perf_counter() - started) * 1000
        return body, kind


def load_served_model(spec: dict[str, Any]) -> HookModel | PipelineModel:
    """Build what a worker spec's ``steps`` describe (one model dir, or a chain)."""
    steps = []
    for step in spec["steps"]:
        if "builtin" in step:
            steps.append(HookModel.builtin(step["builtin"]))
        else:
            steps.append(HookModel.from_dir(Path(step["model_dir"]), step.get("name", "")))
    return steps[0] if len(steps) == 1 else PipelineModel(steps)
