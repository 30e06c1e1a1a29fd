"""The lean HTTP server and the gateway's keep-alive client, over real loopback sockets."""

from __future__ import annotations

import asyncio

from sagebox.serving._http.pool import HttpPool, WorkerUnavailable
from sagebox.serving._http.server import Request, Response, start_server


def _echo(request: Request) -> Response:
    if request.path == "/slow":

        async def later() -> Response:
            await asyncio.sleep(0.01)
            return 200, [], b"slow"

        return later()  # type: ignore[return-value]
    if request.path == "/boom":
        raise RuntimeError("bug")
    return 200, [(b"x-path", request.path.encode())], request.body


async def _raw(port: int, data: bytes, answers: int = 1) -> bytes:
    """Send raw bytes; read until ``answers`` final responses (or the server closes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    received = b""
    async with asyncio.timeout(5):
        while received.count(b"HTTP/1.1 ") - received.count(b"100 Continue") < answers:
            chunk = await reader.read(65536)
            if not chunk:
                break
            received += chunk
        await asyncio.sleep(0.05)  # the last body may follow its headers in another segment
        if not reader.at_eof():
            received += await _drain(reader)
    writer.close()
    return received


async def _drain(reader: asyncio.StreamReader) -> bytes:
    try:
        async with asyncio.timeout(0.1):
            return await reader.read(65536)
    except TimeoutError:
        return b""


def test_keep_alive_pipelining_and_errors() -> None:
    async def scenario() -> None:
        server = await start_server(_echo, max_body=100)
        port = server.sockets[0].getsockname()[1]
        pool = HttpPool("127.0.0.1", port)
        for i in range(3):  # one connection, reused
            response = await pool.request(b"POST", b"/x", b"body%d" % i, [])
            assert (response.status, response.body) == (200, b"body%d" % i)
        assert len(pool._idle) == 1
        assert (await pool.request(b"GET", b"/slow", b"", [])).body == b"slow"
        assert (await pool.request(b"GET", b"/boom", b"", [])).status == 500
        assert (await pool.request(b"POST", b"/x", b"y" * 101, [])).status == 413
        pipelined = await _raw(
            port,
            b"GET /slow HTTP/1.1\r\nhost: a\r\n\r\nGET /fast HTTP/1.1\r\nhost: a\r\n\r\n",
            answers=2,
        )
        assert pipelined.index(b"slow") < pipelined.index(b"x-path: /fast")
        bad = await _raw(port, b"NOT HTTP AT ALL\r\n\r\n")
        assert bad.startswith(b"HTTP/1.1 400")
        expect = await _raw(
            port,
            b"POST /e HTTP/1.1\r\nhost: a\r\ncontent-length: 2\r\nexpect: 100-continue\r\n\r\nok",
        )
        assert expect.startswith(b"HTTP/1.1 100 Continue") and expect.endswith(b"ok")
        pool.close()
        server.close()
        gone = HttpPool("127.0.0.1", port)
        try:
            await gone.request(b"GET", b"/", b"", [], timeout=2)
        except WorkerUnavailable:
            pass
        else:
            raise AssertionError("a closed server must make the request fail fast")

    asyncio.run(scenario())
