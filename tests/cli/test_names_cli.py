"""Crafted resource names on the command line (issue 15, defect 3): a one-line error, exit 1,
nothing written outside SAGEBOX_HOME."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import free_port

Cli = Callable[..., subprocess.CompletedProcess[str]]


def _outside(root: Path, home: Path) -> set[str]:
    seen = set()
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == home or home in here.parents:
            continue
        seen.update(str(Path(dirpath, n).relative_to(root)) for n in dirnames + filenames)
    return seen - {home.name}


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", "é", "a" * 64])
def test_commands_refuse_crafted_names(cli: Cli, sagebox_env: Path, name: str) -> None:
    root = sagebox_env.parent
    before = _outside(root, sagebox_env)
    commands = [
        ["endpoints", "create", name, "--model", "m", "--port", str(free_port())],
        ["endpoints", "create", "ok", "--model", name, "--port", str(free_port())],
        ["endpoints", "delete", name],
        ["models", "create", name, "--artifact", "models/m/model.tar.gz"],
        ["models", "delete", name],
        ["jobs", "logs", name],
    ]
    for args in commands:
        result = cli(*args)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert lines[0].startswith("error: invalid ") and repr(name) in lines[0], (args, lines)
        assert len(lines) <= 2, lines
    assert _outside(root, sagebox_env) == before
    assert not (root.parent / "x").exists()


def test_the_empty_name_is_refused(cli: Cli, sagebox_env: Path) -> None:
    result = cli("endpoints", "delete", "")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: invalid endpoint name ''")
