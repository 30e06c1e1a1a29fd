"""A lean closed-loop HTTP load generator for the serving bench (its own process).

``python bench/_loadgen.py URL CONCURRENCY SECONDS BODIES.json`` keeps CONCURRENCY keep-alive
connections busy for SECONDS (after a one-second warm-up that is not measured), each sending
the next pre-encoded body as soon as the previous answer arrived, and prints one JSON line:
requests/s, latency percentiles (ms) and errors. Loopback only; bounded by time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit

_WARMUP_S = 1.0


async def _client(
    host: str,
    port: int,
    path: bytes,
    bodies: list[bytes],
    offset: int,
    start: float,
    stop: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = offset
    head = b"POST " + path + b" HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
    try:
        while True:
            sent = time.perf_counter()
            if sent >= stop:
                return
            body = bodies[i % len(bodies)]
            i += 1
            writer.write(head + b"content-length: %d\r\n\r\n" % len(body) + body)
            answer = await reader.readuntil(b"\r\n\r\n")
            status = int(answer[9:12])
            lower = answer.lower()
            at = lower.index(b"content-length:") + 15
            length = int(lower[at : lower.index(b"\r\n", at)])
            await reader.readexactly(length)
            if sent >= start:
                latencies.append((time.perf_counter() - sent) * 1000)
                if status != 200:
                    errors.append(status)
    finally:
        writer.close()


async def run(url: str, concurrency: int, seconds: float, bodies: list[bytes]) -> dict:
    parts = urlsplit(url)
    now = time.perf_counter()
    start, stop = now + _WARMUP_S, now + _WARMUP_S + seconds
    latencies: list[float] = []
    errors: list[int] = []
    await asyncio.gather(
        *(
            _client(
                parts.hostname or "127.0.0.1",
                parts.port or 80,
                parts.path.encode(),
                bodies,
                i * 7919,
                start,
                stop,
                latencies,
                errors,
            )
            for i in range(concurrency)
        )
    )
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[max(0, int(q / 100 * len(latencies)) - 1)], 3) if latencies else 0.0

    return {
        "concurrency": concurrency,
        "seconds": seconds,
        "requests": len(latencies),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "errors": len(errors),
    }


def main() -> int:
    url, concurrency, seconds, bodies_file = sys.argv[1:5]
    with open(bodies_file, encoding="utf-8") as fh:
        bodies = [b.encode() for b in json.load(fh)]
    coro = run(url, int(concurrency), float(seconds), bodies)
    try:
        import uvloop

        result = uvloop.run(coro)
    except ImportError:
        result = asyncio.run(coro)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
