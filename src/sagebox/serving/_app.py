"""A FastAPI app serving one unpacked model: ``GET /ping`` and ``POST /invocations``.

Handy for notebooks and tests (``fastapi.testclient.TestClient(create_app(model_dir))``);
endpoints run the leaner :mod:`sagebox.serving._worker.worker` instead.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from sagebox.errors import SageboxError
from sagebox.models import load_handler

__all__ = ["create_app"]


def create_app(model_dir: Path, endpoint_name: str = "local") -> FastAPI:
    """Build the endpoint app serving the unpacked model in ``model_dir``.

    Example:
        >>> from fastapi.testclient import TestClient
        >>> client = TestClient(create_app(Path("model")))
        >>> client.post("/invocations", json=["love it"]).json()["predictions"][0]["label"]
        1
    """
    hooks = load_handler(model_dir)
    model = hooks.model_fn(model_dir)
    app = FastAPI(title=f"sagebox endpoint {endpoint_name}")
    stats: dict[str, Any] = {"invocations": 0, "errors": 0}

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"status": "Healthy", "endpoint": endpoint_name}

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        started = time.perf_counter()
        stats["invocations"] += 1
        body = await request.body()
        try:
            data = hooks.input_fn(body, request.headers.get("content-type", "application/json"))
            predictions = hooks.predict_fn(data, model)
            payload, content_type = hooks.output_fn(
                predictions, request.headers.get("accept", "application/json")
            )
        except SageboxError as exc:
            stats["errors"] += 1
            return JSONResponse({"error": exc.message, "hint": exc.hint}, status_code=400)
        elapsed_ms = (time.perf_counter() - started) * 1000
        return Response(
            payload,
            media_type=content_type,
            headers={"X-Sagebox-Model-Latency-Ms": f"{elapsed_ms:.3f}"},
        )

    @app.get("/metrics")
    def metrics() -> dict[str, Any]:
        return dict(stats)

    return app
