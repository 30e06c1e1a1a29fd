from ._app import create_app
from ._client.admin import ensure_port_free
from ._client.endpoints import EndpointClient, Invocation
from ._client.transform import TransformClient
from ._control.server import serve
from .config import (
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
