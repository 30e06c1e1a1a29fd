"""Data capture: a sample of requests and responses, as JSON lines in the lake.

One JSON object per captured inference, in SageMaker's capture layout (so monitoring code
written for it reads ours)::

    {"captureData": {"endpointInput": {"observedContentType": "application/json",
                                       "mode": "INPUT", "data": "[\\"love it\\"]",
                                       "encoding": "JSON"},
                     "endpointOutput": {...  "mode": "OUTPUT" ...}},
     "eventMetadata": {"eventId": "...", "inferenceId": "...",
                       "inferenceTime": "2026-11-27T18:00:00.123Z"},
     "eventVersion": "0", "variant": "v1", "role": "production"}

Records are buffered and written every ``flush_seconds`` (or ``flush_records``) as one new
object per variant under ``{destination}/{endpoint}/{variant}/YYYY/MM/DD/HH/``, so nothing is
ever appended in place (object stores cannot) and a crash loses at most one buffer.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from sagebox.serving.config import DataCaptureConfig

__all__ = ["CaptureWriter", "encode_payload"]


def encode_payload(body: bytes, content_type: str) -> tuple[str, str]:
    """``(data, encoding)`` of a body for a capture record."""
    kind = content_type.split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "BASE64"
    if "json" in kind:
        return text, "JSON"
    if kind == "text/csv":
        return text, "CSV"
    return text, "TEXT"


class CaptureWriter:
    """Buffers capture records of one endpoint and writes them to the lake.

    Example:
        >>> writer = CaptureWriter(session.storage, "reviews", DataCaptureConfig(), "datacapture")
        >>> if writer.sampled():
        ...     writer.add("v1", "id-1", b'["ok"]', "application/json", b"{}", "application/json")
        >>> await writer.flush()
    """

    def __init__(
        self,
        storage: Any,
        endpoint: str,
        config: DataCaptureConfig,
        prefix: str,
        rng: random.Random | None = None,
    ) -> None:
        self.storage = storage
        self.endpoint = endpoint
        self.config = config
        self.prefix = prefix.rstrip("/")
        self._random = (rng or random.Random()).random
        self._buffer: dict[str, list[str]] = {}
        self._buffered = 0
        self.captured = 0
        self.files: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def sampled(self) -> bool:
        """Whether to capture the next request (by the sampling percentage)."""
        return self.config.enabled and self._random() * 100 < self.config.sampling_percentage

    def add(
        self,
        variant: str,
        inference_id: str,
        request: bytes,
        request_type: str,
        response: bytes | None,
        response_type: str,
        role: str = "production",
    ) -> None:
        """Buffer one record (flushed when the buffer is full or on the next tick)."""
        capture: dict[str, Any] = {}
        if self.config.capture_input:
            data, encoding = encode_payload(request, request_type)
            capture["endpointInput"] = {
                "observedContentType": request_type,
                "mode": "INPUT",
                "data": data,
                "encoding": encoding,
            }
        if self.config.capture_output and response is not None:
            data, encoding = encode_payload(response, response_type)
            capture["endpointOutput"] = {
                "observedContentType": response_type,
                "mode": "OUTPUT",
                "data": data,
                "encoding": encoding,
            }
        record = {
            "captureData": capture,
            "eventMetadata": {
                "eventId": str(uuid.uuid4()),
                "inferenceId": inference_id,
                "inferenceTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            },
            "eventVersion": "0",
            "variant": variant,
            "role": role,
        }
        self._buffer.setdefault(variant, []).append(json.dumps(record))
        self._buffered += 1
        self.captured += 1
        if self._buffered >= self.config.flush_records:
            self._spawn_flush()

    def start(self) -> None:
        """Start the periodic flush (inside a running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._tick())

    async def close(self) -> None:
        """Stop the periodic flush and write what is buffered."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        await self.flush()

    async def flush(self) -> None:
        """Write every buffered record now (one object per variant)."""
        buffer, self._buffer, self._buffered = self._buffer, {}, 0
        for variant, lines in buffer.items():
            now = datetime.now(UTC)
            key = (
                f"{self.prefix}/{self.endpoint}/{variant}/{now:%Y/%m/%d/%H}/"
                f"{now:%M-%S}-{now.microsecond // 1000:03d}-{secrets.token_hex(4)}.jsonl"
            )
            data = ("\n".join(lines) + "\n").encode("utf-8")
            await asyncio.to_thread(self.storage.write_bytes, key, data)
            self.files.append(key)

    def stats(self) -> dict[str, Any]:
        """How much was captured and where."""
        return {
            "captured": self.captured,
            "files": len(self.files),
            "sampling_percentage": self.config.sampling_percentage,
            "destination": f"{self.prefix}/{self.endpoint}/",
        }

    def _spawn_flush(self) -> None:
        with contextlib.suppress(RuntimeError):  # no loop: the next flush() writes it
            asyncio.get_running_loop().create_task(self.flush())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.config.flush_seconds)
            if self._buffered:
                try:
                    await self.flush()
                except Exception as exc:  # noqa: BLE001 - a lake hiccup must not stop serving
                    print(f"data capture flush failed: {exc}", flush=True)
