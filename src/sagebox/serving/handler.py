"""Where model packages built before the move import the default hooks from (an alias).

A model package carries ``code/inference.py``, a copy of ``sagebox/models/inference_template.py``
at packaging time; packages built by earlier versions import the default hooks from here. New
code imports :mod:`sagebox.models.handler`.
"""

from __future__ import annotations

from sagebox.models.handler import (
    TEXT_FIELD,
    LoadedModel,
    input_fn,
    model_fn,
    output_fn,
    predict_fn,
)

__all__ = ["TEXT_FIELD", "LoadedModel", "input_fn", "model_fn", "output_fn", "predict_fn"]
