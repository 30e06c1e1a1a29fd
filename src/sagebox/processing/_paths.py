"""Run a processing script with SageMaker's container paths mapped to local directories.

``python -m sagebox.processing._paths SCRIPT [ARGS...]`` runs ``SCRIPT`` as ``__main__``
after wrapping ``open``, ``io.open`` and the path functions of ``os`` (hence ``os.path``,
``os.walk``, ``os.makedirs`` and ``glob``) so that a path starting with ``/opt/ml/`` means
the same path below ``$SAGEBOX_PROCESSING_ROOT``. So a course script that reads
``/opt/ml/processing/input/data/*.csv`` with pandas and writes CSV files to
``/opt/ml/processing/output/...`` runs unchanged.

Libraries that open files in native code (pyarrow's ``to_parquet`` and ``read_parquet``)
do not go through these functions: give them the paths from the arguments or the
``SAGEBOX_PROCESSING_INPUT_<NAME>``/``..._OUTPUT_<NAME>`` variables instead.
"""

from __future__ import annotations

import builtins
import functools
import io
import os
import runpy
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["install", "main", "map_path"]

_PREFIX = "/opt/ml"
_PATH_FUNCTIONS = (
    "stat",
    "lstat",
    "listdir",
    "scandir",
    "mkdir",
    "remove",
    "unlink",
    "rmdir",
    "access",
    "chmod",
    "utime",
)
_TWO_PATH_FUNCTIONS = ("rename", "replace")


def map_path(path: Any, root: str) -> Any:
    """``/opt/ml/...`` → ``<root>/opt/ml/...``; other paths (and file descriptors) unchanged."""
    if isinstance(path, int):
        return path
    try:
        text = os.fspath(path)
    except TypeError:
        return path
    if isinstance(text, bytes):
        return path
    if text == _PREFIX or text.startswith(_PREFIX + "/"):
        return root.rstrip("/") + text
    return path


def _wrap(function: Callable[..., Any], root: str, paths: int = 1) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        mapped = [map_path(a, root) if i < paths else a for i, a in enumerate(args)]
        for key in ("file", "path", "src", "dst"):
            if key in kwargs:
                kwargs[key] = map_path(kwargs[key], root)
        return function(*mapped, **kwargs)

    return wrapper


def install(root: str) -> None:
    """Map ``/opt/ml/...`` to ``root`` for ``open`` and ``os`` in this process."""
    builtins.open = _wrap(builtins.open, root)
    io.open = builtins.open
    for name in _PATH_FUNCTIONS:
        if hasattr(os, name):
            setattr(os, name, _wrap(getattr(os, name), root))
    for name in _TWO_PATH_FUNCTIONS:
        setattr(os, name, _wrap(getattr(os, name), root, paths=2))


def main(argv: list[str] | None = None) -> int:
    """Run the script in argv with paths mapped; return its exit status."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m sagebox.processing._paths SCRIPT [ARGS...]", file=sys.stderr)
        return 2
    root = os.environ.get("SAGEBOX_PROCESSING_ROOT")
    if root:
        install(root)
    script = args[0]
    sys.argv = list(args)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
