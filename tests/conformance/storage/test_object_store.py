"""One conformance suite for every object store (``store`` runs it on file:// and s3://)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import pytest

from sagebox.backends.storage import ObjectInfo, ObjectStore, open_store, open_store_for
from sagebox.backends.storage.local import LocalObjectStore
from sagebox.errors import ConfigError, InputDataError, NotFoundError, ServiceUnavailableError
from tests.conformance.storage.conftest import s3_settings
from tests.conftest import free_port, skip_or_fail

# --- the contract, for every backend ---------------------------------------------------------


def test_write_then_read_returns_the_same_bytes(store: ObjectStore) -> None:
    store.write_bytes("hello.txt", b"hello lake")
    assert store.read_bytes("hello.txt") == b"hello lake"


def test_write_replaces_an_existing_object(store: ObjectStore) -> None:
    store.write_bytes("data.csv", b"old content that is longer")
    store.write_bytes("data.csv", b"new")
    assert store.read_bytes("data.csv") == b"new"
    assert [info.key for info in store.list()] == ["data.csv"]


def test_binary_and_empty_objects_roundtrip(store: ObjectStore) -> None:
    every_byte = bytes(range(256)) * 4
    large = os.urandom(3 * 2**20 + 17)
    store.write_bytes("bin/bytes", every_byte)
    store.write_bytes("bin/large", large)
    store.write_bytes("bin/empty", b"")
    assert store.read_bytes("bin/bytes") == every_byte
    assert store.read_bytes("bin/large") == large
    assert store.read_bytes("bin/empty") == b""


def test_nested_keys_are_independent_objects(store: ObjectStore) -> None:
    store.write_bytes("a/b/c/deep.json", b"{}")
    store.write_bytes("a/top.json", b"[]")
    assert store.read_bytes("a/b/c/deep.json") == b"{}"
    assert store.read_bytes("/a//./top.json") == b"[]"  # same key, written differently


def test_list_is_recursive_sorted_and_filtered_by_prefix(store: ObjectStore) -> None:
    assert store.list() == []
    for key, data in [
        ("raw/b.csv", b"12"),
        ("raw/a.csv", b"1"),
        ("raw/sub/c.csv", b"123"),
        ("raw2/d.csv", b"1234"),
        ("models/m.bin", b""),
    ]:
        store.write_bytes(key, data)
    listed = store.list("raw/")
    assert [(i.key, i.size) for i in listed] == [
        ("raw/a.csv", 1),
        ("raw/b.csv", 2),
        ("raw/sub/c.csv", 3),
    ]
    assert all(isinstance(i, ObjectInfo) and i.modified for i in listed)
    assert [i.key for i in store.list("raw")] == [
        "raw/a.csv",
        "raw/b.csv",
        "raw/sub/c.csv",
        "raw2/d.csv",
    ]
    assert [i.key for i in store.list("raw/sub/c")] == ["raw/sub/c.csv"]
    assert len(store.list()) == 5
    assert store.list("nothing/") == []


def test_exists_only_for_stored_objects(store: ObjectStore) -> None:
    store.write_bytes("dir/file.txt", b"x")
    assert store.exists("dir/file.txt")
    assert not store.exists("dir")  # a prefix is not an object
    assert not store.exists("dir/other.txt")


def test_delete_removes_the_object(store: ObjectStore) -> None:
    store.write_bytes("tmp/x", b"x")
    store.write_bytes("tmp/y", b"y")
    store.delete("tmp/x")
    assert not store.exists("tmp/x")
    assert [info.key for info in store.list()] == ["tmp/y"]


def test_delete_missing_raises_not_found(store: ObjectStore) -> None:
    with pytest.raises(NotFoundError, match="nope.txt") as info:
        store.delete("nope.txt")
    assert info.value.hint


def test_read_missing_raises_not_found(store: ObjectStore) -> None:
    store.write_bytes("dir/present", b"x")
    for key in ("missing.bin", "dir"):
        with pytest.raises(NotFoundError, match=key) as info:
            store.read_bytes(key)
        assert info.value.hint


def test_upload_then_download_copies_the_file(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(os.urandom(100_000))
    store.upload(source, "models/model.bin")
    assert store.read_bytes("models/model.bin") == source.read_bytes()
    target = store.download("models/model.bin", tmp_path / "out" / "nested" / "copy.bin")
    assert target == tmp_path / "out" / "nested" / "copy.bin"
    assert target.read_bytes() == source.read_bytes()
    assert sorted(p.name for p in target.parent.iterdir()) == ["copy.bin"]  # no temp left


def test_upload_missing_local_file_raises_input_data_error(
    store: ObjectStore, tmp_path: Path
) -> None:
    with pytest.raises(InputDataError, match="no-such-file.csv"):
        store.upload(tmp_path / "no-such-file.csv", "raw/x.csv")
    assert store.list() == []


def test_download_missing_raises_not_found(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        store.download("ghost.bin", tmp_path / "ghost.bin")
    assert not (tmp_path / "ghost.bin").exists()


def test_url_joins_root_and_key(store: ObjectStore) -> None:
    assert not store.uri.endswith("/")
    assert store.url("raw/a.csv") == f"{store.uri}/raw/a.csv"
    assert store.url("/raw/a.csv") == f"{store.uri}/raw/a.csv"


def test_delete_prefix_deletes_only_that_prefix(store: ObjectStore) -> None:
    for key in ("run1/a", "run1/sub/b", "run10/c", "keep/d"):
        store.write_bytes(key, b"x")
    assert store.delete_prefix("run1/") == 2
    assert [info.key for info in store.list()] == ["keep/d", "run10/c"]
    assert store.delete_prefix("absent/") == 0


def test_filesystem_reads_what_the_store_wrote(store: ObjectStore) -> None:
    store.write_bytes("tables/t.csv", b"a,b\n1,2\n")
    fs, root = store.filesystem()
    assert fs.cat(f"{root}/tables/t.csv") == b"a,b\n1,2\n"
    assert [p.rsplit("/", 1)[-1] for p in fs.find(root)] == ["t.csv"]


def test_keys_that_escape_the_root_are_rejected(store: ObjectStore) -> None:
    for bad in ("../outside", "a/../../outside", "raw/.."):
        with pytest.raises(InputDataError, match="escapes"):
            store.write_bytes(bad, b"x")
        with pytest.raises(InputDataError):
            store.read_bytes(bad)
    with pytest.raises(InputDataError, match="empty"):
        store.write_bytes("/", b"x")
    assert store.list() == []


def test_readers_never_see_a_partial_write(store: ObjectStore) -> None:
    payloads = (b"a" * 2**20, b"b" * 2**20)
    store.write_bytes("hot.bin", payloads[0])
    seen: set[bytes] = set()
    stop = threading.Event()

    def read_repeatedly() -> None:
        while not stop.is_set():
            seen.add(store.read_bytes("hot.bin"))

    reader = threading.Thread(target=read_repeatedly)
    reader.start()
    try:
        for i in range(20):
            store.write_bytes("hot.bin", payloads[i % 2])
    finally:
        stop.set()
        reader.join(timeout=30)
    assert seen and seen <= set(payloads)
    assert [info.key for info in store.list()] == ["hot.bin"]


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
