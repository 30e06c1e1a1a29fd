"""Serving: endpoints with variants, deployments, autoscaling, batch transform and edge export.

The public names are imported lazily so that ``import sagebox.serving`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagebox.serving.config import (
        Alarm,
        AutoScalingPolicy,
        BanditConfig,
        BatchingConfig,
        DataCaptureConfig,
        DeploymentConfig,
        EndpointConfig,
        MultiModelConfig,
        PipelineStep,
        ProductionVariant,
        ShadowVariant,
        TrafficRouting,
    )
    from sagebox.serving.endpoints import EndpointClient, Invocation
    from sagebox.serving.transform import TransformClient, TransformConfig

__all__ = [
    "Alarm",
    "AutoScalingPolicy",
    "BanditConfig",
    "BatchingConfig",
    "DataCaptureConfig",
    "DeploymentConfig",
    "EndpointClient",
    "EndpointConfig",
    "Invocation",
    "MultiModelConfig",
    "PipelineStep",
    "ProductionVariant",
    "ShadowVariant",
    "TrafficRouting",
    "TransformClient",
    "TransformConfig",
]

_LAZY = {name: "sagebox.serving.config" for name in __all__}
_LAZY.update(
    EndpointClient="sagebox.serving.endpoints",
    Invocation="sagebox.serving.endpoints",
    TransformClient="sagebox.serving.transform",
    TransformConfig="sagebox.serving.transform",
)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sagebox.serving' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
