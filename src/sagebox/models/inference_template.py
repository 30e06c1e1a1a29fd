"""Inference handler of a sagebox model package (SageMaker's four hooks).

Edit this file inside ``model.tar.gz`` to customise pre- or post-processing; the endpoint loads
it from ``code/inference.py``. The defaults delegate to sagebox's built-in handler.
"""

from sagebox.models.handler import input_fn, model_fn, output_fn, predict_fn

__all__ = ["input_fn", "model_fn", "output_fn", "predict_fn"]
