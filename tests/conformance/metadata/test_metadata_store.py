"""The metadata store on SQLite and a real PostgreSQL server: the shipped suite, then SQL specifics.

The contract's checks live in :mod:`sagebox.testing.metadata`; this file runs them on the SQL
store and adds what only a SQL database has: migrations, several processes, SQLite files and
PostgreSQL URLs.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sagebox.backends.metadata import JobRecord, JobStatus, MetadataStore, open_metadata_store
from sagebox.backends.metadata._database import parse_url
from sagebox.backends.metadata._migrate import HEAD_REVISION
from sagebox.errors import ConfigError, ServiceUnavailableError
from sagebox.testing.metadata import MetadataStoreSuite, OpenMetadata
from tests.conftest import free_port


def _job(name: str, kind: str = "training", **fields: object) -> JobRecord:
    return JobRecord(name=name, kind=kind, **fields)  # type: ignore[arg-type]


class TestSqlMetadataStore(MetadataStoreSuite):
    """The shipped suite (:mod:`sagebox.testing.metadata`) on SQLite and PostgreSQL."""

    @pytest.fixture()
    def open_metadata(self, metadata_uri: str) -> OpenMetadata:
        return lambda: open_metadata_store(metadata_uri)


# migrations
def test_opening_twice_keeps_data_and_schema(metadata_uri: str) -> None:
    first = open_metadata_store(metadata_uri)
    first.create_job(_job("kept"))
    first.close()
    second = open_metadata_store(metadata_uri)
    assert second.get_job("kept").name == "kept"
    second.close()
    engine = create_engine(parse_url(metadata_uri))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [
            (HEAD_REVISION,)
        ]
    engine.dispose()


def test_orm_models_match_the_migrations(store: MetadataStore, metadata_uri: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from sagebox.backends.metadata._orm import Base, load_models

    load_models()  # the catalog and the query history keep their tables in the same database
    engine = create_engine(parse_url(metadata_uri))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_head_revision_constant_is_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from sagebox.backends.metadata._migrate import HEAD_REVISION, MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_database_from_a_newer_sagebox_is_refused(metadata_uri: str) -> None:
    open_metadata_store(metadata_uri).close()
    engine = create_engine(parse_url(metadata_uri))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(ConfigError, match="9999_future"):
        open_metadata_store(metadata_uri)


# several processes
_WORKER = textwrap.dedent(
    """
    import pathlib, sys, time
    from sagebox.backends.metadata import JobRecord, JobStatus, open_metadata_store

    uri, name, go, steps, create = sys.argv[1:6]
    pathlib.Path(f"{go}.{name}.ready").touch()
    deadline = time.monotonic() + 60
    while not pathlib.Path(go).exists():  # start together, for maximum contention
        if time.monotonic() > deadline:
            sys.exit("no start signal")
        time.sleep(0.005)
    store = open_metadata_store(uri)
    if create == "1":
        store.create_job(JobRecord(name=name, kind="training"))
    for step in range(int(steps)):
        store.update_job(name, status=JobStatus.IN_PROGRESS, metrics={f"m{step}": float(step)})
        store.get_job(name)
    store.update_job(name, status=JobStatus.COMPLETED)
    """
)


def _run_workers(uri: str, names: list[str], steps: int, create: bool, go: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, uri, name, str(go), str(steps), "1" if create else "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in names
    ]
    deadline = time.monotonic() + 60
    while not all(Path(f"{go}.{name}.ready").exists() for name in names):
        assert time.monotonic() < deadline, "workers did not start"
        assert all(proc.poll() is None for proc in procs), "a worker died while starting"
        time.sleep(0.01)
    go.touch()
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    for proc, output in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, output


def _assert_workers_done(store: MetadataStore, names: list[str], steps: int) -> None:
    for name in names:
        job = store.get_job(name)
        assert job.status is JobStatus.COMPLETED
        assert job.metrics == {f"m{step}": float(step) for step in range(steps)}


def test_two_processes_update_different_jobs(
    store: MetadataStore, metadata_uri: str, tmp_path: Path
) -> None:
    names = ["proc-a", "proc-b"]
    for name in names:
        store.create_job(_job(name))
    _run_workers(metadata_uri, names, steps=40, create=False, go=tmp_path / "go")
    _assert_workers_done(store, names, steps=40)


def test_processes_opening_a_fresh_database_at_once(metadata_uri: str, tmp_path: Path) -> None:
    names = [f"fresh-{i}" for i in range(3)]
    _run_workers(metadata_uri, names, steps=10, create=True, go=tmp_path / "go")
    store = open_metadata_store(metadata_uri)
    _assert_workers_done(store, names, steps=10)
    assert sorted(j.name for j in store.list_jobs()) == names
    store.close()


# backend specifics and bad URIs
def test_sqlite_file_uses_wal_and_gets_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "sagebox.db"
    store = open_metadata_store(f"sqlite:///{path}")
    store.create_job(_job("x"))
    store.close()
    assert path.is_file()
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_sqlite_in_memory_works() -> None:
    store = open_metadata_store("sqlite:///:memory:")
    store.create_job(_job("mem"))
    assert [j.name for j in store.list_jobs()] == ["mem"]
    store.close()


@pytest.mark.integration
def test_postgresql_url_uses_psycopg3(postgres_url: str) -> None:
    store = open_metadata_store(postgres_url)
    assert store.url.startswith("postgresql+psycopg://")  # type: ignore[attr-defined]
    store.close()


@pytest.mark.parametrize("uri", ["mysql://db/sagebox", "mongodb://localhost/x"])
def test_unknown_scheme_raises_config_error(uri: str) -> None:
    scheme = uri.split(":")[0]
    with pytest.raises(ConfigError, match=scheme) as info:
        open_metadata_store(uri)
    assert "sqlite" in str(info.value) and "postgresql" in str(info.value)


def test_uri_without_scheme_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="no scheme"):
        open_metadata_store("sagebox.db")


def test_unreachable_postgresql_raises_service_unavailable() -> None:
    pytest.importorskip("psycopg")
    port = free_port()  # nothing listens there
    with pytest.raises(ServiceUnavailableError) as info:
        open_metadata_store(f"postgresql://sagebox:s3cr3t-pw@127.0.0.1:{port}/sagebox")
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message
    assert "s3cr3t-pw" not in message and "\n" not in message
    assert info.value.hint
