"""A small keep-alive HTTP/1.1 client for the gateway's hop to its own workers.

General clients (httpx, aiohttp) cost several times more per request than the model itself on
this path; the workers are ours and always answer with ``Content-Length`` (chunked bodies are
decoded too, for safety), so a pool of persistent asyncio streams per worker is enough.
Connection-level failures raise :class:`WorkerUnavailable`, which the gateway answers by
retrying on another instance.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

__all__ = ["HttpPool", "Response", "WorkerTimeout", "WorkerUnavailable"]


class WorkerUnavailable(Exception):
    """The worker could not be reached or dropped the connection (safe to retry elsewhere)."""


class WorkerTimeout(Exception):
    """The worker did not answer in time."""


@dataclass
class Response:
    """A worker's answer."""

    status: int
    headers: dict[bytes, bytes]
    body: bytes


_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class HttpPool:
    """Persistent connections to one worker at ``host:port``.

    Example:
        >>> pool = HttpPool("127.0.0.1", 8081)
        >>> response = await pool.request(b"POST", b"/invocations", b'["love it"]', [])
        >>> response.status
        200
    """

    def __init__(self, host: str, port: int, max_idle: int = 128) -> None:
        self.host = host
        self.port = port
        self.max_idle = max_idle
        self._idle: list[_Conn] = []
        self._host_header = f"{host}:{port}".encode()

    async def request(
        self,
        method: bytes,
        path: bytes,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
        timeout: float = 60.0,
    ) -> Response:
        """Send one request and read the whole response.

        Raises:
            WorkerUnavailable: on connection errors (a stale idle connection is retried once
                on a fresh one first).
            WorkerTimeout: if no answer comes within ``timeout`` seconds.
        """
        head = [
            method,
            b" ",
            path,
            b" HTTP/1.1\r\nhost: ",
            self._host_header,
            b"\r\ncontent-length: ",
            b"%d" % len(body),
            b"\r\n",
        ]
        for name, value in headers:
            head += [name, b": ", value, b"\r\n"]
        head.append(b"\r\n")
        data = b"".join(head) + body
        reused = bool(self._idle)
        try:
            async with asyncio.timeout(timeout):
                try:
                    return await self._exchange(data)
                except WorkerUnavailable:
                    if not reused:
                        raise
                    return await self._exchange(data, fresh=True)
        except TimeoutError:
            raise WorkerTimeout(f"no answer from {self.host}:{self.port} in {timeout} s") from None

    async def _exchange(self, data: bytes, fresh: bool = False) -> Response:
        conn = None if fresh or not self._idle else self._idle.pop()
        try:
            if conn is None:
                conn = await asyncio.open_connection(self.host, self.port)
            reader, writer = conn
            writer.write(data)
            response, keep = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            if conn is not None:
                conn[1].close()
            raise WorkerUnavailable(f"{self.host}:{self.port}: {type(exc).__name__}") from exc
        except BaseException:  # cancelled or timed out mid-exchange: the stream is unusable
            if conn is not None:
                conn[1].close()
            raise
        if keep and len(self._idle) < self.max_idle:
            self._idle.append(conn)
        else:
            writer.close()
        return response

    def close(self) -> None:
        """Close every idle connection."""
        while self._idle:
            self._idle.pop()[1].close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[Response, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    status = int(lines[0][9:12])
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get(b"content-length")
    if length is not None:
        body = await reader.readexactly(int(length))
    elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    else:
        body = await reader.read()
        return Response(status, headers, body), False
    keep = headers.get(b"connection", b"").lower() != b"close"
    return Response(status, headers, body), keep
