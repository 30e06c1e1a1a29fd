"""HTTP calls from clients (CLI, Python API) to a ``sagebox serve`` process."""

from __future__ import annotations

import errno
import json
import socket
from pathlib import Path
from typing import Any

from sagebox.errors import (
    AlreadyExistsError,
    AuthenticationError,
    InputDataError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PortInUseError,
    SageboxError,
    ServiceUnavailableError,
    UnsupportedContentTypeError,
)
from sagebox.serving._http.auth import read_admin_token, token_path

__all__ = ["ServerConnection", "ensure_port_free", "raise_for_answer"]

_ERRORS: dict[int, type[SageboxError]] = {
    400: InputDataError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: AlreadyExistsError,
    413: PayloadTooLargeError,
    415: UnsupportedContentTypeError,
    422: InputDataError,
    502: ServiceUnavailableError,
    503: ServiceUnavailableError,
    504: ServiceUnavailableError,
}


def raise_for_answer(response: Any) -> None:
    """Raise the SageboxError matching a 4xx/5xx answer (message and hint from its body)."""
    if response.status_code < 400:
        return
    try:
        payload = response.json()
        message, hint = str(payload["error"]), payload.get("hint")
    except (ValueError, KeyError, TypeError):
        message, hint = response.text[:300] or f"HTTP {response.status_code}", None
    kind = _ERRORS.get(response.status_code, SageboxError)
    if response.status_code == 500:
        message = f"the model failed: {message}"
        hint = hint or "see the worker logs (sagebox endpoints describe NAME --events)"
    raise kind(message, hint=hint)


class ServerConnection:
    """Calls to the gateway at ``http://host:port``.

    Admin calls carry ``Authorization: Bearer`` with the token of ``home`` (the server's
    ``SAGEBOX_HOME``), read when needed since the server makes it at its first start.

    Example:
        >>> ServerConnection("127.0.0.1", 8080, home=Path(".sagebox")).ping()
        {'status': 'Healthy', 'server': 'sagebox', ...}
    """

    def __init__(
        self, host: str, port: int, timeout: float = 60.0, home: Path | None = None
    ) -> None:
        self.url = f"http://{host}:{port}"
        self.timeout = timeout
        self.home = home
        self._client: Any = None

    def _auth_headers(self) -> dict[str, str]:
        token = read_admin_token(self.home) if self.home is not None else None
        return {"Authorization": f"Bearer {token}"} if token else {}

    @property
    def client(self) -> Any:
        """A keep-alive httpx client (made on first use)."""
        if self._client is None:
            import httpx

            self._client = httpx.Client(timeout=self.timeout)
        return self._client

    def close(self) -> None:
        """Close kept-alive connections (so the server's port is not left in TIME_WAIT)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def ping(self) -> dict[str, Any] | None:
        """The server's identity, or None if nothing (or not sagebox) answers."""
        import httpx

        try:
            response = httpx.get(f"{self.url}/ping", timeout=2.0)
            value = response.json()
        except (httpx.HTTPError, ValueError):
            return None
        return value if isinstance(value, dict) and value.get("server") == "sagebox" else None

    def is_sagebox(self) -> bool:
        """Whether a sagebox server answers here."""
        return self.ping() is not None

    def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        """A control-plane call; the decoded JSON answer.

        Raises:
            ServiceUnavailableError: if the server cannot be reached.
            SageboxError: the error the server answered with.
        """
        import httpx

        headers = {"Content-Type": "application/json"}
        if path.startswith("/_admin/"):
            headers.update(self._auth_headers())
        try:
            response = self.client.request(
                method,
                f"{self.url}{path}",
                content=None if payload is None else json.dumps(payload),
                headers=headers,
            )
        except httpx.TransportError as exc:
            raise ServiceUnavailableError(
                f"no sagebox server answers at {self.url}: {exc}",
                hint="start one with `sagebox serve` or recreate the endpoint",
            ) from exc
        if response.status_code == 401 and self.home is not None:
            raise AuthenticationError(
                f"the server at {self.url} refused the admin token of {token_path(self.home)}",
                hint="use the SAGEBOX_HOME of the server that serves this port",
            )
        raise_for_answer(response)
        return response.json()

    def get_text(self, path: str) -> str:
        """A GET returning text (Prometheus metrics)."""
        import httpx

        try:
            response = self.client.get(f"{self.url}{path}")
        except httpx.TransportError as exc:
            raise ServiceUnavailableError(
                f"no answer from {self.url}: {exc}", hint="is the endpoint's server running?"
            ) from exc
        raise_for_answer(response)
        return response.text

    def post(self, path: str, body: Any, headers: dict[str, str]) -> Any:
        """POST a request body (bytes, str or a JSON-able value); raise on 4xx/5xx."""
        import httpx

        data = body if isinstance(body, bytes | str) else json.dumps(body)
        try:
            response = self.client.post(f"{self.url}{path}", content=data, headers=headers)
        except httpx.TransportError as exc:
            raise ServiceUnavailableError(
                f"no answer from {self.url}: {exc}", hint="is the endpoint's server running?"
            ) from exc
        raise_for_answer(response)
        return response


def ensure_port_free(host: str, port: int) -> None:
    """Raise PortInUseError naming the port unless a server could listen on ``host:port`` now.

    SO_REUSEADDR is set as a server would, so connections of a server that just exited
    (TIME_WAIT) do not count as "in use"; a process listening there does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUseError(
                    f"port {port} on {host} is already in use",
                    hint="choose another with --port or stop what listens there",
                ) from exc
            raise
