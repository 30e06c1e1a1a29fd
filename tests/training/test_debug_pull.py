"""The runner's side of debugging on a cluster: pull what the nodes uploaded, never half a record.

A node uploads its event files while the hook appends to them, so an uploaded object may end
in the middle of a line; the runner's incremental reader must read that line only once the
next upload completes it. A node restarted from the lake cuts its own files after their last
complete line before appending again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sagebox.debugger.events import EventReader
from sagebox.session import Session
from sagebox.training._debug_sync import DebugOutputPull
from sagebox.training.node_worker import _trim_partial_events

PREFIX = "jobs/pull-1/debug-output/"


def _line(step: int) -> bytes:
    return json.dumps({"step": step, "mode": "train", "name": "loss", "value": 1.0}).encode()


def test_pulls_only_what_changed_and_the_reader_never_sees_half_a_record(
    session: Session, tmp_path: Path
) -> None:
    storage = session.storage
    local = tmp_path / "debug"
    pull = DebugOutputPull(storage, PREFIX, local, interval=3600)
    reader = EventReader(local, "scalars")
    whole = _line(1) + b"\n" + _line(2) + b"\n"
    storage.write_bytes(PREFIX + "scalars/algo-2.jsonl", whole + _line(3)[:9])  # cut mid-line
    storage.write_bytes(PREFIX + "meta.json", b'{"job": "pull-1"}')
    assert pull.pull() == 2
    assert [e["step"] for e in reader.read_new()] == [1, 2]
    assert pull.pull() == 0  # nothing changed: nothing downloaded
    pull.maybe_pull()  # within the interval: not even listed
    storage.write_bytes(PREFIX + "scalars/algo-2.jsonl", whole + _line(3) + b"\n")  # grown
    pull.maybe_pull(final=True)
    assert [(e["step"], e["host"]) for e in reader.read_new()] == [(3, "algo-2")]
    assert json.loads((local / "meta.json").read_text()) == {"job": "pull-1"}


def test_a_restarted_node_cuts_its_own_files_after_the_last_whole_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SM_CURRENT_HOST", "algo-2")
    debug = tmp_path / "debug"
    (debug / "scalars").mkdir(parents=True)
    mine, other = debug / "scalars" / "algo-2.jsonl", debug / "scalars" / "algo-1.jsonl"
    mine.write_bytes(_line(1) + b"\n" + _line(2)[:7])
    other.write_bytes(_line(1) + b"\n" + _line(2)[:7])
    before = os.stat(other).st_mtime_ns
    _trim_partial_events(debug)
    assert mine.read_bytes() == _line(1) + b"\n"
    assert other.read_bytes() == _line(1) + b"\n" + _line(2)[:7]  # another node's file: kept
    assert os.stat(other).st_mtime_ns == before
    _trim_partial_events(debug)  # whole lines: unchanged
    assert mine.read_bytes() == _line(1) + b"\n"
