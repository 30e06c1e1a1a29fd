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
from .tuning import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
    WarmStartConfig,
)

__all__ = [
    "AlreadyExistsError",
    "CategoricalParameter",
    "ConfigError",
    "ContinuousParameter",
    "DataCaptureConfig",
    "EndpointClient",
    "EndpointConfig",
    "Estimator",
    "FeatureDefinition",
    "FeatureGroup",
    "FeatureStore",
    "HyperparameterTuner",
    "InputDataError",
    "IntegerParameter",
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
    "WarmStartConfig",
    "__version__",
    "load_settings",
]
