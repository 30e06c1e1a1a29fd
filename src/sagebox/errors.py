"""The one exception hierarchy of sagebox.

Every error a user can cause is a :class:`SageboxError` whose message names the bad value and
whose ``hint`` says what to do about it. The CLI prints ``message`` and ``hint`` on one or two
lines and exits non-zero, without a traceback (unless ``--debug``).

::

    SageboxError
     ├── ConfigError              bad setting or unknown URI scheme
     ├── InputDataError           a file or table the user gave is missing, empty or malformed
     │    ├── UnsupportedContentTypeError  a request body in a format the model cannot read
     │    └── PayloadTooLargeError         a request body over the endpoint's size limit
     ├── NotFoundError            a named job, model, artifact or key does not exist
     ├── AlreadyExistsError       a name is taken
     ├── ServiceUnavailableError  a backend service (S3, PostgreSQL, ...) cannot be reached
     ├── PortInUseError           a server cannot bind its port
     ├── JobError                 a job failed, timed out or was stopped
     └── ArtifactIntegrityError   a model artifact differs from the one registered, or holds
                                  types sagebox does not load
"""

from __future__ import annotations

__all__ = [
    "AlreadyExistsError",
    "ArtifactIntegrityError",
    "ConfigError",
    "InputDataError",
    "JobError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PortInUseError",
    "SageboxError",
    "ServiceUnavailableError",
    "UnsupportedContentTypeError",
]


class SageboxError(Exception):
    """Base class of every error a user can cause or fix.

    Args:
        message: what went wrong, naming the bad value.
        hint: what to do about it (optional but strongly encouraged).
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(SageboxError):
    """A setting is invalid, e.g. an unknown URI scheme."""


class InputDataError(SageboxError):
    """Input data is missing, empty, not UTF-8, or lacks required columns/values."""


class UnsupportedContentTypeError(InputDataError):
    """A request's content type is not one the model (or endpoint) accepts (HTTP 415)."""


class PayloadTooLargeError(InputDataError):
    """A request body exceeds the endpoint's maximum payload (HTTP 413)."""


class NotFoundError(SageboxError):
    """A named resource (job, model, endpoint, object key) does not exist."""


class AlreadyExistsError(SageboxError):
    """A resource with this name already exists."""


class ServiceUnavailableError(SageboxError):
    """A backend service cannot be reached (S3 endpoint, database server, cluster)."""


class PortInUseError(SageboxError):
    """A server could not bind its port because something else listens there."""


class JobError(SageboxError):
    """A job failed, timed out or was stopped."""


class ArtifactIntegrityError(SageboxError):
    """A model artifact is not the one registered (SHA-256 mismatch) or holds untrusted types.

    Never loaded: the message names the artifact, the expected and the actual digest (or the
    untrusted types), the hint says how to recover (re-register the model, re-train).
    """
