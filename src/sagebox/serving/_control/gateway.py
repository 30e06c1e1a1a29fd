"""The gateway: one HTTP front for every endpoint of a ``sagebox serve`` process.

Data plane (on the lean server of :mod:`sagebox.serving._http.server`: it is on every
request's path):

- ``POST /endpoints/{name}/invocations``: headers ``Content-Type``, ``Accept``,
  ``X-Sagebox-Target-Variant``, ``X-Sagebox-Target-Fleet`` (``green`` reaches the new fleet
  of a blue/green update on its own), ``X-Sagebox-Target-Model`` (multi-model) and
  ``X-Sagebox-Inference-Id`` (else one is made); the answer carries ``X-Sagebox-Variant``,
  ``X-Sagebox-Inference-Id`` and ``X-Sagebox-Model-Latency-Ms``. ``POST /invocations`` serves
  the only endpoint when there is exactly one.
- ``GET /ping``.

Control plane (the FastAPI app of :mod:`sagebox.serving._control.api`, called in-process for
every other path): ``GET /endpoints[/{name}]``, ``GET /metrics`` (Prometheus text), ``GET
/endpoints/{name}/metrics`` (JSON), ``POST /endpoints/{name}/rewards`` (bandit), and the admin
API under ``/_admin/`` (token required; OpenAPI at ``/_admin/openapi.json``) that
:class:`~sagebox.serving._client.endpoints.EndpointClient` uses.

Errors are JSON ``{"error", "hint"}`` with a 4xx for the caller's mistakes (404 unknown
endpoint, 400 unknown variant or bad body, 413 too large, 415 content type) and 502/503/504
when no worker could answer.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from sagebox.errors import SageboxError
from sagebox.serving._control.api import call_asgi, create_control_app
from sagebox.serving._control.dispatch import forward
from sagebox.serving._control.instances import VariantRuntime
from sagebox.serving._control.runtime import EndpointRuntime
from sagebox.serving._http.errors import error_body, error_status
from sagebox.serving._http.server import Request, Response

if TYPE_CHECKING:
    from sagebox.serving._control.supervisor import Supervisor

__all__ = ["Gateway"]

_JSON = b"application/json"


class Gateway:
    """The request handler of ``sagebox serve``.

    Example:
        >>> gateway = Gateway(supervisor, admin_token(home))
        >>> server = await start_server(gateway.handle, port=8080)
    """

    def __init__(self, supervisor: Supervisor, token: str, fault_injection: bool = False) -> None:
        self.supervisor = supervisor
        self.control_app = create_control_app(supervisor, token, fault_injection)
        self._ids = itertools.count(1)
        self._id_prefix = f"{os.getpid():x}-{int(time.time()):x}"
        self._tasks: set[asyncio.Task[Any]] = set()

    def handle(self, request: Request) -> Response | Awaitable[Response]:
        """Route one request (invocations and admin calls are coroutines)."""
        path, method = request.path, request.method
        try:
            if method == "POST" and path.endswith("/invocations"):
                parts = path.split("/")
                if len(parts) == 4 and parts[1] == "endpoints":
                    return self.invoke(parts[2], request)
                if path == "/invocations":
                    return self.invoke(self.supervisor.only_endpoint(), request)
            if path == "/ping":
                return _json(200, json.dumps(self.supervisor.ping()).encode())
            return self._control(request)
        except SageboxError as exc:
            return _error(exc)

    # data plane
    async def invoke(self, name: str, request: Request) -> Response:
        """Answer one invocation of endpoint ``name``."""
        started = time.perf_counter()
        try:
            runtime = self.supervisor.serving(name)
            body, headers = request.body, request.headers
            limit = runtime.config.max_payload_bytes
            if len(body) > limit:
                return _json(
                    413,
                    error_body(
                        f"the request body is over the endpoint's limit of {limit} bytes",
                        "split it into smaller requests (batch transform handles big files)",
                    ),
                )
            if not body.strip():
                return _json(
                    400, error_body("the request body is empty", "send at least one review")
                )
            target = headers.get(b"x-sagebox-target-variant")
            fleet = headers.get(b"x-sagebox-target-fleet")
            variant = runtime.choose(
                target.decode("utf-8", "replace") if target else None,
                fleet.decode("utf-8", "replace") if fleet else None,
            )
        except SageboxError as exc:
            return _error(exc)
        content_type = headers.get(b"content-type", _JSON)
        outgoing = [(b"content-type", content_type), (b"accept", headers.get(b"accept", _JSON))]
        target_model = headers.get(b"x-sagebox-target-model")
        if target_model:
            outgoing.append((b"x-sagebox-target-model", target_model))
        inference_id = headers.get(b"x-sagebox-inference-id")
        if inference_id is None:
            inference_id = f"{self._id_prefix}-{next(self._ids)}".encode()
        key = (
            target_model.decode("utf-8", "replace")
            if target_model and variant.multi_model
            else None
        )
        status, answer, answer_type, model_ms = await forward(
            variant, body, outgoing, key, runtime.config.request_timeout_s, self._spawn
        )
        variant.metrics.record(status, (time.perf_counter() - started) * 1000, model_ms)
        if status < 400:
            if runtime.bandit is not None and variant.name in runtime.variants:
                runtime.bandit.assign(inference_id.decode("latin-1"), variant.name)
            if runtime.shadows:
                self._mirror(runtime, body, outgoing, answer, inference_id)
        capture = runtime.capture
        if capture is not None and capture.sampled():
            capture.add(
                variant.name,
                inference_id.decode("latin-1"),
                body,
                content_type.decode("latin-1"),
                answer,
                answer_type.decode("latin-1"),
                role=variant.role,
            )
        return (
            status,
            [
                (b"content-type", answer_type),
                (b"x-sagebox-variant", variant.name.encode()),
                (b"x-sagebox-inference-id", inference_id),
                (b"x-sagebox-model-latency-ms", b"%.3f" % (model_ms or 0.0)),
            ],
            answer,
        )

    async def forward(
        self,
        variant: VariantRuntime,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
        key: str | None,
        timeout: float,
    ) -> tuple[int, bytes, bytes, float | None]:
        """Send a request to the variant (see :func:`.dispatch.forward`)."""
        return await forward(variant, body, headers, key, timeout, self._spawn)

    def _mirror(
        self,
        runtime: EndpointRuntime,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
        production_answer: bytes,
        inference_id: bytes,
    ) -> None:
        for shadow in runtime.shadows.values():
            share = getattr(shadow.config, "sampling_percentage", 100.0)
            comparison = shadow.comparison
            if comparison is None or runtime._random() * 100 >= share or not comparison.admit():
                continue
            self._spawn(
                self._shadow_call(runtime, shadow, body, headers, production_answer, inference_id)
            )

    async def _shadow_call(
        self,
        runtime: EndpointRuntime,
        shadow: VariantRuntime,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
        production_answer: bytes,
        inference_id: bytes,
    ) -> None:
        assert shadow.comparison is not None
        started = time.perf_counter()
        try:
            status, answer, kind, model_ms = await forward(
                shadow, body, headers, None, runtime.config.request_timeout_s, self._spawn
            )
            shadow.metrics.record(status, (time.perf_counter() - started) * 1000, model_ms)
            shadow.comparison.record(production_answer, status, answer)
            capture = runtime.capture
            if capture is not None and capture.sampled():
                content_type = dict(headers).get(b"content-type", _JSON)
                capture.add(
                    shadow.name,
                    inference_id.decode("latin-1"),
                    body,
                    content_type.decode("latin-1"),
                    answer,
                    kind.decode("latin-1"),
                    role="shadow",
                )
        finally:
            shadow.comparison.done()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # control plane
    def _control(self, request: Request) -> Awaitable[Response]:
        return call_asgi(self.control_app, request)


def _json(status: int, body: bytes) -> Response:
    return status, [(b"content-type", _JSON)], body


def _error(exc: SageboxError) -> Response:
    return _json(error_status(exc), error_body(exc.message, exc.hint))
