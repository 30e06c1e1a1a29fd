"""Compute backends chosen by name: ``local`` (default) or ``ray://host:port`` (a plugin)."""

from __future__ import annotations

from sagebox._registry import Registry
from sagebox.backends.compute.base import ComputeBackend, TaskSpec, TaskState

__all__ = ["ComputeBackend", "TaskSpec", "TaskState", "compute_backends", "open_compute"]

compute_backends: Registry[ComputeBackend] = Registry("compute backend")
compute_backends.register("local", "sagebox.backends.compute.local:LocalCompute")


def open_compute(uri: str = "local") -> ComputeBackend:
    """Open the compute backend named by ``uri`` (``local`` or ``<scheme>://...``).

    Raises:
        ConfigError: if no backend is registered for the name or scheme.
    """
    name = uri.split("://", 1)[0] if "://" in uri else uri
    return compute_backends.get(name)(uri)
