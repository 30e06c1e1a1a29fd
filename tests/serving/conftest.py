"""Fixtures for serving tests: isolated homes with tiny registered models, bounded load."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sagebox.session import Session
from tests.fixtures.tiny_reviews import LABELS, TEXTS

MODEL_PARAMS = {
    "tiny-v1": {"min_df": 1},
    "tiny-v2": {"min_df": 1, "C": 0.5, "char_ngrams": False},
}


def package_tiny_model(workdir: Path, **params: Any) -> Path:
    """Fit the tiny corpus and write a model.tar.gz; return its path."""
    from sagebox.algorithms.linear_text import LinearTextClassifier
    from sagebox.models import build_manifest, pack_model_dir

    clf = LinearTextClassifier(**params).fit(TEXTS, LABELS)
    clf.save(workdir / "model")
    manifest = build_manifest(
        "linear-text", [-1, 0, 1], {-1: "negative", 0: "neutral", 1: "positive"}, extra={}
    )
    return pack_model_dir(workdir / "model", manifest, workdir / "model.tar.gz")


def register_tiny_models(session: Session, workdir: Path) -> None:
    """Register tiny-v1 and tiny-v2, and both again under models/mme/ for multi-model tests."""
    from sagebox.models import ModelClient

    for name, params in MODEL_PARAMS.items():
        archive = package_tiny_model(workdir / name, **params)
        session.storage.upload(archive, f"models/{name}/model.tar.gz")
        session.storage.upload(archive, f"models/mme/{name}.tar.gz")
        ModelClient(session).create(
            name, artifact_uri=session.storage.url(f"models/{name}/model.tar.gz")
        )
        # an archive under a multi-model prefix loads only once its SHA-256 is recorded
        ModelClient(session).create(f"mme-{name}", artifact_uri=f"models/mme/{name}.tar.gz")


@pytest.fixture(scope="module")
def serving_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """A home shared by one test module, with tiny-v1/v2 registered; endpoints deleted after."""
    from sagebox.serving import EndpointClient

    root = tmp_path_factory.mktemp("serving")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("SAGEBOX_") and key != "SAGEBOX_REQUIRE_SERVICES":
                mp.delenv(key)
        mp.setenv("SAGEBOX_HOME", str(root / "sbhome"))
        mp.chdir(root)
        session = Session()
        register_tiny_models(session, root / "models")
        yield session
        client = EndpointClient(session)
        for endpoint in session.metadata.list_endpoints():
            with contextlib.suppress(Exception):  # best effort; the next lines are the guard
                client.delete(endpoint.name)
            if endpoint.handle:
                session.compute.stop(endpoint.handle, grace_seconds=5)


def poll(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Return the first truthy ``condition()`` within ``timeout`` seconds, else fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)


def load(
    url: str,
    requests: int,
    concurrency: int,
    body: bytes = b'["love it, perfect fit"]',
    headers: dict[str, str] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[tuple[int, str]]:
    """Send a bounded number of POSTs with ``concurrency`` clients; return (status, variant)."""
    import httpx

    async def run() -> list[tuple[int, str]]:
        results: list[tuple[int, str]] = []
        sent = 0
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:

            async def worker() -> None:
                nonlocal sent
                while sent < requests:
                    sent += 1
                    try:
                        r = await client.post(
                            url,
                            content=body,
                            headers={"Content-Type": "application/json", **(headers or {})},
                        )
                        results.append((r.status_code, r.headers.get("x-sagebox-variant", "")))
                    except httpx.HTTPError as exc:
                        results.append((0, type(exc).__name__))
                    if on_progress is not None:
                        on_progress(len(results))

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return results

    return asyncio.run(run())
