"""The entrypoint of a task submitted through the Ray Jobs API: ``python -m`` this module.

It runs on the node Ray chose, not the submitter's: it changes to the task's working directory
(when that exists on the node), starts the task's command with its output appended to the
task's ``log_path`` *on this node*, and copies what the log receives to its own stdout, which
Ray keeps as the job's logs (:meth:`RayCompute.output` reads them from any machine). A line
:data:`OUTPUT_STARTS` separates Ray's own preamble from the task's output.

Stopping: Ray's ``stop_job`` sends SIGTERM to this process and every process below it; this
wrapper lets its task decide (it keeps copying output until the task ends). A task that
ignores the request is ended by :meth:`RayCompute.stop` after its grace period, which ends
this process group (the task stays in it). The exit code is the task's, or ``128 + signal``
for a task ended by a signal (as a shell reports it).

Usage: ``python -m sagebox.backends.compute._ray_task SPEC`` where SPEC is the JSON of
``{"argv": [...], "log_path": "...", "cwd": "..." | null, "cwd_required": bool}``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sagebox.config import create_private_file

OUTPUT_STARTS = "--- sagebox task output ---"
_POLL_SECONDS = 0.1


def _copy_new(log_path: Path, offset: int) -> int:
    """Write what ``log_path`` holds after ``offset`` to stdout; the new offset."""
    try:
        with log_path.open("rb") as log:
            log.seek(offset)
            data = log.read()
    except OSError:
        return offset
    if data:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return offset + len(data)


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    log_path = Path(spec["log_path"])
    print(OUTPUT_STARTS, flush=True)
    cwd = spec.get("cwd")
    if cwd and not Path(cwd).is_dir():
        if spec.get("cwd_required"):
            print(f"sagebox: working directory {cwd} does not exist on this node", flush=True)
            return 2
        cwd = None
    # a handler, not SIG_IGN: the task gets the default disposition back when it starts
    signal.signal(signal.SIGTERM, lambda *_: None)
    fd = create_private_file(log_path)
    offset = os.fstat(fd).st_size
    with os.fdopen(fd, "ab") as log:
        try:
            proc = subprocess.Popen(
                spec["argv"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                umask=0o077,
            )
        except FileNotFoundError:
            message = f"sagebox: cannot start task: program {spec['argv'][0]!r} not found\n"
            log.write(message.encode())
            log.flush()
            _copy_new(log_path, offset)
            return 127
    done = threading.Event()

    def wait_task() -> None:
        proc.wait()
        done.set()

    threading.Thread(target=wait_task, daemon=True).start()
    while not done.wait(_POLL_SECONDS):
        offset = _copy_new(log_path, offset)
    _copy_new(log_path, offset)
    code = proc.returncode
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
