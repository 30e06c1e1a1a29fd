"""Keep a job's processes from outliving it: the parent-death signal and group clean-up.

A job runner killed with SIGKILL cannot stop what it started. Two mechanisms cover that:

- :func:`die_with_parent` gives ``subprocess.Popen`` a ``preexec_fn`` that asks Linux to send
  the child SIGKILL when the process that started it dies (``prctl(PR_SET_PDEATHSIG)``). The
  signal follows the *thread* that started the child, so start such children from a thread
  that lives as long as they do (the job's main thread). Other systems get no such function.
- :func:`kill_group_members` ends every other process of a process group (the runner's own
  group when it exits, or a lost runner's group when someone notices it died).

:func:`signals_forwarded` runs a child that leads its own process group the way a container's
init runs its command: SIGTERM and SIGINT sent to this process go to the child's group, and
whatever the group still holds is killed when the child is done.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = [
    "die_with_parent",
    "exit_status",
    "group_members",
    "group_running",
    "kill_group_members",
    "pid_alive",
    "signals_forwarded",
]

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: signal.Signals = signal.SIGKILL) -> Callable[[], None] | None:
    """A ``preexec_fn`` making the child get ``sig`` when this process dies (Linux), or None.

    Example:
        >>> import subprocess
        >>> subprocess.run(["true"], preexec_fn=die_with_parent(), check=True).returncode
        0
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # loaded here: the child must not load it
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    number = int(sig)

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, number, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), number)

    return preexec


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (a zombie, ended but not reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0)
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def group_running(pgid: int) -> bool:
    """Whether a process of group ``pgid`` runs (zombies do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return bool(group_members(pgid))


def group_members(pgid: int) -> list[int]:
    """The pids of the live processes (not zombies) of process group ``pgid`` (Linux: /proc)."""
    members = []
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[-1].split()
        except OSError:
            continue  # it ended meanwhile
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            members.append(int(entry))
    return members


def kill_group_members(pgid: int, sig: signal.Signals = signal.SIGKILL) -> int:
    """Send ``sig`` to every process of group ``pgid`` but this one; return how many got it."""
    me = os.getpid()
    sent = 0
    for pid in group_members(pgid):
        if pid == me:
            continue
        try:
            os.kill(pid, sig)
            sent += 1
        except (ProcessLookupError, PermissionError):
            continue
    return sent


@contextlib.contextmanager
def signals_forwarded(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """Forward SIGTERM and SIGINT to ``proc``'s process group while the block runs.

    ``proc`` must lead its own group (``start_new_session=True`` or ``setpgid(0, 0)``). When
    the block ends, however it ends, the previous handlers come back, what is left of the group
    is killed (SIGKILL) and ``proc`` is reaped. Call it from the main thread.
    """

    def forward(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # what the command left in its group
        if proc.poll() is None:
            proc.wait()


def exit_status(returncode: int) -> int:
    """A child's return code as a shell reports it: ``128 + N`` when signal N ended it.

    Example:
        >>> exit_status(-9), exit_status(3)
        (137, 3)
    """
    return returncode if returncode >= 0 else 128 - returncode
