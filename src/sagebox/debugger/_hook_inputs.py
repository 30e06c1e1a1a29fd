"""What the debugger hook reads from a training loop's values: numbers, class labels, the
batch size of a forward's inputs and the tensors a backward pass starts from."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["batch_size", "grad_outputs", "to_float", "to_labels"]


def to_float(value: Any) -> float:
    """A number or tensor as a float (a tensor's mean; NaN if it is not a number)."""
    if hasattr(value, "detach"):
        value = value.detach().float().mean().item()
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def to_labels(values: Any) -> list[int]:
    """Class indices of ``values``: a list, array or tensor of ints, or 2-D scores (arg-max)."""
    if hasattr(values, "detach"):
        values = values.detach()
        if values.ndim >= 2:
            values = values.argmax(dim=-1)
        return [int(v) for v in values.reshape(-1).tolist()]
    import numpy as np

    array = np.asarray(values)
    if array.ndim >= 2:
        array = array.argmax(axis=-1)
    return [int(v) for v in array.reshape(-1).tolist()]


def _first_tensor(values: Iterable[Any], depth: int = 0) -> Any:
    for value in values:
        if hasattr(value, "shape") and hasattr(value, "detach"):
            return value
        if depth < 1 and isinstance(value, Mapping):
            found = _first_tensor(value.values(), depth + 1)
        elif depth < 1 and isinstance(value, (list, tuple)):
            found = _first_tensor(value, depth + 1)
        else:
            continue
        if found is not None:
            return found
    return None


def grad_outputs(output: Any) -> list[Any]:
    """The tensors of a forward's output that a backward pass may start from (first level
    of a tuple, list or dict, e.g. a transformers ``ModelOutput``)."""
    values = output.values() if isinstance(output, Mapping) else output
    if not isinstance(values, (list, tuple)) and not isinstance(output, Mapping):
        values = [output]
    return [v for v in values if getattr(v, "requires_grad", False) and hasattr(v, "register_hook")]


def batch_size(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int | None:
    """The first dimension of the first tensor given to the forward, if any."""
    tensor = _first_tensor(args)
    if tensor is None:
        tensor = _first_tensor(kwargs.values())
    if tensor is None or not tensor.shape:
        return None
    return int(tensor.shape[0])
