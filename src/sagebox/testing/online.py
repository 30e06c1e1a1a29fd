"""The online-store conformance suite: versioning, atomicity, expiry and deletes, for any store.

A backend author subclasses :class:`OnlineStoreSuite` in a test file and provides an
``open_online`` fixture: a function that opens a new connection to one empty store (each call
a new connection to the same store, fresh for each test)::

    import pytest
    from sagebox.testing import OnlineStoreSuite

    class TestMyOnlineStore(OnlineStoreSuite):
        @pytest.fixture()
        def open_online(self, tmp_path):
            return lambda: MyOnlineStore(f"my://{tmp_path}/online")

The suite's tests use ``online``, a store opened with it and closed after the test. Set
``connections_share_data = False`` on the subclass for a store private to one connection (an
in-memory one): the check that a second connection sees committed batches is then skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from sagebox.backends.kv import OnlineRecord, OnlineStore
from sagebox.backends.kv.base import now_ns

__all__ = ["OnlineStoreSuite"]

HOUR = 3600 * 10**9

#: opens a new connection to the store under test
OpenOnline = Callable[[], OnlineStore]


def _rec(key: str, event: int, **values: object) -> OnlineRecord:
    return OnlineRecord(key, event, dict(values))


class OnlineStoreSuite:
    """Every check an online store passes; needs an ``open_online`` fixture (see the module)."""

    #: whether two connections opened by ``open_online`` see the same data
    connections_share_data = True

    @pytest.fixture()
    def online(self, open_online: OpenOnline) -> Iterator[OnlineStore]:
        """A store opened with ``open_online``, closed after the test."""
        opened = open_online()
        yield opened
        opened.close()

    def test_round_trip_keeps_value_types(self, online: OnlineStore) -> None:
        values = {"n": 3, "x": 0.25, "s": "héllo", "ids": [101, 2, 102], "none": None}
        assert online.write_batch("g", [OnlineRecord("17", 5, values)]) == 1
        [got] = online.read("g", ["17"])
        assert got is not None and got.values == values and got.event_ns == 5 and not got.deleted

    def test_missing_keys_read_as_none_in_order(self, online: OnlineStore) -> None:
        online.write_batch("g", [_rec("a", 1, v=1), _rec("c", 1, v=3)])
        got = online.read("g", ["c", "b", "a"])
        assert [r.values["v"] if r else None for r in got] == [3, None, 1]
        assert online.read("g", []) == []

    def test_older_event_time_is_ignored_and_same_replaces(self, online: OnlineStore) -> None:
        online.write_batch("g", [_rec("k", 100, v="new")])
        assert online.write_batch("g", [_rec("k", 50, v="old")]) == 0
        assert online.read("g", ["k"])[0].values == {"v": "new"}  # type: ignore[union-attr]
        assert online.write_batch("g", [_rec("k", 100, v="again")]) == 1
        assert online.read("g", ["k"])[0].values == {"v": "again"}  # type: ignore[union-attr]
        assert online.write_batch("g", [_rec("k", 101, v="newer")]) == 1
        assert online.read("g", ["k"])[0].event_ns == 101  # type: ignore[union-attr]

    def test_newest_of_one_key_in_a_batch_wins(self, online: OnlineStore) -> None:
        batch = [_rec("k", 3, v="c"), _rec("k", 9, v="z"), _rec("k", 1, v="a"), _rec("k", 9, v="y")]
        assert online.write_batch("g", batch) == 1
        assert online.read("g", ["k"])[0].values == {"v": "y"}  # type: ignore[union-attr]

    def test_rewriting_the_same_batch_changes_nothing(self, online: OnlineStore) -> None:
        batch = [_rec(str(i), 1000 + i, v=i) for i in range(50)]
        online.write_batch("g", batch)
        first = online.read("g", [str(i) for i in range(50)])
        online.write_batch("g", batch)
        assert online.read("g", [str(i) for i in range(50)]) == first
        assert online.count("g") == 50

    def test_soft_delete_marker_hides_and_blocks_older_writes(self, online: OnlineStore) -> None:
        online.write_batch("g", [_rec("k", 10, v=1)])
        online.write_batch("g", [OnlineRecord("k", 20, {}, deleted=True)])
        assert online.read("g", ["k"]) == [None]
        assert online.write_batch("g", [_rec("k", 15, v=2)]) == 0
        assert online.read("g", ["k"]) == [None]
        online.write_batch("g", [_rec("k", 30, v=3)])
        assert online.read("g", ["k"])[0].values == {"v": 3}  # type: ignore[union-attr]

    def test_hard_delete_removes_records(self, online: OnlineStore) -> None:
        online.write_batch("g", [_rec("a", 10, v=1), _rec("b", 10, v=2)])
        assert online.delete("g", ["a", "zz"]) == 1
        assert online.read("g", ["a", "b"])[0] is None
        assert online.count("g") == 1
        assert online.write_batch("g", [_rec("a", 5, v=9)]) == 1  # nothing newer remains

    def test_expired_records_read_as_none(self, online: OnlineStore) -> None:
        now = now_ns()
        online.write_batch(
            "g",
            [
                OnlineRecord("live", now, {"v": 1}, expires_ns=now + HOUR),
                OnlineRecord("gone", now - 2 * HOUR, {"v": 2}, expires_ns=now - HOUR),
            ],
        )
        live, gone = online.read("g", ["live", "gone"])
        assert live is not None and live.values == {"v": 1} and gone is None
        assert online.read("g", ["live"], at_ns=now + 2 * HOUR) == [None]

    def test_groups_are_separate_and_can_be_dropped(self, online: OnlineStore) -> None:
        online.write_batch("one", [_rec("k", 1, v=1), _rec("j", 1, v=1)])
        online.write_batch("two", [_rec("k", 1, v=2)])
        assert online.read("two", ["k"])[0].values == {"v": 2}  # type: ignore[union-attr]
        assert online.drop_group("one") == 2
        assert online.count("one") == 0 and online.count("two") == 1

    def test_keys_with_special_characters(self, online: OnlineStore) -> None:
        keys = ["a:b", "*", "x y", "ü-ß", "[1]"]
        online.write_batch("g", [OnlineRecord(k, 1, {"key": k}) for k in keys])
        assert [r.values["key"] for r in online.read("g", keys)] == keys  # type: ignore[union-attr]
        assert online.count("g") == len(keys)

    def test_a_failing_batch_writes_nothing(self, online: OnlineStore) -> None:
        batch = [_rec("ok", 1, v=1), OnlineRecord("bad", 1, {"v": object()})]
        with pytest.raises(TypeError):
            online.write_batch("g", batch)
        assert online.read("g", ["ok", "bad"]) == [None, None]
        assert online.count("g") == 0

    def test_large_batches_and_reads(self, online: OnlineStore) -> None:
        keys = [str(i) for i in range(2500)]
        assert online.write_batch("g", [_rec(k, 1, v=int(k)) for k in keys]) == 2500
        got = online.read("g", keys)
        assert [r.values["v"] for r in got] == list(range(2500))  # type: ignore[union-attr]

    def test_concurrent_writers_from_threads(self, online: OnlineStore) -> None:
        def write(offset: int) -> None:
            for n in range(5):
                online.write_batch("g", [_rec(f"{offset}-{n}-{i}", i, v=i) for i in range(40)])

        threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert online.count("g") == 4 * 5 * 40

    def test_a_second_connection_sees_committed_batches(self, open_online: OpenOnline) -> None:
        if not self.connections_share_data:
            pytest.skip("in-memory stores are private to one connection")
        with open_online() as writer, open_online() as reader:
            writer.write_batch("g", [_rec("k", 1, v=1)])
            assert reader.read("g", ["k"])[0].values == {"v": 1}  # type: ignore[union-attr]
