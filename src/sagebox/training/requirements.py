"""Script mode's ``requirements.txt``, installed into the job's own environment first.

As SageMaker's training toolkit does, a ``requirements.txt`` in the source directory is
installed with pip before the entry point starts. It goes into a virtual environment of the
job (``<workdir>/venv``) layered over sagebox's: a ``.pth`` file adds sagebox's
site-packages after the venv's own, so what is installed already (torch, transformers, ...)
is neither downloaded again nor changed, and a version the script pins takes precedence in
the job only. Without a ``requirements.txt`` the script runs on sagebox's interpreter.
"""

from __future__ import annotations

import site
import subprocess
import sys
import venv
from collections.abc import Callable
from pathlib import Path

from sagebox.errors import JobError

__all__ = ["script_python"]

_LAYER = "_sagebox_base.pth"


def script_python(code_dir: Path, venv_dir: Path, log: Callable[[str], None]) -> str:
    """The interpreter to run the entry point with, after installing ``requirements.txt``.

    Raises:
        JobError: if pip cannot install the requirements (with pip's last lines).
    """
    requirements = code_dir / "requirements.txt"
    if not requirements.is_file():
        return sys.executable
    python = venv_dir / "bin" / "python"
    if not (python.exists() and _layer_path(python).is_file()):
        venv.EnvBuilder(clear=True, symlinks=True, with_pip=False).create(venv_dir)
        base = [p for p in site.getsitepackages() if Path(p).is_dir()]
        # an import line, so that the base's own .pth files (editable installs) are read too
        layer = "".join(f"import site; site.addsitedir({p!r})\n" for p in base)
        _layer_path(python).write_text(layer, encoding="utf-8")
    log(f"installing {requirements.name} into the job's environment ({venv_dir})")
    done = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-r",
            str(requirements),
        ],
        cwd=code_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    for line in lines[-20:]:
        log(f"pip: {line}")
    if done.returncode != 0:
        errors = [line for line in lines if line.startswith("ERROR")]
        reason = (errors or lines or [f"exit {done.returncode}"])[-1]
        raise JobError(
            f"pip could not install requirements.txt: {reason}",
            hint="fix requirements.txt in the source directory (pip's output is in the job log)",
        )
    return str(python)


def _layer_path(python: Path) -> Path:
    """The ``.pth`` file in the venv's site-packages that layers sagebox's packages under it."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return python.parent.parent / "lib" / version / "site-packages" / _LAYER
