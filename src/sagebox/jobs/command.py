"""The ``command`` job kind: run an arbitrary command line, its output going to the job log."""

from __future__ import annotations

import subprocess

from sagebox.backends.compute.lifetime import die_with_parent
from sagebox.errors import JobError
from sagebox.jobs.context import JobContext


def run_command_job(ctx: JobContext) -> None:
    """Run ``parameters["argv"]`` in the job's work dir; fail if it exits non-zero."""
    argv = [str(a) for a in ctx.parameters["argv"]]
    # the parent-death signal: a runner killed with SIGKILL takes the command along
    proc = subprocess.Popen(argv, cwd=ctx.workdir, preexec_fn=die_with_parent())
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
