"""The object-store conformance suite: the contract of :class:`ObjectStore`, for any backend.

A backend author subclasses :class:`ObjectStoreSuite` in a test file and provides a ``store``
fixture that returns an empty store (a fresh directory, bucket or prefix per test)::

    import pytest
    from sagebox.testing import ObjectStoreSuite

    class TestMyStore(ObjectStoreSuite):
        @pytest.fixture()
        def store(self, tmp_path):
            return MyStore(f"my://{tmp_path}")

pytest then runs every ``test_*`` method below against it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from sagebox.backends.storage import ObjectInfo, ObjectStore
from sagebox.errors import InputDataError, NotFoundError

__all__ = ["ObjectStoreSuite"]


class ObjectStoreSuite:
    """Every check an object store passes; needs a ``store`` fixture (an empty store)."""

    def test_write_then_read_returns_the_same_bytes(self, store: ObjectStore) -> None:
        store.write_bytes("hello.txt", b"hello lake")
        assert store.read_bytes("hello.txt") == b"hello lake"

    def test_write_replaces_an_existing_object(self, store: ObjectStore) -> None:
        store.write_bytes("data.csv", b"old content that is longer")
        store.write_bytes("data.csv", b"new")
        assert store.read_bytes("data.csv") == b"new"
        assert [info.key for info in store.list()] == ["data.csv"]

    def test_binary_and_empty_objects_roundtrip(self, store: ObjectStore) -> None:
        every_byte = bytes(range(256)) * 4
        large = os.urandom(3 * 2**20 + 17)
        store.write_bytes("bin/bytes", every_byte)
        store.write_bytes("bin/large", large)
        store.write_bytes("bin/empty", b"")
        assert store.read_bytes("bin/bytes") == every_byte
        assert store.read_bytes("bin/large") == large
        assert store.read_bytes("bin/empty") == b""

    def test_nested_keys_are_independent_objects(self, store: ObjectStore) -> None:
        store.write_bytes("a/b/c/deep.json", b"{}")
        store.write_bytes("a/top.json", b"[]")
        assert store.read_bytes("a/b/c/deep.json") == b"{}"
        assert store.read_bytes("/a//./top.json") == b"[]"  # same key, written differently

    def test_list_is_recursive_sorted_and_filtered_by_prefix(self, store: ObjectStore) -> None:
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

    def test_exists_only_for_stored_objects(self, store: ObjectStore) -> None:
        store.write_bytes("dir/file.txt", b"x")
        assert store.exists("dir/file.txt")
        assert not store.exists("dir")  # a prefix is not an object
        assert not store.exists("dir/other.txt")

    def test_delete_removes_the_object(self, store: ObjectStore) -> None:
        store.write_bytes("tmp/x", b"x")
        store.write_bytes("tmp/y", b"y")
        store.delete("tmp/x")
        assert not store.exists("tmp/x")
        assert [info.key for info in store.list()] == ["tmp/y"]

    def test_delete_missing_raises_not_found(self, store: ObjectStore) -> None:
        with pytest.raises(NotFoundError, match="nope.txt") as info:
            store.delete("nope.txt")
        assert info.value.hint

    def test_read_missing_raises_not_found(self, store: ObjectStore) -> None:
        store.write_bytes("dir/present", b"x")
        for key in ("missing.bin", "dir"):
            with pytest.raises(NotFoundError, match=key) as info:
                store.read_bytes(key)
            assert info.value.hint

    def test_upload_then_download_copies_the_file(self, store: ObjectStore, tmp_path: Path) -> None:
        source = tmp_path / "model.bin"
        source.write_bytes(os.urandom(100_000))
        store.upload(source, "models/model.bin")
        assert store.read_bytes("models/model.bin") == source.read_bytes()
        target = store.download("models/model.bin", tmp_path / "out" / "nested" / "copy.bin")
        assert target == tmp_path / "out" / "nested" / "copy.bin"
        assert target.read_bytes() == source.read_bytes()
        assert sorted(p.name for p in target.parent.iterdir()) == ["copy.bin"]  # no temp left

    def test_upload_missing_local_file_raises_input_data_error(
        self, store: ObjectStore, tmp_path: Path
    ) -> None:
        with pytest.raises(InputDataError, match="no-such-file.csv"):
            store.upload(tmp_path / "no-such-file.csv", "raw/x.csv")
        assert store.list() == []

    def test_download_missing_raises_not_found(self, store: ObjectStore, tmp_path: Path) -> None:
        with pytest.raises(NotFoundError):
            store.download("ghost.bin", tmp_path / "ghost.bin")
        assert not (tmp_path / "ghost.bin").exists()

    def test_url_joins_root_and_key(self, store: ObjectStore) -> None:
        assert not store.uri.endswith("/")
        assert store.url("raw/a.csv") == f"{store.uri}/raw/a.csv"
        assert store.url("/raw/a.csv") == f"{store.uri}/raw/a.csv"

    def test_delete_prefix_deletes_only_that_prefix(self, store: ObjectStore) -> None:
        for key in ("run1/a", "run1/sub/b", "run10/c", "keep/d"):
            store.write_bytes(key, b"x")
        assert store.delete_prefix("run1/") == 2
        assert [info.key for info in store.list()] == ["keep/d", "run10/c"]
        assert store.delete_prefix("absent/") == 0

    def test_filesystem_reads_what_the_store_wrote(self, store: ObjectStore) -> None:
        store.write_bytes("tables/t.csv", b"a,b\n1,2\n")
        fs, root = store.filesystem()
        assert fs.cat(f"{root}/tables/t.csv") == b"a,b\n1,2\n"
        assert [p.rsplit("/", 1)[-1] for p in fs.find(root)] == ["t.csv"]

    def test_keys_that_escape_the_root_are_rejected(self, store: ObjectStore) -> None:
        for bad in ("../outside", "a/../../outside", "raw/.."):
            with pytest.raises(InputDataError, match="escapes"):
                store.write_bytes(bad, b"x")
            with pytest.raises(InputDataError):
                store.read_bytes(bad)
        with pytest.raises(InputDataError, match="empty"):
            store.write_bytes("/", b"x")
        assert store.list() == []

    def test_readers_never_see_a_partial_write(self, store: ObjectStore) -> None:
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

    def test_write_bytes_if_absent_creates_only_once(self, store: ObjectStore) -> None:
        assert store.write_bytes_if("state/s.json", b"first", None)
        assert not store.write_bytes_if("state/s.json", b"second", None)
        data, version = store.read_versioned("state/s.json")
        assert data == b"first" and isinstance(version, str) and version
        with pytest.raises(NotFoundError):
            store.read_versioned("state/missing.json")

    def test_write_bytes_if_replaces_only_the_expected_version(self, store: ObjectStore) -> None:
        store.write_bytes("s.json", b"v1")
        _, v1 = store.read_versioned("s.json")
        assert store.write_bytes_if("s.json", b"v2", v1)
        data, v2 = store.read_versioned("s.json")
        assert data == b"v2" and v2 != v1
        assert not store.write_bytes_if("s.json", b"stale", v1)  # v1 is gone
        store.delete("s.json")
        assert not store.write_bytes_if("s.json", b"stale", v2)  # deleted meanwhile
        assert not store.exists("s.json")
        assert [info.key for info in store.list()] == []  # no lock or temp file is listed

    def test_concurrent_compare_and_set_loses_no_update(self, store: ObjectStore) -> None:
        store.write_bytes("counter", b"0")
        writers, rounds = 4, 5

        def increment() -> None:
            for _ in range(rounds):
                while True:
                    data, version = store.read_versioned("counter")
                    if store.write_bytes_if("counter", str(int(data) + 1).encode(), version):
                        break

        threads = [threading.Thread(target=increment) for _ in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert store.read_bytes("counter") == str(writers * rounds).encode()

    def test_sweep_temp_of_a_clean_store_removes_nothing(self, store: ObjectStore) -> None:
        store.write_bytes("raw/a.csv", b"1")
        assert store.sweep_temp("raw/", older_than=0, dry_run=True) == []
        assert store.sweep_temp("", older_than=0) == []
        assert store.read_bytes("raw/a.csv") == b"1"
