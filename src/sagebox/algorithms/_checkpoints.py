"""Training checkpoints in a local directory: atomic writes, retention, compatibility checks.

A checkpoint is one file ``checkpoint-<global step, 8 digits>.pt`` written with
:func:`torch.save` to a hidden temporary name and renamed into place, so that a reader (the
job's checkpoint sync, a resumed run) never sees a half-written file. Each holds a
``fingerprint`` of the model it belongs to; resuming from a checkpoint of another model is an
error rather than a silent mismatch.

Example:
    >>> save_checkpoint(Path("ckpt"), 40, {"fingerprint": {"arch": "bert"}}, keep=2)
    >>> latest_checkpoint(Path("ckpt")).name
    'checkpoint-00000040.pt'
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sagebox.errors import InputDataError

__all__ = ["checkpoint_files", "latest_checkpoint", "load_checkpoint", "save_checkpoint"]

_NAME = re.compile(r"^checkpoint-(\d{8})\.pt$")


def checkpoint_files(directory: Path) -> list[Path]:
    """Complete checkpoint files in ``directory``, oldest (lowest step) first."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.is_file() and _NAME.match(p.name)]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))  # type: ignore[union-attr]


def latest_checkpoint(directory: Path) -> Path | None:
    """The newest complete checkpoint in ``directory``, or None."""
    files = checkpoint_files(directory)
    return files[-1] if files else None


def save_checkpoint(directory: Path, step: int, state: dict[str, Any], keep: int) -> Path:
    """Write ``state`` as the checkpoint of ``step`` atomically; keep the newest ``keep``."""
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"checkpoint-{step:08d}.pt"
    tmp = directory / f".{final.name}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, final)
    for old in checkpoint_files(directory)[: -max(1, keep)]:
        old.unlink(missing_ok=True)
    return final


def load_checkpoint(path: Path, fingerprint: dict[str, Any]) -> dict[str, Any]:
    """Load a checkpoint and check that it belongs to a model with ``fingerprint``.

    Raises:
        InputDataError: if the file is unreadable or was written for a different model.
    """
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user problem
        raise InputDataError(
            f"checkpoint {path.name} cannot be read: {type(exc).__name__}: {exc}"[:300],
            hint="delete it from the checkpoint URI or use a new checkpoint_uri",
        ) from exc
    stored = state.get("fingerprint") if isinstance(state, dict) else None
    if stored != fingerprint:
        diffs = [
            f"{key} {stored.get(key)!r} != {value!r}"
            for key, value in fingerprint.items()
            if isinstance(stored, dict) and stored.get(key) != value
        ] or ["it is not a sagebox text-transformer checkpoint"]
        raise InputDataError(
            f"checkpoint {path.name} belongs to an incompatible model: {'; '.join(diffs)}",
            hint="use a new checkpoint_uri for a different model, or delete the old checkpoints",
        )
    return dict(state)
