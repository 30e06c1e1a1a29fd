"""A lean HTTP/1.1 server (httptools parser, asyncio protocol) for gateways and workers.

On a 2-core machine the serving stack's own CPU per request decides throughput: an ASGI
server allocates a scope, message dicts and a task per request. Here a request is parsed by
httptools into a small :class:`Request`, a handler returns ``(status, headers, body)``
directly (synchronous handlers answer without creating a task) or a coroutine for it, and the
answer is written with ``Content-Length``. Keep-alive and pipelined requests are answered in
order; ``Expect: 100-continue`` is honoured; bodies over ``max_body`` become a 413.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import socket
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import httptools

__all__ = ["Request", "Response", "drain", "start_server"]

Response = tuple[int, list[tuple[bytes, bytes]], bytes]
Handler = Callable[["Request"], "Response | Awaitable[Response]"]

_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}

# Handler tasks still answering, so a shutting-down server can let them finish.
_IN_FLIGHT: set[asyncio.Task[Response]] = set()


class Request:
    """One parsed request."""

    __slots__ = ("body", "headers", "method", "path", "query")

    def __init__(
        self, method: str, path: str, query: str, headers: dict[bytes, bytes], body: bytes
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body


class _Protocol(asyncio.Protocol):
    def __init__(self, handler: Handler, max_body: int) -> None:
        self.handler = handler
        self.max_body = max_body
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.pending: deque[tuple[Request | None, bool]] = deque()
        self.busy = False
        self._url = b""
        self._headers: dict[bytes, bytes] = {}
        self._body: list[bytes] = []
        self._size = 0

    # asyncio
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._write((400, [], b'{"error": "malformed HTTP request"}'), keep=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url, self._headers, self._body, self._size = b"", {}, [], 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.lower()] = value

    def on_headers_complete(self) -> None:
        if self._headers.get(b"expect", b"").lower() == b"100-continue" and self.transport:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size <= self.max_body:
            self._body.append(body)

    def on_message_complete(self) -> None:
        keep = self.parser.should_keep_alive()
        if self._size > self.max_body:
            self.pending.append((None, keep))
        else:
            url = httptools.parse_url(self._url)
            self.pending.append(
                (
                    Request(
                        self.parser.get_method().decode("ascii"),
                        url.path.decode("utf-8", "replace"),
                        (url.query or b"").decode("utf-8", "replace"),
                        self._headers,
                        self._body[0] if len(self._body) == 1 else b"".join(self._body),
                    ),
                    keep,
                )
            )
        if not self.busy:
            self._drain()

    # answering
    def _drain(self) -> None:
        while self.pending and not self.busy:
            request, keep = self.pending.popleft()
            if request is None:
                self._write(
                    (
                        413,
                        [],
                        json.dumps(
                            {
                                "error": f"the request body is over {self.max_body} bytes",
                                "hint": "split it into smaller requests",
                            }
                        ).encode(),
                    ),
                    keep,
                )
                continue
            try:
                result = self.handler(request)
            except Exception:  # noqa: BLE001 - a handler bug is a 500, not a dead server
                self._write(_internal_error(), keep)
                continue
            if isinstance(result, tuple):
                self._write(result, keep)
                continue
            self.busy = True
            task: asyncio.Task[Response] = asyncio.ensure_future(result)
            _IN_FLIGHT.add(task)
            task.add_done_callback(_IN_FLIGHT.discard)
            task.add_done_callback(functools.partial(self._finished, keep=keep))

    def _finished(self, task: asyncio.Task[Response], *, keep: bool) -> None:
        self.busy = False
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            traceback.print_exception(error)
            self._write(_internal_error(), keep)
        else:
            self._write(task.result(), keep)
        self._drain()

    def _write(self, response: Response, keep: bool) -> None:
        if self.transport is None:
            return
        status, headers, body = response
        head = [
            b"HTTP/1.1 %d %s\r\ncontent-length: %d\r\n"
            % (status, _REASONS.get(status, b"Unknown"), len(body))
        ]
        for name, value in headers:
            head.append(name + b": " + value + b"\r\n")
        if not keep:
            head.append(b"connection: close\r\n")
        head.append(b"\r\n")
        self.transport.write(b"".join(head) + body)
        if not keep:
            self.transport.close()


def _internal_error() -> Response:
    return 500, [(b"content-type", b"application/json")], b'{"error": "internal server error"}'


async def start_server(
    handler: Handler,
    sock: socket.socket | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    max_body: int = 64 * 2**20,
    backlog: int = 4096,
) -> asyncio.Server:
    """Serve ``handler`` on ``sock`` (or bind ``host:port``); return the running server."""
    loop = asyncio.get_running_loop()
    if sock is not None:
        return await loop.create_server(
            lambda: _Protocol(handler, max_body), sock=sock, backlog=backlog
        )
    return await loop.create_server(
        lambda: _Protocol(handler, max_body), host, port, backlog=backlog, reuse_address=True
    )


async def drain(timeout: float = 10.0) -> None:
    """Wait (up to ``timeout`` s) until requests being answered now have their answers sent."""
    pending = set(_IN_FLIGHT)
    if pending:
        await asyncio.wait(pending, timeout=timeout)
        await asyncio.sleep(0)  # let the done callbacks write the answers


def run(main: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``main()`` on uvloop when installed, else on asyncio's default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())  # type: ignore[arg-type]
    return uvloop.run(main())  # type: ignore[arg-type]
