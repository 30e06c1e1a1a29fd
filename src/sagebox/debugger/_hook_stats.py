"""Tensor summaries for the debugger hook: a few fused torch ops, one device sync per batch.

A summary is computed as a small float64 tensor (:data:`STAT_FIELDS`) right away (a gradient
may be zeroed a moment later) and turned into numbers only when the step's summaries are
written, with one ``tolist`` for all of them, so that a GPU run waits once per tensor step.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = ["STAT_FIELDS", "dead_units", "decode_stats", "is_activation", "tensor_stats"]

#: the order of the numbers in a :func:`tensor_stats` tensor
STAT_FIELDS = ("mean", "std", "min", "max", "nonzero", "nan", "inf", "size")

#: activation modules whose outputs (and inputs) are summarised: the ReLU family and GELU
_ACTIVATION_NAMES = ("ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "GELU", "GELUActivation")


def is_activation(module: Any) -> bool:
    """Whether ``module`` is a ReLU-family or GELU activation layer (by class, as in
    ``torch.nn`` or transformers' ``GELUActivation``)."""
    name = type(module).__name__
    return name in _ACTIVATION_NAMES or name.endswith("GELUActivation")


def tensor_stats(tensor: torch.Tensor, units: bool = False) -> torch.Tensor | None:
    """The summary of ``tensor`` as a float64 tensor ordered like :data:`STAT_FIELDS`.

    Three passes over the data (``std_mean``, ``aminmax``, ``count_nonzero``); NaN and inf
    are counted with two more passes only when a statistic is not finite (on the CPU, where
    checking is free) or always (on an accelerator, where checking would stall the device).
    With ``units`` (an activation layer's output) a ninth number follows: the share of units
    that are positive for no row of the batch (:func:`dead_units`).
    Returns None for an empty or non-numeric tensor.
    """
    import torch

    x = tensor.detach()
    n = x.numel()
    if n == 0 or x.is_complex() or x.dtype == torch.bool:
        return None
    if not x.is_floating_point() or x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    x = x.reshape(-1)
    std, mean = torch.std_mean(x, correction=0)
    low, high = torch.aminmax(x)
    nonzero = torch.count_nonzero(x)
    head = torch.stack([mean, std, low, high]).double()
    if x.device.type == "cpu" and bool(torch.isfinite(head).all()):
        nan = inf = torch.zeros((), dtype=torch.float64)
    else:
        nan = torch.isnan(x).sum().double()
        inf = torch.isinf(x).sum().double()
    size = torch.tensor(float(n), dtype=torch.float64, device=x.device)
    tail = [nonzero.double(), nan, inf, size]
    if units:
        tail.append(dead_units(tensor.detach()))
    return torch.cat([head, torch.stack(tail)])


def dead_units(output: torch.Tensor) -> torch.Tensor:
    """The share of an activation layer's units that are positive for no row of the batch
    (a NaN output counts as alive: that unit exploded rather than died).

    A unit is one feature: the last dimension of a ``(batch, features)`` or ``(batch, tokens,
    features)`` output, the channel (dimension 1) of a convolution's ``(N, C, H, W...)``.
    """

    if output.ndim >= 4:
        output = output.transpose(0, 1).reshape(output.shape[1], -1).T
    elif output.ndim >= 2:
        output = output.reshape(-1, output.shape[-1])
    else:
        output = output.reshape(-1, 1)
    alive = ((output > 0) | output.isnan()).any(dim=0)  # NaN is exploding, not dead
    return 1.0 - alive.double().mean()


def decode_stats(values: list[float]) -> dict[str, Any]:
    """The event fields of one summary (the numbers of a :func:`tensor_stats` tensor), with
    ``dead_fraction`` for an activation output."""
    mean, std, low, high, nonzero, nan, inf, size = values[:8]
    n = int(size)
    # ||x||^2 = n * (var + mean^2): one pass fewer than a separate norm
    square = n * (std * std + mean * mean)
    norm = math.sqrt(square) if math.isfinite(square) else square
    event = {
        "norm": norm,
        "mean": mean,
        "std": std,
        "min": low,
        "max": high,
        "zero_fraction": (n - int(nonzero)) / n,
        "nan": int(nan),
        "inf": int(inf),
        "size": n,
    }
    if len(values) > 8:
        event["dead_fraction"] = values[8]
    return event
