"""Writing Parquet datasets (modes, partitions, atomic commits), CSV and JSON to the lake."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from sagebox import lake
from sagebox.errors import InputDataError
from sagebox.lake._state import STATE_NAME, DatasetState
from sagebox.session import Session

OLD = pd.DataFrame({"id": [1, 2, 3], "cat": ["a", "b", "c"]})
NEW = pd.DataFrame({"id": [10, 20], "cat": ["a", "d"]})


def _ids(session: Session, where: str = "cur/t/") -> list[int]:
    return sorted(int(i) for i in lake.read_parquet(where, session=session)["id"])


def test_modes_on_a_partitioned_dataset(lake_session: Session) -> None:
    s = lake_session
    first = lake.to_parquet(OLD, "cur/t/", partition_cols=["cat"], mode="overwrite", session=s)
    assert first.rows == 3 and len(first.files) == 3
    assert [p["cat"] for p in first.partitions] == ["a", "b", "c"]
    lake.to_parquet(NEW, "cur/t/", partition_cols=["cat"], mode="append", session=s)
    assert _ids(s) == [1, 2, 3, 10, 20]
    replaced = lake.to_parquet(
        NEW, "cur/t/", partition_cols=["cat"], mode="overwrite_partitions", session=s
    )
    assert replaced.replaced == 3  # cat=a had the original file and the appended one; cat=d one
    assert _ids(s) == [2, 3, 10, 20]
    lake.to_parquet(NEW, "cur/t/", partition_cols=["cat"], mode="overwrite", session=s)
    assert _ids(s) == [10, 20]
    keys = [i.key for i in s.storage.list("cur/t/")]
    data = [k for k in keys if not k.endswith(STATE_NAME)]
    assert all("cat=a" in k or "cat=d" in k for k in data), keys  # old files deleted
    state = DatasetState.read(s.storage, "cur/t")
    assert not state.pending and not state.removed  # nothing left pending or to delete


def test_single_object_and_unpartitioned_folder(lake_session: Session) -> None:
    s = lake_session
    lake.to_parquet(OLD, "cur/one.parquet", mode="overwrite", session=s)
    assert _ids(s, "cur/one.parquet") == [1, 2, 3]
    with pytest.raises(InputDataError, match="cannot append to the single Parquet object"):
        lake.to_parquet(OLD, "cur/one.parquet", session=s)
    lake.to_parquet(OLD, "cur/plain/", session=s)
    lake.to_parquet(NEW, "cur/plain/", session=s)
    assert _ids(s, "cur/plain/") == [1, 2, 3, 10, 20]


class _FailingStore:
    """Wraps a store; the ``fail_at``-th data write raises, ``on_write`` runs before each."""

    def __init__(self, store: Any, fail_at: int | None = None, on_write: Any = None) -> None:
        self._store = store
        self._fail_at = fail_at
        self._on_write = on_write
        self.writes = 0

    def write_bytes(self, key: str, data: bytes) -> None:
        if not key.endswith(STATE_NAME):
            self.writes += 1
            if self._on_write is not None:
                self._on_write()
            if self.writes == self._fail_at:
                raise OSError("disk full (simulated)")
        self._store.write_bytes(key, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_failed_overwrite_keeps_the_old_data(lake_session: Session) -> None:
    s = lake_session
    lake.to_parquet(OLD, "cur/t/", partition_cols=["cat"], mode="overwrite", session=s)
    before = sorted(i.key for i in s.storage.list("cur/t/"))
    loc = lake.locate("cur/t/", s)
    failing = lake.Location(_FailingStore(loc.store, fail_at=2), loc.key, loc.text)  # type: ignore[arg-type]
    with pytest.raises(OSError, match="simulated"):
        lake.to_parquet(NEW, failing, partition_cols=["cat"], mode="overwrite")
    assert _ids(s) == [1, 2, 3]
    assert sorted(i.key for i in s.storage.list("cur/t/")) == before  # partial files removed


def test_readers_see_old_or_new_never_a_mix(lake_session: Session) -> None:
    s = lake_session
    lake.to_parquet(OLD, "cur/t/", partition_cols=["cat"], mode="overwrite", session=s)
    seen: list[list[int]] = []
    loc = lake.locate("cur/t/", s)
    spy = _FailingStore(loc.store, on_write=lambda: seen.append(_ids(s)))
    lake.to_parquet(
        NEW, lake.Location(spy, loc.key, loc.text), partition_cols=["cat"], mode="overwrite"
    )  # type: ignore[arg-type]
    assert seen == [[1, 2, 3], [1, 2, 3]]  # during the write: the old data, whole
    assert _ids(s) == [10, 20]


def test_foreign_files_in_a_dataset_stay_visible(lake_session: Session) -> None:
    s = lake_session
    lake.to_parquet(OLD, "cur/t/", mode="append", session=s)
    OLD.assign(id=[7, 8, 9]).to_parquet(s.settings.home.parent / "x.parquet", index=False)
    lake.put(s.settings.home.parent / "x.parquet", "cur/t/", session=s)
    assert _ids(s) == [1, 2, 3, 7, 8, 9]


def test_csv_and_json_round_trips(lake_session: Session) -> None:
    s = lake_session
    lake.to_csv(OLD, "exp/a.tsv.gz", session=s)
    assert s.storage.read_bytes("exp/a.tsv.gz")[:2] == b"\x1f\x8b"
    assert lake.read_csv("exp/a.tsv.gz", session=s).equals(OLD)
    lake.to_json(OLD, "exp/a.jsonl", session=s)
    assert lake.read_json("exp/a.jsonl", session=s)["cat"].tolist() == ["a", "b", "c"]


def test_bad_writes(sagebox_env: object) -> None:
    s = Session()
    with pytest.raises(InputDataError, match="unknown write mode 'upsert'"):
        lake.to_parquet(OLD, "cur/x/", mode="upsert", session=s)  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="partition column.*'nope' not in the data"):
        lake.to_parquet(OLD, "cur/x/", partition_cols=["nope"], session=s)
    with pytest.raises(InputDataError, match="every column is a partition column"):
        lake.to_parquet(OLD, "cur/x/", partition_cols=["id", "cat"], session=s)
    with pytest.raises(InputDataError, match="needs partition_cols"):
        lake.to_parquet(OLD, "cur/x/", mode="overwrite_partitions", session=s)
    with pytest.raises(InputDataError, match="cannot write to a glob"):
        lake.to_parquet(OLD, "cur/*/", session=s)
    with pytest.raises(InputDataError, match="written to one object"):
        lake.to_csv(OLD, "exp/folder/", session=s)
    assert s.storage.list("") == []  # nothing half-written
