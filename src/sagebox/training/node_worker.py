"""A training host on a cluster node: prepare its directories, then become the trainer.

``python -m sagebox.training.node_worker ROOT ENTRY_POINT [ARGS...]`` (script mode) or
``python -m sagebox.training.node_worker ROOT --builtin`` is the command of one node task of a
multi-node training job (:mod:`sagebox.training.cluster`). The node task has already
downloaded the job's channels under ``ROOT/input/data/`` (and the source archive to
``ROOT/sourcedir.tar.gz``); this makes the empty model and output directories the trainer
writes to (SageMaker's ``/opt/ml/model`` and ``/opt/ml/output/data``), then in script mode
unpacks the archive into ``ROOT/code``, installs its ``requirements.txt`` (if any) and
replaces itself (``exec``) with the entry point run with ``ARGS`` (the hyperparameters) in
``ROOT/code``; with ``--builtin`` it becomes ``python -m sagebox.training.builtin`` in
``ROOT``. So the trainer gets the node task's signals and its exit status is the task's. A bad
archive or a missing entry point ends it with ``error:`` and ``hint:`` lines, which the job
reports as its failure reason.
"""

from __future__ import annotations

import os
import sys
import tarfile
from pathlib import Path

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Prepare the source directory and exec the entry point; return 2 on bad input."""
    from sagebox.errors import SageboxError
    from sagebox.training.requirements import script_python

    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print(
            "usage: python -m sagebox.training.node_worker ROOT (ENTRY_POINT [ARGS...] | --builtin)"
        )
        return 2
    root, entry_point, script_args = Path(args[0]), args[1], args[2:]
    for directory in (root / "model", root / "output" / "data"):
        directory.mkdir(parents=True, exist_ok=True)
    if entry_point == "--builtin":
        sys.stdout.flush()
        os.chdir(root)
        os.execv(sys.executable, [sys.executable, "-m", "sagebox.training.builtin"])
    code_dir = root / "code"
    try:
        with tarfile.open(root / "sourcedir.tar.gz", "r:gz") as tar:
            tar.extractall(code_dir, filter="data")
    except (OSError, tarfile.TarError) as exc:
        print(f"error: cannot unpack the source archive: {exc}", flush=True)
        print("hint: give the Estimator a source_dir it can pack", flush=True)
        return 2
    script = code_dir / entry_point
    if not script.is_file():
        print(f"error: entry point {entry_point} is not in the source directory", flush=True)
        print("hint: give an entry_point relative to source_dir", flush=True)
        return 2
    if script.suffix == ".sh":
        runner = "/bin/sh"
    else:
        try:
            runner = script_python(code_dir, root / "venv", lambda line: print(line, flush=True))
        except SageboxError as exc:
            print(f"error: {exc.message}", flush=True)
            print(f"hint: {exc.hint or 'see the job log'}", flush=True)
            return 2
    sys.stdout.flush()
    os.chdir(code_dir)
    os.execv(runner, [runner, str(script), *script_args])


if __name__ == "__main__":
    sys.exit(main())
