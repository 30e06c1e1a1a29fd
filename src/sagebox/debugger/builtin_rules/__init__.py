"""The built-in debugger rules, with SageMaker Debugger's names, parameters and defaults.

Each rule reads a :class:`sagebox.debugger.data.DebugData` and returns a
:class:`~sagebox.debugger.rule.Finding` (the step and the figures behind it) once its
condition holds. How our data maps to SageMaker's:

* Losses are scalars: the training loss is a scalar named ``loss`` (or ``train:loss``,
  ``train_loss``...: any name ending in ``loss``) saved in mode ``train``; the validation loss is
  such a scalar in mode ``eval``. SageMaker's ``losses`` collection is "every loss-like scalar".
* Tensors are summaries (norm, mean, std, min, max, fraction of zeros, NaN and inf counts,
  size), not full tensors; where SageMaker looks at every value, a rule uses the summary
  figure that bounds or estimates it, as each docstring says.
* SageMaker's ``mode`` values ``TRAIN``/``EVAL``/``GLOBAL`` are accepted in any case.
* Regex parameters match whole names and may be a list or a comma-separated string.
"""

from sagebox.debugger.builtin_rules._common import LOSS_REGEX
from sagebox.debugger.builtin_rules.batches import ClassImbalance
from sagebox.debugger.builtin_rules.losses import LossNotDecreasing, Overfit, Overtraining
from sagebox.debugger.builtin_rules.stalled import StalledTrainingRule
from sagebox.debugger.builtin_rules.tensors import (
    DeadRelu,
    ExplodingTensor,
    PoorWeightInitialization,
    VanishingGradient,
)

__all__ = [
    "LOSS_REGEX",
    "ClassImbalance",
    "DeadRelu",
    "ExplodingTensor",
    "LossNotDecreasing",
    "Overfit",
    "Overtraining",
    "PoorWeightInitialization",
    "StalledTrainingRule",
    "VanishingGradient",
]
