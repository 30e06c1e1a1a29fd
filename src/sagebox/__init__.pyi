from ._version import __version__
from .config import Settings, load_settings
from .errors import (
    AlreadyExistsError,
    ConfigError,
    InputDataError,
    JobError,
    NotFoundError,
    PortInUseError,
    SageboxError,
    ServiceUnavailableError,
)
from .features import FeatureDefinition, FeatureGroup, FeatureStore
from .jobs import JobClient
from .models import ModelClient
from .processing import ProcessingInput, ProcessingOutput, Processor
from .serving import (
    DataCaptureConfig,
    EndpointClient,
    EndpointConfig,
    ProductionVariant,
    TransformClient,
    TransformConfig,
)
from .session import Session
from .sql import SqlEngine
from .training import Estimator

__all__ = [
    "AlreadyExistsError",
    "ConfigError",
    "DataCaptureConfig",
    "EndpointClient",
    "EndpointConfig",
    "Estimator",
    "FeatureDefinition",
    "FeatureGroup",
    "FeatureStore",
    "InputDataError",
    "JobClient",
    "JobError",
    "ModelClient",
    "NotFoundError",
    "PortInUseError",
    "ProcessingInput",
    "ProcessingOutput",
    "Processor",
    "ProductionVariant",
    "SageboxError",
    "ServiceUnavailableError",
    "Session",
    "Settings",
    "SqlEngine",
    "TransformClient",
    "TransformConfig",
    "__version__",
    "load_settings",
]
