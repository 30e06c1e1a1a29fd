"""A model worker process: ``python -m sagebox.serving._worker.worker --spec SPEC.json``.

Started by the supervisor on an inherited socket (``--fd``, the local default), or on a
cluster node as ``worker --node-home --listen node:0 --spec-json JSON``: it then fetches its
models from the lake into a node-local temporary home (removed when it exits), binds a free
port on its node's address (``SAGEBOX_NODE_IP``, which the compute backend sets; else all
addresses) and prints ``sagebox-worker listening on HOST:PORT pid N`` once the model is
loaded, which the supervisor reads from the task's output.

It speaks SageMaker's container contract on HTTP: ``GET /ping`` (ready once the model is
loaded) and ``POST /invocations``, plus ``GET /stats``, ``GET /execution-parameters`` (what
batch transform asks) and ``POST /_fault`` (fault injection for drills). It runs on the lean
server of :mod:`sagebox.serving._http.server` and answers a plain model request inline, without a
task or a thread hop, because on a 2-core machine every layer on the request path shows up.

A bad request is a 4xx with ``{"error", "hint"}``; an exception in model code is a 500 with
its message. Neither ends the process. The spec (JSON) names the model directories or
built-in steps, the multi-model settings and the batching settings.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sys
import time
import traceback
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from sagebox.errors import (
    PayloadTooLargeError,
    SageboxError,
)
from sagebox.serving._http.errors import error_body, error_status
from sagebox.serving._http.server import Request, Response

__all__ = ["WorkerApp", "main"]

_JSON = b"application/json"


class WorkerApp:
    """The request handler of one worker.

    Example:
        >>> app = WorkerApp({"steps": [{"model_dir": "model"}]})
        >>> app.handle(Request("GET", "/ping", "", {}, b""))
        (200, [(b'content-type', b'application/json')], b'{"status":"Healthy"}')
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.max_payload = int(spec.get("max_payload_bytes", 6 * 1024 * 1024))
        self.invocations = 0
        self.errors = 0
        self.fault_rate = 0.0
        self.fault_until = 0.0
        self.cache = None
        self.batcher = None
        self.model: Any = None
        if spec.get("multi_model"):
            from sagebox.serving._worker.multimodel import ModelCache
            from sagebox.session import Session

            mm = spec["multi_model"]
            self.cache = ModelCache(
                Session(),
                mm["model_prefix"],
                Path(mm["cache_dir"]),
                int(float(mm.get("memory_budget_mb", 512)) * 2**20),
                mm.get("max_models"),
            )
        else:
            from sagebox.models import HookModel
            from sagebox.serving._worker.inference_pipeline import load_served_model

            batching = spec.get("batching")
            if not batching:
                self.model = load_served_model(spec)
            else:
                from sagebox.serving._worker.batching import Batcher, model_thread

                thread = model_thread()  # loads and predicts: one OpenMP team
                self.model = thread.submit(load_served_model, spec).result()
                if isinstance(self.model, HookModel):
                    self.batcher = Batcher(
                        self.model,
                        batching["max_batch_size"],
                        batching["max_delay_ms"],
                        batching.get("chunk_size"),
                        executor=thread,
                    )

    def handle(self, request: Request) -> Response | Awaitable[Response]:
        """Answer one request (a coroutine only where the model path needs to wait)."""
        path, method = request.path, request.method
        if path == "/invocations" and method == "POST":
            if self.cache is not None or self.batcher is not None:
                return self._invoke_async(request)
            return self._invoke(request)
        if path == "/ping":
            return _json(200, b'{"status":"Healthy"}')
        if path == "/stats":
            return _json(200, json.dumps(self.stats()).encode())
        if path == "/execution-parameters":
            params = {
                "MaxConcurrentTransforms": 1,
                "BatchStrategy": "MULTI_RECORD",
                "MaxPayloadInMB": max(1, self.max_payload // 2**20),
            }
            return _json(200, json.dumps(params).encode())
        if path == "/_fault" and method == "POST":
            return self._fault(request.body)
        return _json(404, error_body(f"no route {method} {path}"))

    def _fault(self, body: bytes) -> Response:
        if not self.spec.get("fault_injection"):
            return _json(
                403,
                error_body(
                    "fault injection is off on this worker",
                    "start `sagebox serve --enable-fault-injection` for tests and drills",
                ),
            )
        try:
            fault = json.loads(body or b"{}")
            rate, seconds = float(fault["error_rate"]), float(fault["seconds"])
        except (ValueError, KeyError, TypeError, RecursionError):
            return _json(400, error_body("a fault needs numeric error_rate and seconds"))
        self.fault_rate = rate
        self.fault_until = time.monotonic() + seconds
        return _json(200, b'{"status":"ok"}')

    def stats(self) -> dict[str, Any]:
        """Counters of this worker."""
        out: dict[str, Any] = {
            "pid": os.getpid(),
            "cpu_seconds": round(time.process_time(), 3),
            "invocations": self.invocations,
            "errors": self.errors,
        }
        if self.cache is not None:
            out["models"] = self.cache.stats()
        if self.batcher is not None:
            out["batching"] = self.batcher.stats()
        step_ms = getattr(self.model, "step_ms", None)
        if step_ms is not None:
            out["pipeline_step_ms"] = [round(x, 3) for x in step_ms]
        return out

    def _invoke(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            content_type, accept = self._begin(request)
            payload, kind = self.model.invoke(request.body, content_type, accept)
        except Exception as exc:  # noqa: BLE001 - mapped to 4xx/500 in _failed
            return self._failed(exc)
        return self._answer(payload, kind, started)

    async def _invoke_async(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            content_type, accept = self._begin(request)
            if self.cache is not None:
                target = request.headers.get(b"x-sagebox-target-model", b"")
                if not target:
                    raise SageboxError(
                        "a multi-model endpoint needs a target model",
                        hint="set the X-Sagebox-Target-Model header (--target-model)",
                    )
                model = await self.cache.get(target.decode("utf-8", "replace"))
                payload, kind = await self.cache.invoke(model, request.body, content_type, accept)
            else:
                assert self.batcher is not None
                data = self.model.decode(request.body, content_type)
                payload, kind = self.model.encode(await self.batcher.predict(data), accept)
        except Exception as exc:  # noqa: BLE001 - mapped to 4xx/500 in _failed
            return self._failed(exc)
        return self._answer(payload, kind, started)

    def _begin(self, request: Request) -> tuple[str, str]:
        self.invocations += 1
        if len(request.body) > self.max_payload:
            raise PayloadTooLargeError(
                f"the request body is over {self.max_payload} bytes",
                hint="split it into smaller requests",
            )
        faulty = self.fault_until and time.monotonic() < self.fault_until
        if faulty and random.random() < self.fault_rate:
            raise RuntimeError("injected fault")
        headers = request.headers
        return (
            headers.get(b"content-type", _JSON).decode("latin-1"),
            headers.get(b"accept", _JSON).decode("latin-1"),
        )

    def _answer(self, payload: bytes, kind: str, started: float) -> Response:
        model_ms = (time.perf_counter() - started) * 1000
        return (
            200,
            [
                (b"content-type", kind.encode("latin-1")),
                (b"x-model-latency-ms", b"%.3f" % model_ms),
            ],
            payload,
        )

    def _failed(self, exc: Exception) -> Response:
        self.errors += 1
        if isinstance(exc, SageboxError):
            return _json(error_status(exc), error_body(exc.message, exc.hint))
        traceback.print_exc()
        return _json(500, error_body(f"model error: {type(exc).__name__}: {exc}"))


def _json(status: int, body: bytes) -> Response:
    return status, [(b"content-type", _JSON)], body


def die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when its parent (the supervisor) dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


async def serve(app: WorkerApp, sock: socket.socket) -> None:
    """Serve ``app`` on an already bound socket until SIGTERM or SIGINT."""
    import asyncio

    from sagebox.serving._http.server import start_server

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await start_server(app.handle, sock=sock, max_body=app.max_payload + 2**20)
    await stop.wait()
    server.close()


def main(argv: list[str] | None = None) -> int:
    """Load the model; serve it on the inherited socket ``--fd``, ``--listen`` or ``--port``."""
    parser = argparse.ArgumentParser(description="sagebox model worker")
    spec_source = parser.add_mutually_exclusive_group(required=True)
    spec_source.add_argument("--spec", type=Path)
    spec_source.add_argument("--spec-json", help="the spec itself (a worker on a cluster node)")
    parser.add_argument("--fd", type=int)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--listen", metavar="HOST:PORT", help="bind here and announce it ('node' = this node)"
    )
    parser.add_argument(
        "--node-home", action="store_true", help="work in a node-local temporary SAGEBOX_HOME"
    )
    args = parser.parse_args(argv)
    die_with_parent()
    if args.spec_json is not None:
        spec = json.loads(args.spec_json)
    else:
        spec = json.loads(args.spec.read_text(encoding="utf-8"))
    if not args.node_home:
        return _serve(spec, args)
    from sagebox.jobs.cluster import node_home

    with node_home("sagebox-worker-") as home:
        _localise(spec, home)
        return _serve(spec, args)


def _localise(spec: dict[str, Any], home: Path) -> None:
    """Fetch the spec's models from the lake into ``home`` (a worker on a cluster node)."""
    steps = spec.get("steps") or []
    if any("model" in step and "model_dir" not in step for step in steps):
        from sagebox.models import fetch_verified
        from sagebox.session import Session

        session = Session()
        for number, step in enumerate(steps):
            if "model" in step and "model_dir" not in step:
                target = home / "models" / f"{number}-{step['model']}"
                step["model_dir"] = str(fetch_verified(session, step["model"], target))
    multi_model = spec.get("multi_model")
    if multi_model and not multi_model.get("cache_dir"):
        multi_model["cache_dir"] = str(home / "mme")


def _serve(spec: dict[str, Any], args: argparse.Namespace) -> int:
    from sagebox.serving._http.server import run

    app = WorkerApp(spec)
    if args.fd is not None:
        sock = socket.socket(fileno=args.fd)
    else:
        host, port = args.host, args.port
        if args.listen is not None:
            host, _, given = args.listen.rpartition(":")
            port = int(given or 0)
            if host == "node":
                host = os.environ.get("SAGEBOX_NODE_IP") or "0.0.0.0"  # noqa: S104
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(4096)
        shown = host if host != "0.0.0.0" else socket.gethostbyname(socket.gethostname())  # noqa: S104
        print(
            f"sagebox-worker listening on {shown}:{sock.getsockname()[1]} pid {os.getpid()}",
            flush=True,
        )
    run(lambda: serve(app, sock))
    return 0


if __name__ == "__main__":
    sys.exit(main())
