"""Compute backends chosen by name: ``local`` (default) or ``ray://host:port`` (a plugin)."""

from __future__ import annotations

from sagebox._registry import BackendRegistry
from sagebox.backends.compute.base import (
    ComputeBackend,
    Reservation,
    Resources,
    TaskSpec,
    TaskState,
)

__all__ = [
    "ComputeBackend",
    "Reservation",
    "Resources",
    "TaskSpec",
    "TaskState",
    "compute_backends",
    "open_compute",
]

compute_backends: BackendRegistry[ComputeBackend] = BackendRegistry(
    "compute backend", group="sagebox.backends.compute", bare_names=True
)
"""Name or URI scheme → compute backend class (called with the URI); plugins add more."""
compute_backends.register("local", "sagebox.backends.compute.local:LocalCompute")
compute_backends.register("ray", "sagebox.backends.compute.ray:RayCompute")


def open_compute(uri: str = "local") -> ComputeBackend:
    """Open the compute backend named by ``uri`` (``local`` or ``<scheme>://...``).

    Raises:
        ConfigError: if no backend is registered for the name or scheme.
    """
    return compute_backends.open(uri)
