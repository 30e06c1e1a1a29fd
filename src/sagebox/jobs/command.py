"""The ``command`` job kind: run an arbitrary command line, its output going to the job log."""

from __future__ import annotations

import subprocess

from sagebox.errors import JobError
from sagebox.jobs.context import JobContext


def run_command_job(ctx: JobContext) -> None:
    """Run ``parameters["argv"]`` in the job's work dir; fail if it exits non-zero."""
    argv = [str(a) for a in ctx.parameters["argv"]]
    proc = subprocess.Popen(argv, cwd=ctx.workdir)
    try:
        code = proc.wait()
    except BaseException:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
    if code != 0:
        raise JobError(f"command {argv[0]!r} exited with status {code}", hint="see the job log")
