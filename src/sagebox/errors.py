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
     ├── AuthenticationError      a request lacked the right token (HTTP 401)
     ├── PermissionDeniedError    an action this server does not allow (HTTP 403)
     ├── JobError                 a job failed, timed out or was stopped
     └── ArtifactIntegrityError   a model artifact differs from the one registered, or holds
                                  types sagebox does not load

Credentials never reach a user through an error: :func:`redact` masks the password of every
URI (``postgresql://u:***@h/db``), secret query parameters (``?password=***``) and AWS keys in
a :class:`SageboxError`'s message and hint, and :func:`redact_uri` is what every display of a
configured URI (``sagebox config show``, store ``repr``) goes through.
"""

from __future__ import annotations

import re

__all__ = [
    "AlreadyExistsError",
    "ArtifactIntegrityError",
    "AuthenticationError",
    "ConfigError",
    "InputDataError",
    "JobError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PortInUseError",
    "SageboxError",
    "ServiceUnavailableError",
    "UnsupportedContentTypeError",
    "redact",
    "redact_uri",
]

_MASK = "***"
# scheme://user:password@ : the password runs to the last "@" of the URI (pasted AWS secrets
# hold "/", unencoded "@" happens); masking a path that holds "@" too is the safe mistake.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/?#@'\"]*):[^\s?#'\"]*@")
_SECRET_NAMES = (
    r"password|passwd|pwd|pass|secret|token|api[_-]?key|access[_-]?key(?:[_-]?id)?"
    r"|secret[_-]?(?:access[_-]?)?key|aws[_-]?secret[_-]?access[_-]?key|aws[_-]?session[_-]?token"
    r"|security[_-]?token|session[_-]?token|x-amz-security-token|x-amz-credential"
    r"|x-amz-signature|signature|sig|credentials?|auth"
)
# ?password=... or &token=... in a URI; key=value or key: value in free text (env dumps).
_SECRET_PARAM = re.compile(rf"(?i)(?P<head>[?&;](?:{_SECRET_NAMES})=)[^&;#\s'\"]*")
_SECRET_ASSIGN = re.compile(
    r"(?i)(?P<head>\b(?:aws_secret_access_key|aws_session_token|secret_access_key)"
    r"[\"']?\s*[=:]\s*[\"']?)[^\s,;'\"}]+"
)
# AWS access key ids (long-term AKIA, temporary ASIA)
_AWS_KEY_ID = re.compile(r"\b(?P<head>AKIA|ASIA)[0-9A-Z]{16}\b")


def redact(text: str) -> str:
    """``text`` with the credentials in it masked.

    Masks URI passwords, secret query parameters, ``aws_secret_access_key=...`` assignments and
    AWS access key ids; leaves everything else (host, port, database, user) readable.

    Example:
        >>> redact("cannot reach postgresql://app:s3cret@db:5432/meta")
        'cannot reach postgresql://app:***@db:5432/meta'
    """
    if not text:
        return text
    text = _USERINFO.sub(rf"\g<head>:{_MASK}@", text)
    text = _SECRET_PARAM.sub(rf"\g<head>{_MASK}", text)
    text = _SECRET_ASSIGN.sub(rf"\g<head>{_MASK}", text)
    return _AWS_KEY_ID.sub(rf"\g<head>{_MASK}", text)


def redact_uri(uri: object) -> object:
    """A URI (or any setting value) fit to show: credentials masked, other values unchanged.

    Example:
        >>> redact_uri("postgresql://u:secret@h/db")
        'postgresql://u:***@h/db'
        >>> redact_uri("redis://h:6379/0?password=secret")
        'redis://h:6379/0?password=***'
    """
    return redact(uri) if isinstance(uri, str) else uri


class SageboxError(Exception):
    """Base class of every error a user can cause or fix.

    Args:
        message: what went wrong, naming the bad value.
        hint: what to do about it (optional but strongly encouraged).
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        message = redact(str(message))
        hint = redact(hint) if hint else hint
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def __reduce__(self) -> tuple[object, ...]:
        # keeps the hint (and a subclass's extra attributes) when the error crosses processes
        # (a Ray actor's error raised in the job runner)
        return (type(self), (self.message, self.hint), self.__dict__)


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


class AuthenticationError(SageboxError):
    """A request to an admin API lacked the right token (HTTP 401)."""


class PermissionDeniedError(SageboxError):
    """The server does not allow this action, e.g. fault injection outside tests (HTTP 403)."""


class JobError(SageboxError):
    """A job failed, timed out or was stopped."""


class ArtifactIntegrityError(SageboxError):
    """A model artifact is not the one registered (SHA-256 mismatch) or holds untrusted types.

    Never loaded: the message names the artifact, the expected and the actual digest (or the
    untrusted types), the hint says how to recover (re-register the model, re-train).
    """
