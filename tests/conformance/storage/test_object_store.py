"""The shipped object-store suite on file:// and s3://, plus checks of one store or of URIs."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from sagebox.backends.storage import open_store, open_store_for
from sagebox.backends.storage.local import LocalObjectStore
from sagebox.errors import ConfigError, InputDataError, NotFoundError, ServiceUnavailableError
from sagebox.testing.storage import ObjectStoreSuite
from tests.conformance.storage.conftest import s3_settings
from tests.conftest import free_port, skip_or_fail


class TestObjectStore(ObjectStoreSuite):
    """The shipped suite, on each store of the ``store`` fixture (conftest.py)."""


# --- the local store -------------------------------------------------------------------------


def test_failed_write_keeps_old_content_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalObjectStore(f"file://{tmp_path / 'lake'}")
    store.write_bytes("data/table.csv", b"old")

    def fail_replace(src: object, dst: object) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr("sagebox.backends.storage.local.os.replace", fail_replace)
    with pytest.raises(OSError, match="simulated"):
        store.write_bytes("data/table.csv", b"new content")
    monkeypatch.undo()
    with pytest.raises(TypeError):  # fails while writing, after the temp file exists
        store.write_bytes("data/table.csv", "not bytes")  # type: ignore[arg-type]
    assert store.read_bytes("data/table.csv") == b"old"
    assert [info.key for info in store.list()] == ["data/table.csv"]
    assert os.listdir(tmp_path / "lake" / "data") == ["table.csv"]


def test_local_key_under_an_existing_object_is_rejected(tmp_path: Path) -> None:
    store = LocalObjectStore(f"file://{tmp_path}")
    store.write_bytes("model", b"x")
    with pytest.raises(InputDataError, match="model/weights"):
        store.write_bytes("model/weights", b"y")
    store.write_bytes("dir/x", b"x")
    with pytest.raises(InputDataError, match="'dir'"):
        store.write_bytes("dir", b"y")


def test_local_store_needs_an_absolute_file_uri() -> None:
    with pytest.raises(ConfigError, match="relative/lake"):
        LocalObjectStore("file://relative/lake")


# --- opening stores by URI -------------------------------------------------------------------


def test_bare_paths_and_file_uris_open_local_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    by_path = open_store("lake")
    assert isinstance(by_path, LocalObjectStore)
    assert by_path.uri == f"file://{tmp_path / 'lake'}"
    by_path.write_bytes("k", b"v")
    assert open_store(f"file://{tmp_path}/lake/").read_bytes("k") == b"v"


def test_open_store_for_splits_an_object_uri(tmp_path: Path) -> None:
    open_store(f"file://{tmp_path}").write_bytes("raw/reviews.csv", b"x")
    store, key = open_store_for(f"file://{tmp_path}/raw/reviews.csv")
    assert (store.uri, key) == (f"file://{tmp_path}/raw", "reviews.csv")
    assert store.read_bytes(key) == b"x"
    with pytest.raises(InputDataError):
        open_store_for("s3://bucket-only")


def test_unknown_scheme_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="'gs'") as info:
        open_store("gs://bucket/lake")
    assert "file" in str(info.value.hint) and "s3" in str(info.value.hint)


# --- the S3 store ----------------------------------------------------------------------------


def test_unreachable_s3_endpoint_fails_fast(
    sagebox_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        import s3fs  # noqa: F401
    except ImportError:
        skip_or_fail("s3fs is not installed: pip install 'sagebox[s3]'")
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("SAGEBOX_S3_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "dummy")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dummy")
    store = open_store("s3://bucket/lake")
    for operation in (
        lambda: store.read_bytes("k"),
        lambda: store.write_bytes("k", b"v"),
        lambda: store.list(),
        lambda: store.exists("k"),
    ):
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError, match=endpoint) as info:
            operation()
        assert time.monotonic() - started < 10
        assert "\n" not in info.value.message
        assert "SAGEBOX_S3_ENDPOINT_URL" in str(info.value.hint)


@pytest.mark.integration
def test_missing_bucket_raises_not_found_with_hint(s3_server: str, tmp_path: Path) -> None:
    uri = f"s3://absent-{uuid.uuid4().hex[:12]}/lake"
    store = open_store(uri, settings=s3_settings(s3_server, tmp_path, uri))
    for operation in (
        lambda: store.read_bytes("k"),
        lambda: store.write_bytes("k", b"v"),
        lambda: store.list(),
        lambda: store.exists("k"),
    ):
        with pytest.raises(NotFoundError, match="bucket") as info:
            operation()
        assert "ensure_bucket" in str(info.value.hint)


@pytest.mark.integration
def test_s3_listing_sees_writes_from_another_client(s3_server: str, tmp_path: Path) -> None:
    uri = f"s3://fresh-{uuid.uuid4().hex[:12]}"
    settings = s3_settings(s3_server, tmp_path, uri)
    reader, writer = open_store(uri, settings=settings), open_store(uri, settings=settings)
    writer.ensure_bucket()  # type: ignore[attr-defined]
    assert reader.list() == [] and not reader.exists("new/obj")
    writer.write_bytes("new/obj", b"1")
    assert [info.key for info in reader.list("new/")] == ["new/obj"]
    assert reader.exists("new/obj")
    writer.delete("new/obj")
    assert reader.list() == [] and not reader.exists("new/obj")
