"""A model package behind SageMaker's four inference hooks.

:func:`load_handler` reads a package's ``code/inference.py`` (missing hooks filled with the
defaults of :mod:`sagebox.models.handler`); :class:`HookModel` holds the hooks and the loaded
model. Endpoints, batch transform, evaluation jobs, clarify and the feature lookup all load
packaged models this way.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["HookModel", "load_handler"]


def load_handler(model_dir: Path) -> ModuleType:
    """The package's ``code/inference.py`` (missing hooks filled with the defaults)."""
    from sagebox.models import handler as default_handler

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
