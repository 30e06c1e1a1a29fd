"""Send one request to a variant's workers, retrying on another instance if a worker drops.

Used by the gateway for live traffic and by batch transform for mini-batches. A connection
failure takes the instance out of rotation at once; a probe puts it back when it answers
``/ping`` again (a dead worker is restarted by its variant instead). When no instance is
healthy the request waits (up to ``retry_wait_s``) for one to come back, so a killed worker
costs latency, not answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from sagebox.serving._control.instances import Instance, VariantRuntime
from sagebox.serving._http.errors import error_body
from sagebox.serving._http.pool import WorkerTimeout, WorkerUnavailable

__all__ = ["forward"]

_JSON = b"application/json"
Spawn = Callable[[Coroutine[Any, Any, None]], None]


async def forward(
    variant: VariantRuntime,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    key: str | None,
    timeout: float,
    spawn: Spawn,
    retry_wait_s: float = 30.0,
) -> tuple[int, bytes, bytes, float | None]:
    """POST ``body`` to ``/invocations`` of a healthy instance of ``variant``.

    Args:
        variant: where to send it.
        body: the request body.
        headers: extra request headers (content type, accept, target model).
        key: a multi-model target (keeps each model on a stable instance).
        timeout: seconds to wait for the answer.
        spawn: starts a background task (the probe of a suspect instance).
        retry_wait_s: how long to wait for a healthy instance.

    Returns:
        ``(status, body, content type, model milliseconds)``; 503 when no instance came back
        in time, 504 when the worker did not answer in ``timeout``.
    """
    deadline = time.monotonic() + retry_wait_s
    while True:
        instance = variant.pick(key)
        if instance is None or instance.pool is None:
            if time.monotonic() > deadline or not variant.instances:
                return (
                    503,
                    error_body(
                        f"no healthy instance of variant {variant.name}",
                        "its workers are restarting or failed: see the endpoint's events",
                    ),
                    _JSON,
                    None,
                )
            await asyncio.sleep(0.01)
            continue
        instance.outstanding += 1
        try:
            response = await instance.pool.request(b"POST", b"/invocations", body, headers, timeout)
        except WorkerUnavailable:
            variant.metrics.retries += 1
            suspect(instance, spawn)
            continue
        except WorkerTimeout:
            return (
                504,
                error_body(
                    f"variant {variant.name} did not answer within {timeout:g} s",
                    "raise request_timeout_s or send fewer records per request",
                ),
                _JSON,
                None,
            )
        finally:
            instance.outstanding -= 1
        model = response.headers.get(b"x-model-latency-ms")
        return (
            response.status,
            response.body,
            response.headers.get(b"content-type", _JSON),
            float(model) if model else None,
        )


def suspect(instance: Instance, spawn: Spawn) -> None:
    """Take an instance out of rotation until it answers /ping again (or is restarted)."""
    if not instance.healthy:
        return
    instance.healthy = False

    async def probe() -> None:
        for _ in range(50):
            await asyncio.sleep(0.1)
            proc = instance.process
            if instance.stopping or proc is None or proc.ended:
                return  # dead: the variant's watcher restarts it
            if instance.pool is None:
                return
            try:
                if (await instance.pool.request(b"GET", b"/ping", b"", [], 1.0)).status == 200:
                    instance.healthy = True
                    return
            except (WorkerUnavailable, WorkerTimeout):
                continue

    spawn(probe())
