"""Error answers on the HTTP surfaces of the gateway and the workers (one shape everywhere)."""

from __future__ import annotations

import json

from sagebox.errors import (
    AlreadyExistsError,
    AuthenticationError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    SageboxError,
    ServiceUnavailableError,
    UnsupportedContentTypeError,
)

__all__ = ["error_body", "error_status"]


def error_status(exc: SageboxError) -> int:
    """The HTTP status of a user error."""
    if isinstance(exc, PayloadTooLargeError):
        return 413
    if isinstance(exc, UnsupportedContentTypeError):
        return 415
    if isinstance(exc, AuthenticationError):
        return 401
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, AlreadyExistsError):
        return 409
    if isinstance(exc, ServiceUnavailableError):
        return 503
    return 400


def error_body(message: str, hint: str | None = None) -> bytes:
    """The JSON body of an error answer."""
    return json.dumps({"error": message, "hint": hint}).encode("utf-8")
