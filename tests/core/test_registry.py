from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sagebox._registry import BackendURI, Registry, parse_uri
from sagebox.backends.compute import open_compute
from sagebox.backends.kv import ONLINE_STORES, open_online_store
from sagebox.backends.metadata import (
    QUERY_HISTORIES,
    open_catalog_store,
    open_feature_group_store,
    open_metadata_store,
    open_query_history,
)
from sagebox.backends.storage import open_store
from sagebox.errors import ConfigError
from sagebox.testing.catalog import OpenQueryHistory, QueryHistorySuite


def test_lazy_import_and_unknown_name() -> None:
    reg: Registry[object] = Registry("thing")
    reg.register("od", "collections:OrderedDict")
    from collections import OrderedDict

    assert reg.get("od") is OrderedDict
    with pytest.raises(ConfigError, match="unknown thing 'nope'.*") as info:
        reg.get("nope")
    assert "od" in (info.value.hint or "")


def test_missing_optional_package_names_the_extra() -> None:
    reg: Registry[object] = Registry("storage backend")
    reg.register("x", "ray_is_not_here_hopefully.mod:Thing")
    with pytest.raises(ConfigError, match="not installed"):
        reg.get("x")


def test_public_api_is_curated() -> None:
    import sagebox

    # SageMaker's nouns a course notebook uses, the clients, settings and the error tree.
    assert set(sagebox.__all__) == {
        "AlreadyExistsError",
        "CategoricalParameter",
        "ConfigError",
        "ContinuousParameter",
        "DataCaptureConfig",
        "EndpointClient",
        "EndpointConfig",
        "Estimator",
        "FeatureDefinition",
        "FeatureGroup",
        "FeatureStore",
        "HyperparameterTuner",
        "InputDataError",
        "IntegerParameter",
        "JobClient",
        "JobError",
        "ModelClient",
        "NotFoundError",
        "PortInUseError",
        "ProcessingInput",
        "ProcessingOutput",
        "Processor",
        "ProductionVariant",
        "SageboxError",
        "ServiceUnavailableError",
        "Session",
        "Settings",
        "SqlEngine",
        "TransformClient",
        "TransformConfig",
        "WarmStartConfig",
        "__version__",
        "load_settings",
    }
    for name in sagebox.__all__:
        assert getattr(sagebox, name) is not None


# URIs and third-party backends through entry points
def test_parse_uri_splits_scheme_driver_and_rest() -> None:
    assert parse_uri("postgresql+psycopg://u@h:5/db") == BackendURI(
        "postgresql", "psycopg", "u@h:5/db"
    )
    assert parse_uri("S3://bucket/lake") == BackendURI("s3", None, "bucket/lake")
    assert parse_uri("local") == BackendURI("", None, "local")


@pytest.mark.parametrize(
    ("opener", "uri", "known"),
    [
        (open_metadata_store, "mongodb://x/y", ["sqlite", "postgresql"]),
        (open_catalog_store, "mongodb://x/y", ["sqlite", "postgresql"]),
        (open_feature_group_store, "mongodb://x/y", ["sqlite", "postgresql"]),
        (open_query_history, "mongodb://x/y", ["sqlite", "postgresql"]),
        (open_online_store, "memcached://h", ["sqlite", "redis"]),
        (open_store, "gs://bucket", ["file", "s3"]),
        (open_compute, "slurm://head", ["local"]),
    ],
)
def test_unknown_schemes_name_the_known_ones(
    opener: Callable[[str], object], uri: str, known: list[str]
) -> None:
    with pytest.raises(ConfigError, match=uri.split(":")[0]) as info:
        opener(uri)
    assert all(name in (info.value.hint or "") for name in known)


_PLUGIN_MODULE = '''
"""A third-party query history kept in memory: what a plugin package would ship."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime

from sagebox.backends.metadata import QueryHistory, QueryRecord
from sagebox.errors import NotFoundError

_DATABASES: dict[str, builtins.list[QueryRecord]] = {}


class MemoryQueryHistory(QueryHistory):
    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._records = _DATABASES.setdefault(uri, [])

    def add(self, record: QueryRecord) -> QueryRecord:
        if record.started_at is None:
            record.started_at = datetime.now(UTC)
        self._records.append(record)
        return record

    def get(self, query_id: str) -> QueryRecord:
        for record in self._records:
            if record.query_id == query_id:
                return record
        raise NotFoundError(f"no query {query_id!r} in the history")

    def list(self, limit: int = 50) -> builtins.list[QueryRecord]:
        ordered = sorted(
            enumerate(self._records), key=lambda pair: (pair[1].started_at, pair[0]), reverse=True
        )
        return [record for _, record in ordered][:limit]
'''

_ENTRY_POINTS = """\
[sagebox.backends.metadata.query_history]
memq = sagebox_memq_plugin:MemoryQueryHistory

[sagebox.backends.kv]
broken = sagebox_memq_plugin_missing:Store
sqlite = sagebox_memq_plugin_missing:Store
"""


@pytest.fixture()
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A plugin distribution installed into a directory on sys.path (a real dist-info)."""
    site = tmp_path / "site"
    dist_info = site / "sagebox_memq_plugin-0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: sagebox-memq-plugin\nVersion: 0.1\n"
    )
    (dist_info / "entry_points.txt").write_text(_ENTRY_POINTS)
    (site / "sagebox_memq_plugin.py").write_text(_PLUGIN_MODULE)
    monkeypatch.syspath_prepend(str(site))
    # The registries cache what they load: forget the plugin after the test.
    monkeypatch.setattr(QUERY_HISTORIES, "_loaded", dict(QUERY_HISTORIES._loaded))
    monkeypatch.setattr(ONLINE_STORES, "_loaded", dict(ONLINE_STORES._loaded))
    yield site
    sys.modules.pop("sagebox_memq_plugin", None)


def test_a_plugin_backend_is_found_through_its_entry_point(plugin: Path) -> None:
    assert "memq" in QUERY_HISTORIES.names() and "sqlite" in QUERY_HISTORIES.names()
    history = open_query_history("memq://team-a")
    assert type(history).__name__ == "MemoryQueryHistory"
    assert type(history).__module__ == "sagebox_memq_plugin"
    assert history.uri == "memq://team-a"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="unknown query history URI scheme 'nope'") as info:
        open_query_history("nope://x")
    assert "memq" in (info.value.hint or "") and "sqlite" in (info.value.hint or "")


def test_a_plugin_that_cannot_be_imported_is_a_config_error(plugin: Path) -> None:
    with pytest.raises(ConfigError, match="'broken'.*cannot be imported") as info:
        open_online_store("broken://x")
    assert "sagebox_memq_plugin_missing" in (info.value.hint or "")


def test_built_in_names_win_over_plugins(plugin: Path, tmp_path: Path) -> None:
    store = open_online_store(f"sqlite:///{tmp_path / 'online.db'}")  # the plugin would fail
    assert type(store).__name__ == "SqliteOnlineStore"
    store.close()
    registry: Registry[object] = Registry("thing", group="sagebox.backends.kv")
    registry.register("od", "collections:OrderedDict")
    assert registry.names() == ["broken", "od", "sqlite"]
    assert registry.get("od").__name__ == "OrderedDict"


class TestPluginQueryHistory(QueryHistorySuite):
    """A third-party query history, opened through its entry point, passes the shipped suite."""

    @pytest.fixture()
    def open_query_history(self, plugin: Path, tmp_path: Path) -> OpenQueryHistory:
        return lambda: open_query_history(f"memq://{tmp_path}")
