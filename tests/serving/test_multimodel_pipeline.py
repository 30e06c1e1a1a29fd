"""Multi-model endpoints (lazy loading, LRU under a budget) and inference pipelines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sagebox.errors import InputDataError, NotFoundError
from sagebox.serving import EndpointClient
from sagebox.session import Session
from tests.conftest import free_port


@pytest.fixture(scope="module")
def served(serving_session: Session) -> Iterator[EndpointClient]:
    client = EndpointClient(serving_session)
    port = free_port()
    client.create(
        "many",
        port=port,
        config={
            "variants": [
                {
                    "name": "mme",
                    "multi_model": {
                        "model_prefix": "models/mme/",
                        "memory_budget_mb": 64,
                        "max_models": 2,
                    },
                }
            ]
        },
    )
    client.create(
        "chain",
        port=port,
        config={
            "variants": [
                {
                    "name": "p",
                    "pipeline": [
                        {"builtin": "normalize-text"},
                        {"model": "tiny-v1"},
                        {"builtin": "label-names"},
                    ],
                }
            ]
        },
    )
    yield client


def test_models_load_on_first_request_and_lru_unloads(served: EndpointClient) -> None:
    client = served
    first = client.invoke("many", ["love it"], target_model="tiny-v1.tar.gz")
    assert first["predictions"][0]["label"] == 1
    second = client.invoke("many", ["awful, ripped"], target_model="tiny-v2.tar.gz")
    assert second["predictions"][0]["label"] == -1
    by_name = client.invoke("many", ["love it"], target_model="tiny-v2")  # a registered name
    assert by_name["predictions"][0]["label"] == 1
    again = client.invoke("many", ["love it"], target_model="tiny-v2")
    assert again == by_name
    import httpx

    worker_port = client.status("many")["variants"]["mme"]["instances"][0]["port"]
    stats = httpx.get(f"http://127.0.0.1:{worker_port}/stats").json()["models"]
    assert stats["loads"] == 3 and stats["hits"] == 1
    assert stats["evictions"] == 1 and stats["loaded"] == ["tiny-v2.tar.gz", "tiny-v2"]
    assert 0 < stats["memory_mb"] <= stats["budget_mb"]


def test_memory_budget_evicts_least_recently_used(serving_session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from sagebox.serving._worker.multimodel import ModelCache

    probe = ModelCache(serving_session, "models/mme/", tmp_path / "probe", budget_bytes=2**30)
    asyncio.run(probe.get("tiny-v1.tar.gz"))
    size = probe.used_bytes
    asyncio.run(probe.get("tiny-v2.tar.gz"))
    both = probe.used_bytes
    cache = ModelCache(serving_session, "models/mme/", tmp_path / "c", budget_bytes=both - 1)

    async def scenario() -> None:
        await cache.get("tiny-v1.tar.gz")
        await cache.get("tiny-v1.tar.gz")
        await cache.get("tiny-v2.tar.gz")  # does not fit next to v1: v1 goes

    asyncio.run(scenario())
    assert cache.stats()["loaded"] == ["tiny-v2.tar.gz"] and cache.evictions == 1
    tight = ModelCache(serving_session, "models/mme/", tmp_path / "t", budget_bytes=size // 2)
    with pytest.raises(InputDataError, match="memory budget"):
        asyncio.run(tight.get("tiny-v1.tar.gz"))


def test_models_load_and_predict_on_one_thread_of_the_cache(
    serving_session: Session, tmp_path: Path
) -> None:
    # torch gives each calling thread its own OpenMP team; more teams slow every prediction
    import asyncio
    import json
    import tarfile
    import threading

    from sagebox.models import build_manifest, pack_model_dir
    from sagebox.serving._worker.multimodel import ModelCache

    model = tmp_path / "model"
    model.mkdir()
    pack_model_dir(model, build_manifest("linear-text", [-1, 0, 1], {}, extra={}), tmp_path / "t")
    (model / "code" / "inference.py").write_text(  # hooks that tell where they ran
        "import threading\n"
        "def model_fn(model_dir):\n"
        "    return threading.get_ident()\n"
        "def predict_fn(data, model):\n"
        "    return [[model, threading.get_ident()] for _ in data]\n"
    )
    archive = tmp_path / "threads.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for item in model.iterdir():
            tar.add(item, arcname=item.name)
    serving_session.storage.upload(archive, "models/mme-threads/threads.tar.gz")
    from sagebox.models import ModelClient

    ModelClient(serving_session).create("threads", artifact_uri="models/mme-threads/threads.tar.gz")
    cache = ModelCache(serving_session, "models/mme-threads/", tmp_path / "c", budget_bytes=2**30)

    async def scenario() -> list[list[int]]:
        loaded = await cache.get("threads.tar.gz")
        body, _ = await cache.invoke(loaded, b'["a", "b"]', "application/json", "application/json")
        return list(json.loads(body)["predictions"])

    answers = asyncio.run(scenario())
    assert len(answers) == 2
    loaded_on, predicted_on = answers[0]
    assert loaded_on == predicted_on != threading.get_ident()


def test_multi_model_errors(served: EndpointClient) -> None:
    with pytest.raises(InputDataError, match="needs a target model"):
        served.invoke("many", ["love it"])
    with pytest.raises(NotFoundError, match="neither under"):
        served.invoke("many", ["love it"], target_model="missing.tar.gz")
    with pytest.raises(InputDataError, match="invalid target model"):
        served.invoke("many", ["love it"], target_model="../secrets.tar.gz")


def test_pipeline_chains_steps(served: EndpointClient) -> None:
    out = served.invoke("chain", ["<p>Love   it,&nbsp;<b>perfect</b> fit!</p>", "awful, ripped"])
    assert [p["sentiment"] for p in out["predictions"]] == ["positive", "negative"]
    assert set(out["predictions"][0]) == {"sentiment", "label", "confidence"}
    lines = served.invoke(
        "chain",
        '{"review_body": "great fabric, love"}\n',
        content_type="application/jsonlines",
        accept="application/jsonlines",
    )
    assert '"sentiment": "positive"' in lines
    with pytest.raises(InputDataError, match="must be a string"):
        served.invoke("chain", [3])
