"""A processing worker running a Python function: ``python -m sagebox.processing.worker SPEC``.

The spec (JSON, written by the processing job) names the function (``module:qualname``, or
a cloudpickled one), this worker's host and its directories. On a cluster, where the node's
directory is not known when the spec is written, ``SPEC --root ROOT`` resolves the spec's
relative paths (and ``{root}`` in its arguments) against ``ROOT``. The function gets a
:class:`~sagebox.processing.spec.ProcessingEnvironment`. A :class:`SageboxError` ends the
worker with ``error:``/``hint:`` lines (which become the job's failure reason); any other
exception with its traceback.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["load_function", "main"]


def load_function(code: dict[str, Any]) -> Callable[..., Any]:
    """The function a processing job's ``code`` names.

    Raises:
        InputDataError: if it cannot be imported or unpickled.
    """
    from sagebox.errors import InputDataError

    if "pickled_path" in code:
        import cloudpickle

        with open(code["pickled_path"], "rb") as fh:
            function: Callable[..., Any] = cloudpickle.load(fh)
        return function
    target = str(code["callable"])
    module_name, _, qualname = target.partition(":")
    try:
        value: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError) as exc:
        raise InputDataError(
            f"cannot load processing function {target!r}: {exc}",
            hint="give an importable module:function",
        ) from exc
    if not callable(value):
        raise InputDataError(f"{target!r} is not callable", hint="give a function")
    return value  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    """Run the function of the spec file in argv; exit 0 on success."""
    from sagebox.errors import SageboxError
    from sagebox.processing.spec import ProcessingEnvironment

    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 3) or (len(args) == 3 and args[1] != "--root"):
        print("usage: python -m sagebox.processing.worker SPEC.json [--root ROOT]", file=sys.stderr)
        return 2
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    given = args[2] if len(args) == 3 else None
    root = Path(given) if given else Path(spec["root"])
    code = dict(spec["code"])
    if "pickled_path" in code:
        code["pickled_path"] = str(root / code["pickled_path"])  # an absolute path stays
    arguments = [str(a) for a in spec["arguments"]]
    if given:
        arguments = [a.replace("{root}", given) for a in arguments]
    env = ProcessingEnvironment(
        job_name=spec["job_name"],
        host=spec["host"],
        hosts=list(spec["hosts"]),
        inputs={k: root / v for k, v in spec["inputs"].items()},
        outputs={k: root / v for k, v in spec["outputs"].items()},
        arguments=arguments,
        root=root,
    )
    try:
        load_function(code)(env)
    except SageboxError as exc:
        print(f"error: {exc.message}", flush=True)
        if exc.hint:
            print(f"hint: {exc.hint}", flush=True)
        return 1
    except Exception:  # noqa: BLE001 - the traceback goes to the job log
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
