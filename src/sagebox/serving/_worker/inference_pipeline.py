"""What a worker serves: one model package, or an inference pipeline of several steps.

A :class:`~sagebox.models.HookModel` runs a package's four hooks. A :class:`PipelineModel`
chains steps the way SageMaker chains the containers of a pipeline model: each step's response
(JSON) is the next step's request, and only the last step's response goes back to the client
(in the client's ``Accept`` format). The chain runs in one process, so it costs no extra hops.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sagebox.models import HookModel

__all__ = ["PipelineModel", "builtin_model", "load_served_model"]

_JSON = "application/json"


def builtin_model(step: str) -> HookModel:
    """A built-in pipeline step (see :mod:`sagebox.serving._worker.steps`)."""
    from sagebox.serving._worker.steps import builtin_step

    hooks = builtin_step(step)
    return HookModel(hooks, hooks.model_fn(None), step)


class PipelineModel:
    """Steps run in order; JSON passes between them.

    Example:
        >>> chain = PipelineModel([builtin_model("normalize-text"), model,
        ...                        builtin_model("label-names")])
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
            steps.append(builtin_model(step["builtin"]))
        else:
            steps.append(HookModel.from_dir(Path(step["model_dir"]), step.get("name", "")))
    return steps[0] if len(steps) == 1 else PipelineModel(steps)
