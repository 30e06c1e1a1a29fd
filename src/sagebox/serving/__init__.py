"""Serving: real-time endpoints with variants, deployments and autoscaling, and batch transform.

The public face is small: :class:`EndpointClient` (create, update, invoke and delete
endpoints), :class:`TransformClient` (batch transform jobs), the config models of
:mod:`sagebox.serving.config`, :func:`serve` (what ``sagebox serve`` runs in the foreground)
and :func:`create_app` (one model as a FastAPI app, for notebooks and tests). The rest lives
in private sub-packages named after the process that runs it:

- ``_client/``: the user's process (the endpoint and transform clients, the admin client);
- ``_control/``: the ``sagebox serve`` process (supervisor, gateway, routing, deployments,
  autoscaling, data capture, metrics);
- ``_worker/``: a model worker process (hooks, batching, multi-model cache, inference
  pipelines);
- ``_transform/``: a ``batch-transform`` job in the job runner;
- ``_http/``: the HTTP plumbing the server and worker processes share.

The public names are imported lazily so that ``import sagebox.serving`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagebox.serving._app import create_app
    from sagebox.serving._client.admin import ensure_port_free
    from sagebox.serving._client.endpoints import EndpointClient, Invocation
    from sagebox.serving._client.transform import TransformClient
    from sagebox.serving._control.server import serve
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
        TransformConfig,
    )

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
    "create_app",
    "ensure_port_free",
    "serve",
]

_LAZY = {name: "sagebox.serving.config" for name in __all__}
_LAZY.update(
    EndpointClient="sagebox.serving._client.endpoints",
    Invocation="sagebox.serving._client.endpoints",
    TransformClient="sagebox.serving._client.transform",
    create_app="sagebox.serving._app",
    ensure_port_free="sagebox.serving._client.admin",
    serve="sagebox.serving._control.server",
)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sagebox.serving' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
