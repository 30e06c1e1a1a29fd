"""Concurrent and crashed lake writes: parallel appends (processes), kill -9, vacuum, temp sweep.

The probes of issue 15: 20 concurrent appends to one dataset lost 4 (the state object was
read-modified-written without a lock); pending files of killed writers and temp files of killed
``lake put``s were never reclaimed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sagebox import lake
from sagebox.backends.storage.local import TEMP_SUFFIX, LocalObjectStore
from sagebox.cli.main import main
from sagebox.config import Settings
from sagebox.lake._state import STATE_NAME, DatasetState
from sagebox.session import Session

FORK = multiprocessing.get_context("fork")
#: the appenders start fresh interpreters: a forked child inherits the parent's threads' locks
#: (s3fs's event loop, earlier tests' clients) and crashed once in CI with "double free"
SPAWN = multiprocessing.get_context("spawn")
OLD = pd.DataFrame({"id": [1, 2, 3], "cat": ["a", "b", "c"]})
NEW = pd.DataFrame({"id": [10, 20, 30, 40], "cat": ["a", "b", "d", "e"]})
APPENDERS = 20


def _ids(session: Session, where: str) -> list[int]:
    return sorted(int(i) for i in lake.read_parquet(where, session=session)["id"])


def _wait_for(check: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _append(settings: Settings, start: Any, n: int) -> None:
    start.wait(timeout=120)
    frame = pd.DataFrame({"id": [n], "writer": [os.getpid()]})
    lake.to_parquet(frame, "cur/appends/", mode="append", session=Session(settings))


def test_parallel_appends_from_processes_lose_no_rows(lake_session: Session) -> None:
    start = SPAWN.Event()
    procs = [
        SPAWN.Process(target=_append, args=(lake_session.settings, start, n))
        for n in range(APPENDERS)
    ]
    for proc in procs:
        proc.start()
    start.set()
    for proc in procs:
        proc.join(timeout=300)
    assert [proc.exitcode for proc in procs] == [0] * APPENDERS
    assert _ids(lake_session, "cur/appends/") == list(range(APPENDERS))  # every row visible
    state = DatasetState.read(lake_session.storage, "cur/appends")
    assert not state.pending and not state.removed


class _Stopping:
    """Wraps a store: at the chosen call the writer announces it (a marker file) and hangs."""

    def __init__(self, store: Any, stop_at: tuple[str, int], marker: Path) -> None:
        self._store = store
        self._stop_at = stop_at
        self._marker = marker
        self._calls: dict[str, int] = {}

    def _tick(self, kind: str) -> None:
        self._calls[kind] = self._calls.get(kind, 0) + 1
        if (kind, self._calls[kind]) == self._stop_at:
            self._marker.write_text(str(os.getpid()))
            threading.Event().wait()  # until kill -9

    def write_bytes(self, key: str, data: bytes) -> None:
        self._tick("data")
        self._store.write_bytes(key, data)

    def write_bytes_if(self, key: str, data: bytes, version: str | None) -> bool:
        self._tick("state")
        return bool(self._store.write_bytes_if(key, data, version))

    def delete(self, key: str) -> None:
        self._tick("delete")
        self._store.delete(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _doomed_overwrite(settings: Settings, stop_at: tuple[str, int], marker: Path) -> None:
    session = Session(settings)
    loc = lake.locate("cur/t/", session)
    stopping = lake.Location(_Stopping(loc.store, stop_at, marker), loc.key, loc.text)  # type: ignore[arg-type]
    lake.to_parquet(NEW, stopping, partition_cols=["cat"], mode="overwrite")


#: where the writer is killed → the ids readers must see afterwards
KILL_POINTS = {
    ("data", 1): [1, 2, 3],  # announced, no file written
    ("data", 3): [1, 2, 3],  # 2 of 4 pending files written
    ("state", 2): [1, 2, 3],  # every file written, just before the commit
    ("delete", 1): [10, 20, 30, 40],  # committed, replaced files not deleted yet
}


@pytest.mark.parametrize("stop_at", list(KILL_POINTS), ids=lambda p: f"{p[0]}{p[1]}")
def test_killed_writer_keeps_committed_data_and_vacuum_reclaims(
    lake_session: Session, stop_at: tuple[str, int], tmp_path: Path
) -> None:
    s = lake_session
    lake.to_parquet(OLD, "cur/t/", partition_cols=["cat"], mode="overwrite", session=s)
    marker = tmp_path / "stopped"
    proc = FORK.Process(target=_doomed_overwrite, args=(s.settings, stop_at, marker))
    proc.start()
    _wait_for(lambda: marker.exists() or not proc.is_alive(), "the writer to reach the point")
    assert marker.exists(), f"writer exited with {proc.exitcode} before the kill point"
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=60)
    assert proc.exitcode == -signal.SIGKILL

    assert _ids(s, "cur/t/") == KILL_POINTS[stop_at]  # readable, exactly the committed data
    data_files = [i for i in s.storage.list("cur/t/") if not i.key.endswith(STATE_NAME)]
    expected_left = {("data", 1): 0, ("data", 3): 2, ("state", 2): 4, ("delete", 1): 3}[stop_at]
    committed = 3 if KILL_POINTS[stop_at] == [1, 2, 3] else 4
    assert len(data_files) == committed + expected_left  # the dead writer's leftovers

    dry = lake.vacuum("cur/", dry_run=True, session=s)
    assert len(dry.files) == expected_left
    assert len(s.storage.list("cur/t/")) == len(data_files) + 1  # dry run removed nothing
    result = lake.vacuum("cur/", session=s)  # default 1 h: the writer on this host is dead
    assert len(result.files) == expected_left and result.bytes > 0 or expected_left == 0
    left = [i for i in s.storage.list("cur/t/") if not i.key.endswith(STATE_NAME)]
    assert len(left) == committed
    assert _ids(s, "cur/t/") == KILL_POINTS[stop_at]
    state = DatasetState.read(s.storage, "cur/t")
    assert not state.pending and not state.removed


def test_next_write_rolls_back_a_killed_writer(lake_session: Session, tmp_path: Path) -> None:
    s = lake_session
    lake.to_parquet(OLD, "cur/t/", partition_cols=["cat"], mode="overwrite", session=s)
    marker = tmp_path / "stopped"
    proc = FORK.Process(target=_doomed_overwrite, args=(s.settings, ("state", 2), marker))
    proc.start()
    _wait_for(lambda: marker.exists() or not proc.is_alive(), "the writer to reach the point")
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=60)
    assert len(s.storage.list("cur/t/")) == 3 + 4 + 1  # 4 orphaned pending files
    lake.to_parquet(NEW.iloc[:1], "cur/t/", partition_cols=["cat"], mode="overwrite", session=s)
    assert _ids(s, "cur/t/") == [10]
    assert len(s.storage.list("cur/t/")) == 1 + 1  # orphans reclaimed by the overwrite


def _hung_put(root: str, marker: Path) -> None:
    def write(tmp: Any) -> None:
        tmp.write(os.urandom(1 << 20))
        tmp.flush()
        marker.write_text("writing")
        threading.Event().wait()  # until kill -9

    LocalObjectStore(root)._atomic_write("raw/big.bin", write)


def test_killed_put_temp_file_is_swept(
    sagebox_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Session().storage.uri
    marker = tmp_path / "writing"
    proc = FORK.Process(target=_hung_put, args=(root, marker))
    proc.start()
    _wait_for(lambda: marker.exists() or not proc.is_alive(), "the upload to start")
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=60)
    raw = sagebox_env / "lake" / "raw"
    temps = [p for p in raw.iterdir() if p.name.endswith(TEMP_SUFFIX)]
    assert len(temps) == 1 and temps[0].stat().st_size == 1 << 20
    assert Session().storage.list("raw/") == []  # never listed as an object

    assert main(["lake", "vacuum", "raw/", "--older-than", "0", "--dry-run", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["bytes"] == 1 << 20 and report["temp_files"] == 1 and report["dry_run"]
    assert temps[0].exists()
    assert main(["lake", "vacuum", "raw/", "--json"]) == 0  # 1 h default: too young to sweep
    assert json.loads(capsys.readouterr().out)["files"] == [] and temps[0].exists()

    two_hours_ago = time.time() - 7200
    os.utime(temps[0], (two_hours_ago, two_hours_ago))
    small = tmp_path / "small.csv"
    small.write_text("a\n1\n")
    assert main(["lake", "put", str(small), "raw/"]) == 0  # the next write sweeps the folder
    assert not temps[0].exists()
    assert [i.key for i in Session().storage.list("raw/")] == ["raw/small.csv"]


def test_vacuum_cli_help_and_bad_age(sagebox_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lake", "vacuum", "--help"]) == 0
    assert "--older-than" in capsys.readouterr().out
    assert main(["lake", "vacuum", "--older-than", "soon"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("error: ") and "'soon'" in err[0]
