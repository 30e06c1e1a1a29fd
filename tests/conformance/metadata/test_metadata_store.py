"""Conformance suite of the metadata store, run over SQLite and a real PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sagebox.backends.metadata import (
    ArtifactRecord,
    EndpointRecord,
    JobRecord,
    JobStatus,
    MetadataStore,
    ModelRecord,
    open_metadata_store,
)
from sagebox.backends.metadata._engine import parse_url
from sagebox.backends.metadata._migrate import HEAD_REVISION
from sagebox.errors import (
    AlreadyExistsError,
    ConfigError,
    NotFoundError,
    ServiceUnavailableError,
)
from tests.conftest import free_port


def _job(name: str, kind: str = "training", **fields: object) -> JobRecord:
    return JobRecord(name=name, kind=kind, **fields)  # type: ignore[arg-type]


def _assert_utc(value: datetime | None) -> None:
    assert value is not None and value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


# jobs
def test_create_and_get_job_roundtrip_every_field(store: MetadataStore) -> None:
    started = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    job = _job(
        "train-1",
        parameters={"epochs": 3, "lr": 0.01, "layers": [64, 32], "opts": {"seed": 7}},
        inputs={"train": "file:///lake/train.parquet"},
        outputs={"model": "file:///lake/model.tar.gz"},
        metrics={"loss": 0.5},
        log_uri="file:///jobs/train-1/log.txt",
        handle="4242",
        started_at=started,
    )
    created = store.create_job(job)
    _assert_utc(created.created_at)
    assert abs(datetime.now(UTC) - created.created_at) < timedelta(minutes=1)  # type: ignore[operator]
    fetched = store.get_job("train-1")
    assert fetched == created
    assert fetched.parameters == job.parameters and fetched.metrics == {"loss": 0.5}
    assert fetched.status is JobStatus.PENDING
    assert fetched.started_at == started
    _assert_utc(fetched.started_at)


def test_duplicate_job_name_raises_and_store_stays_usable(store: MetadataStore) -> None:
    store.create_job(_job("dup"))
    with pytest.raises(AlreadyExistsError, match="'dup'") as info:
        store.create_job(_job("dup", kind="processing"))
    assert "sagebox jobs list" in (info.value.hint or "")
    assert store.get_job("dup").kind == "training"
    store.create_job(_job("other"))


def test_missing_job_raises_not_found_with_hint(store: MetadataStore) -> None:
    with pytest.raises(NotFoundError, match="'nope'") as info:
        store.get_job("nope")
    assert "sagebox jobs list" in (info.value.hint or "")
    with pytest.raises(NotFoundError):
        store.update_job("nope", status=JobStatus.FAILED)


def test_update_job_sets_fields_and_merges_metrics(store: MetadataStore) -> None:
    store.create_job(_job("t", metrics={"loss": 1.0}))
    store.update_job("t", status=JobStatus.IN_PROGRESS, metrics={"loss": 0.7, "acc": 0.5})
    ended = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    updated = store.update_job(
        "t",
        status="Failed",
        metrics={"f1": 0.4},
        failure_reason="OOM",
        ended_at=ended,
        outputs={"model": "file:///m"},
    )
    assert updated.metrics == {"loss": 0.7, "acc": 0.5, "f1": 0.4}
    assert updated.status is JobStatus.FAILED and updated.failure_reason == "OOM"
    assert updated.ended_at == ended
    _assert_utc(updated.ended_at)
    assert store.get_job("t") == updated


@pytest.mark.parametrize("field", ["name", "created_at", "colour"])
def test_update_job_rejects_fields_it_cannot_set(store: MetadataStore, field: str) -> None:
    store.create_job(_job("t"))
    with pytest.raises(TypeError, match=field):
        store.update_job("t", **{field: "x"})


def test_every_job_status_roundtrips(store: MetadataStore) -> None:
    for status in JobStatus:
        store.create_job(_job(f"job-{status.value}", status=status))
        assert store.get_job(f"job-{status.value}").status is status
        assert [j.name for j in store.list_jobs(status=status)] == [f"job-{status.value}"]


def test_list_jobs_newest_first_with_filters_and_limit(store: MetadataStore) -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for i, kind in enumerate(["training", "processing", "training", "transform"]):
        store.create_job(_job(f"j{i}", kind=kind, created_at=base + timedelta(minutes=i)))
    store.update_job("j2", status=JobStatus.COMPLETED)
    assert [j.name for j in store.list_jobs()] == ["j3", "j2", "j1", "j0"]
    assert [j.name for j in store.list_jobs(kind="training")] == ["j2", "j0"]
    assert [j.name for j in store.list_jobs(status=JobStatus.PENDING, limit=2)] == ["j3", "j1"]
    assert [j.name for j in store.list_jobs(kind="training", status=JobStatus.COMPLETED)] == ["j2"]
    assert store.list_jobs(kind="tuning") == []
    for job in store.list_jobs():
        _assert_utc(job.created_at)


def test_jobs_created_in_the_same_instant_list_newest_first(store: MetadataStore) -> None:
    for i in range(5):
        store.create_job(_job(f"fast-{i}"))
    assert [j.name for j in store.list_jobs()] == [f"fast-{i}" for i in reversed(range(5))]


# artifacts
def test_artifacts_add_and_list_with_filters(store: MetadataStore) -> None:
    big = 5 * 2**32  # sizes beyond 32 bits
    first = store.add_artifact(
        ArtifactRecord("file:///a", "dataset", "a" * 64, big, "job-1", {"rows": 10})
    )
    store.add_artifact(ArtifactRecord("file:///b", "model", "b" * 64, 20, "job-1"))
    store.add_artifact(ArtifactRecord("file:///a", "dataset", "c" * 64, 30, "job-2"))
    store.add_artifact(ArtifactRecord("file:///c", "report", "d" * 64, 40))
    assert first.artifact_id is not None
    _assert_utc(first.created_at)
    everything = store.list_artifacts()
    assert [a.sha256[0] for a in everything] == ["a", "b", "c", "d"]  # oldest first
    assert everything[0] == first and everything[0].size == big
    assert everything[0].properties == {"rows": 10}
    assert [a.uri for a in store.list_artifacts(producer_job="job-1")] == ["file:///a", "file:///b"]
    assert [a.producer_job for a in store.list_artifacts(uri="file:///a")] == ["job-1", "job-2"]
    assert [a.size for a in store.list_artifacts(producer_job="job-2", uri="file:///a")] == [30]
    assert store.list_artifacts(uri="file:///zzz") == []


# models
def test_models_crud(store: MetadataStore) -> None:
    manifest = {"algorithm": "xgboost", "labels": [-1, 0, 1], "signature": {"input": "text"}}
    created = store.create_model(ModelRecord("m1", "file:///m1.tar.gz", manifest, "train-1"))
    store.create_model(ModelRecord("m2", "file:///m2.tar.gz"))
    _assert_utc(created.created_at)
    assert store.get_model("m1") == created and created.manifest == manifest
    assert [m.name for m in store.list_models()] == ["m2", "m1"]
    with pytest.raises(AlreadyExistsError, match="'m1'"):
        store.create_model(ModelRecord("m1", "file:///other"))
    store.delete_model("m1")
    assert [m.name for m in store.list_models()] == ["m2"]
    with pytest.raises(NotFoundError, match="'m1'") as info:
        store.get_model("m1")
    assert "sagebox models list" in (info.value.hint or "")
    with pytest.raises(NotFoundError):
        store.delete_model("m1")


# endpoints
def test_endpoints_put_creates_and_replaces(store: MetadataStore) -> None:
    first = store.put_endpoint(EndpointRecord("ep", "m1", "Creating", config={"variants": 1}))
    _assert_utc(first.created_at)
    _assert_utc(first.updated_at)
    replaced = store.put_endpoint(
        EndpointRecord("ep", "m2", "InService", "http://127.0.0.1:8080", "123", {"variants": 2})
    )
    assert replaced.created_at == first.created_at
    assert replaced.updated_at >= first.updated_at  # type: ignore[operator]
    assert (replaced.model_name, replaced.status, replaced.url, replaced.handle) == (
        "m2",
        "InService",
        "http://127.0.0.1:8080",
        "123",
    )
    assert store.get_endpoint("ep") == replaced and replaced.config == {"variants": 2}
    store.put_endpoint(EndpointRecord("ep2", "m1", "Creating"))
    assert [e.name for e in store.list_endpoints()] == ["ep2", "ep"]


def test_endpoints_delete_and_missing(store: MetadataStore) -> None:
    store.put_endpoint(EndpointRecord("ep", "m1", "InService"))
    store.delete_endpoint("ep")
    assert store.list_endpoints() == []
    with pytest.raises(NotFoundError, match="'ep'") as info:
        store.get_endpoint("ep")
    assert "sagebox endpoints list" in (info.value.hint or "")
    with pytest.raises(NotFoundError):
        store.delete_endpoint("ep")


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
