"""sagebox: SageMaker's machine-learning workflow on one laptop, scaling out when needed.

The public API, kept small and imported lazily so that ``import sagebox`` stays fast::

    import sagebox

    session = sagebox.Session()
    jobs = sagebox.JobClient(session)
    job = jobs.submit("command", parameters={"argv": ["echo", "hello"]})
    jobs.wait(job.name)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sagebox._version import __version__
from sagebox.errors import (
    AlreadyExistsError,
    ConfigError,
    InputDataError,
    JobError,
    NotFoundError,
    PortInUseError,
    SageboxError,
    ServiceUnavailableError,
)

if TYPE_CHECKING:
    from sagebox.config import Settings, load_settings
    from sagebox.jobs import JobClient
    from sagebox.models import ModelClient
    from sagebox.serving import EndpointClient
    from sagebox.session import Session
    from sagebox.training import Estimator


__all__ = [
    "AlreadyExistsError",
    "ConfigError",
    "EndpointClient",
    "Estimator",
    "InputDataError",
    "JobClient",
    "JobError",
    "ModelClient",
    "NotFoundError",
    "PortInUseError",
    "SageboxError",
    "ServiceUnavailableError",
    "Session",
    "Settings",
    "__version__",
    "load_settings",
]

_LAZY = {
    "Settings": "sagebox.config",
    "load_settings": "sagebox.config",
    "Session": "sagebox.session",
    "JobClient": "sagebox.jobs",
    "ModelClient": "sagebox.models",
    "EndpointClient": "sagebox.serving",
    "Estimator": "sagebox.training",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sagebox' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
