"""Multi-model endpoints: many model packages behind one variant, loaded on first request.

A request names its model in ``X-Sagebox-Target-Model``: a key relative to the variant's
``model_prefix`` in the lake (``reviews-v2.tar.gz``) or the name of a registered model. The
first request for a model downloads and unpacks it and runs ``model_fn``; later ones hit the
cache. When the loaded models would exceed the memory budget (or ``max_models``), the least
recently used ones are unloaded first. A model's footprint is estimated by its unpacked size on
disk, which for scikit-learn models (skops arrays, JSON vocabularies) is close to its size in
memory. An archive under the prefix loads only once its SHA-256 is recorded (registered with
``sagebox models create``) and matches (see docs/security.md).

Downloads run on worker threads; every ``model_fn`` and every prediction runs on one model
thread of the cache (:func:`~sagebox.serving._worker.batching.model_thread`), so that torch models
share one OpenMP team and the event loop never waits on a model.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sagebox.backends.metadata.base import ModelRecord
from sagebox.errors import InputDataError, NotFoundError
from sagebox.models import HookModel
from sagebox.serving._worker.batching import model_thread

__all__ = ["ModelCache"]


class ModelCache:
    """LRU cache of loaded models under a memory budget.

    Example:
        >>> cache = ModelCache(session, "models/mme", Path("/tmp/mme"), budget_bytes=256 << 20)
        >>> model = await cache.get("reviews-v2.tar.gz")
        >>> body, kind = await cache.invoke(model, b'["love it"]', "application/json", "*/*")
    """

    def __init__(
        self,
        session: Any,
        model_prefix: str,
        cache_dir: Path,
        budget_bytes: int,
        max_models: int | None = None,
    ) -> None:
        self.session = session
        self.prefix = session.key_for(model_prefix).rstrip("/")
        self.cache_dir = cache_dir
        self.budget_bytes = budget_bytes
        self.max_models = max_models
        self._models: OrderedDict[str, tuple[HookModel, int]] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._mutex = threading.Lock()
        self._thread = model_thread()
        self.loads = self.hits = self.evictions = 0

    @property
    def used_bytes(self) -> int:
        """Estimated memory of the loaded models."""
        return sum(size for _, size in self._models.values())

    async def get(self, target: str) -> HookModel:
        """The loaded model ``target``, loading (and evicting others) if needed.

        Raises:
            InputDataError: if ``target`` is not a plain relative name, or cannot fit.
            NotFoundError: if no such model exists under the prefix or in the registry.
        """
        entry = self._models.get(target)
        if entry is not None:
            self._models.move_to_end(target)
            self.hits += 1
            return entry[0]
        lock = self._locks.setdefault(target, asyncio.Lock())
        async with lock:
            entry = self._models.get(target)
            if entry is not None:
                self.hits += 1
                return entry[0]
            model_dir, size = await asyncio.to_thread(self._fetch, target)
            loop = asyncio.get_running_loop()
            model = await loop.run_in_executor(self._thread, HookModel.from_dir, model_dir, target)
            self._make_room(size, target)
            self._models[target] = (model, size)
            self.loads += 1
            return model

    async def invoke(
        self, model: HookModel, body: bytes, content_type: str, accept: str
    ) -> tuple[bytes, str]:
        """``model.invoke`` on the cache's model thread (where its ``model_fn`` ran)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, model.invoke, body, content_type, accept)

    def stats(self) -> dict[str, Any]:
        """Loaded models (least recently used first), counters and memory use."""
        return {
            "loaded": list(self._models),
            "loads": self.loads,
            "hits": self.hits,
            "evictions": self.evictions,
            "memory_mb": round(self.used_bytes / 2**20, 3),
            "budget_mb": round(self.budget_bytes / 2**20, 3),
        }

    def _make_room(self, size: int, target: str) -> None:
        if size > self.budget_bytes:
            raise InputDataError(
                f"model {target} needs about {size / 2**20:.1f} MB, more than the endpoint's "
                f"memory budget of {self.budget_bytes / 2**20:.1f} MB",
                hint="raise multi_model.memory_budget_mb",
            )
        while self._models and (
            self.used_bytes + size > self.budget_bytes
            or (self.max_models is not None and len(self._models) >= self.max_models)
        ):
            name, _ = self._models.popitem(last=False)
            self.evictions += 1
            shutil.rmtree(self._dir_for(name), ignore_errors=True)

    def _fetch(self, target: str) -> tuple[Path, int]:
        """Download, verify and unpack ``target``; its directory and size on disk.

        An archive under the prefix loads only if its SHA-256 is recorded (registered with
        ``sagebox models create``, or written by a job) and matches.
        """
        from sagebox.models import fetch_verified, fetch_verified_uri

        source = self._resolve(target)
        workdir = self._dir_for(target)
        with self._mutex:  # one download at a time keeps peak disk use bounded
            if isinstance(source, str):
                model_dir = fetch_verified_uri(self.session, source, workdir)
            else:
                model_dir = fetch_verified(self.session, source, workdir)
        size = sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file())
        return model_dir, size

    def _resolve(self, target: str) -> str | ModelRecord:
        parts = Path(target).parts
        if not target or target.startswith("/") or ".." in parts or "://" in target:
            raise InputDataError(
                f"invalid target model {target!r}",
                hint="give a key relative to the endpoint's model prefix, e.g. reviews-v2.tar.gz",
            )
        key = f"{self.prefix}/{target}"
        if self.session.storage.exists(key):
            return key
        try:
            record = self.session.metadata.get_model(target)
        except NotFoundError:
            raise NotFoundError(
                f"target model {target!r} is neither under {self.prefix}/ nor registered",
                hint="upload the model.tar.gz under the prefix or register it",
            ) from None
        return record

    def _dir_for(self, target: str) -> Path:
        return self.cache_dir / hashlib.sha256(target.encode()).hexdigest()[:16]
