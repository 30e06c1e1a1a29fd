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

With the profiler on, the node task's environment has :data:`MONITOR_ENV` (seconds between
samples): then this process does not ``exec`` but stays as the trainer's parent, samples its
machine with :class:`sagebox.profiler.monitor.SystemMonitor` as its host (``SM_CURRENT_HOST``)
into ``ROOT/debug/system/<host>.jsonl`` (the debug directory the node task syncs to the job's
``debug-output/``, one file per host as the profiler report expects) while the trainer runs in
its own process group, forwards SIGTERM/SIGINT to that group, and exits with the trainer's
status (``128 + N`` when a signal N ended it, as the node task reports it). Before the trainer
starts, an event file restored from an earlier attempt is cut after its last complete line,
so the lines appended now never join a record the lost node left half-written.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

__all__ = ["MONITOR_ENV", "main"]

#: The node task's variable asking for the system monitor: seconds between two samples.
MONITOR_ENV = "SAGEBOX_SYSTEM_MONITOR_SECONDS"


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
    _trim_partial_events(root / "debug")
    if entry_point == "--builtin":
        return _become([sys.executable, "-m", "sagebox.training.builtin"], root, root)
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
    return _become([runner, str(script), *script_args], code_dir, root)


def _become(argv: list[str], cwd: Path, root: Path) -> int:
    """Exec ``argv`` in ``cwd``; with :data:`MONITOR_ENV`, run it beside the system monitor."""
    sys.stdout.flush()
    seconds = _monitor_seconds()
    if seconds is None:
        os.chdir(cwd)
        os.execv(argv[0], argv)
    return _run_monitored(argv, cwd, root / "debug", seconds)


def _monitor_seconds() -> float | None:
    value = os.environ.get(MONITOR_ENV, "").strip()
    try:
        seconds = float(value) if value else None
    except ValueError:
        print(f"{MONITOR_ENV}={value!r} is not a number of seconds; no system monitor", flush=True)
        return None
    return seconds if seconds is not None and seconds > 0 else None


def _run_monitored(argv: list[str], cwd: Path, debug_dir: Path, seconds: float) -> int:
    """Run the trainer in its own process group while sampling this machine; its status."""
    from sagebox.backends.compute.lifetime import die_with_parent, exit_status, signals_forwarded

    monitor = None
    host = os.environ.get("SM_CURRENT_HOST") or "algo-1"
    try:
        from sagebox.profiler.monitor import SystemMonitor

        monitor = SystemMonitor(debug_dir, host=host, interval_s=seconds)
        monitor.start()
    except Exception as exc:  # noqa: BLE001 - profiling must never fail the training
        print(f"the system monitor could not start: {type(exc).__name__}: {exc}", flush=True)
    dying = die_with_parent()

    def own_group() -> None:  # the trainer's group: signalled once, by us, and cleaned up
        os.setpgid(0, 0)
        if dying is not None:
            dying()

    try:
        proc = subprocess.Popen(argv, cwd=cwd, preexec_fn=own_group)
    except OSError as exc:
        print(f"error: cannot start {argv[0]}: {exc}", flush=True)
        print("hint: check the entry point and the node's PATH", flush=True)
        if monitor is not None:
            monitor.stop()
        return 2

    try:
        with signals_forwarded(proc):  # the trainer's group: signalled by us, then cleaned up
            code = proc.wait()
    finally:
        if monitor is not None:
            monitor.stop()
    return exit_status(code)


def _trim_partial_events(debug_dir: Path) -> None:
    """Cut this host's restored ``<stream>/<host>.jsonl`` files after their last full line.

    Only this host's files: the other hosts' files restored beside them belong to their own
    nodes, and are never changed (so never uploaded) here.
    """
    host = os.environ.get("SM_CURRENT_HOST") or "algo-1"
    for path in debug_dir.glob(f"*/{host}.jsonl") if debug_dir.is_dir() else []:
        try:
            with open(path, "rb+") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - 65536))
                tail = fh.read()
                if not tail or tail.endswith(b"\n"):
                    continue
                cut = tail.rfind(b"\n")
                if cut < 0 and size > len(tail):
                    continue  # a line longer than the window: the reader skips it
                fh.truncate(size - len(tail) + cut + 1)
        except OSError as exc:
            print(f"could not check {path.name}: {exc}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
