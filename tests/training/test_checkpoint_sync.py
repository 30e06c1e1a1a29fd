"""The checkpoint directory mirror, and checkpoint files (atomic, retained, fingerprinted)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from sagebox.algorithms._checkpoints import (
    checkpoint_files,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from sagebox.errors import InputDataError
from sagebox.session import Session
from sagebox.training.checkpoint_sync import CheckpointSync
from tests.training.conftest import wait_for


def _keys(session: Session, prefix: str) -> list[str]:
    return [i.key.removeprefix(prefix) for i in session.storage.list(prefix)]


def test_restore_sync_and_prune(session: Session, tmp_path: Path) -> None:
    session.storage.write_bytes("ck/run/old.pt", b"old")
    local = tmp_path / "ckpt"
    local.mkdir()
    (local / "stale.pt").write_bytes(b"from an earlier attempt")
    sync = CheckpointSync(session.storage, "ck/run", local)
    assert sync.restore() == 1
    assert sorted(p.name for p in local.iterdir()) == ["old.pt"]
    (local / "a.pt").write_bytes(b"a")
    (local / ".b.pt.tmp").write_bytes(b"being written")
    (local / "sub").mkdir()
    (local / "sub" / "c.bin").write_bytes(b"c")
    assert sync.sync() == 2
    assert _keys(session, "ck/run/") == ["a.pt", "old.pt", "sub/c.bin"]
    assert sync.sync() == 0  # nothing changed
    (local / "old.pt").unlink()
    (local / "a.pt").write_bytes(b"a2")
    assert sync.sync() == 2
    assert _keys(session, "ck/run/") == ["a.pt", "sub/c.bin"]
    assert session.storage.read_bytes("ck/run/a.pt") == b"a2"


def test_background_sync_and_sigusr1(session: Session, tmp_path: Path) -> None:
    local = tmp_path / "ckpt"
    sync = CheckpointSync(session.storage, "ck/bg/", local, interval=60)
    sync.restore()
    with sync.running():
        (local / "x.pt").write_bytes(b"x")
        started = time.monotonic()
        os.kill(os.getpid(), signal.SIGUSR1)  # "a checkpoint was written": sync now
        wait_for(lambda: _keys(session, "ck/bg/") == ["x.pt"], timeout=10, what="the sync")
        assert time.monotonic() - started < 10
        (local / "y.pt").write_bytes(b"y")
    assert _keys(session, "ck/bg/") == ["x.pt", "y.pt"]  # the final sync on exit


def test_checkpoint_files_are_atomic_retained_and_fingerprinted(tmp_path: Path) -> None:
    fingerprint = {"algorithm": "text-transformer", "hidden_size": 32}
    for step in (4, 8, 12):
        save_checkpoint(tmp_path, step, {"fingerprint": fingerprint, "step": step}, keep=2)
    assert [p.name for p in checkpoint_files(tmp_path)] == [
        "checkpoint-00000008.pt",
        "checkpoint-00000012.pt",
    ]
    latest = latest_checkpoint(tmp_path)
    assert latest is not None and load_checkpoint(latest, fingerprint)["step"] == 12
    with pytest.raises(InputDataError, match="incompatible model: hidden_size 32 != 64"):
        load_checkpoint(latest, {**fingerprint, "hidden_size": 64})
    (tmp_path / "checkpoint-00000099.pt").write_bytes(b"garbage")
    with pytest.raises(InputDataError, match="cannot be read"):
        load_checkpoint(tmp_path / "checkpoint-00000099.pt", fingerprint)
    assert latest_checkpoint(tmp_path / "missing") is None
