"""Make a processing worker's directories, then become its command (on a cluster node).

``python -m sagebox.processing._prepare DIR... -- COMMAND [ARGS...]`` creates every ``DIR``
(a worker's input and output directories exist even when its share of an input is empty, as
on the local path) and replaces itself with ``COMMAND`` (same process: signals reach it).
"""

from __future__ import annotations

import os
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Create the directories before ``--``, then exec the command after it."""
    args = sys.argv[1:] if argv is None else list(argv)
    if "--" not in args or args.index("--") == len(args) - 1:
        print("usage: python -m sagebox.processing._prepare DIR... -- COMMAND", file=sys.stderr)
        return 2
    split = args.index("--")
    for directory in args[:split]:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    command = args[split + 1 :]
    sys.stdout.flush()
    os.execvp(command[0], command)
    return 127  # not reached: execvp raises when it fails


if __name__ == "__main__":
    sys.exit(main())
