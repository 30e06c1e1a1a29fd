"""Batch transform on a cluster's worker pool: what each pool worker runs.

Each pool worker (a Ray actor on a cluster) builds a :class:`WorkerApp` once, from the model
package it fetches and verifies itself (:func:`~sagebox.models.fetch_verified`), and answers
request payloads with it: the same code that answers ``POST /invocations`` in a local worker
process, without the HTTP hop, so the answers are the same bytes.

A payload is ``content type + "\\n" + request body``; an answer is the HTTP status as three
digits followed by the response body.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sagebox.config import Settings

__all__ = ["WorkerFactory", "decode_answer", "encode_request"]

_ACCEPT = b"application/jsonlines"


def encode_request(content_type: str, body: bytes) -> bytes:
    """The payload of one request."""
    return content_type.encode("latin-1") + b"\n" + body


def decode_answer(answer: bytes) -> tuple[int, bytes]:
    """``(HTTP status, response body)`` of one answer."""
    return int(answer[:3]), answer[3:]


class WorkerFactory:
    """Builds a pool worker's predictor: fetch, verify and load the model package once.

    Args:
        settings: the job runner's settings (the lake and metadata store to fetch from).
        model: the registered model's name.
        max_payload_bytes: the largest request body a worker accepts.
    """

    def __init__(self, settings: Settings, model: str, max_payload_bytes: int) -> None:
        self.settings = settings
        self.model = model
        self.max_payload_bytes = max_payload_bytes

    def __call__(self) -> Callable[[bytes], bytes]:
        from sagebox.models import fetch_verified
        from sagebox.serving._worker.worker import WorkerApp
        from sagebox.session import Session

        workdir = Path(tempfile.mkdtemp(prefix="sagebox-transform-"))
        atexit.register(shutil.rmtree, workdir, True)
        model_dir = fetch_verified(Session(self.settings), self.model, workdir / "model")
        spec = {
            "steps": [{"model_dir": str(model_dir), "name": self.model}],
            "max_payload_bytes": self.max_payload_bytes,
        }
        return _Predictor(WorkerApp(spec))


class _Predictor:
    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, payload: bytes) -> bytes:
        from sagebox.serving._http.server import Request

        content_type, _, body = payload.partition(b"\n")
        headers = {b"content-type": content_type, b"accept": _ACCEPT}
        status, _, answer = self.app.handle(Request("POST", "/invocations", "", headers, body))
        return b"%03d" % status + answer
