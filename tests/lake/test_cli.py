"""``sagebox lake ls|put|get|cat|rm|du``, run in-process on a file lake."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from sagebox.cli.main import main

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture()
def run(sagebox_env: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke


def _clean_error(result: tuple[int, str, str], fragment: str) -> None:
    code, _, err = result
    lines = err.strip().splitlines()
    assert code == 1 and 1 <= len(lines) <= 2, err
    assert lines[0].startswith("error: ") and fragment in lines[0], err


def test_put_ls_du_cat_get_rm(run: Run, tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a.csv").write_text("id,t\n1,x\n2,y\n")
    (src / "sub" / "b.csv").write_text("id,t\n3,z\n")
    code, out, _ = run("lake", "put", str(src / "a.csv"), "raw/one/", "--json")
    assert code == 0
    assert json.loads(out)["files"][0][1].endswith("/raw/one/a.csv")
    assert run("lake", "put", str(src), "raw/tree", "-r")[0] == 0
    code, out, _ = run("lake", "ls", "--json")
    assert [e["key"] for e in json.loads(out)] == ["raw/"]
    code, out, _ = run("lake", "ls", "raw/", "-r", "--json")
    assert [e["key"] for e in json.loads(out)] == [
        "raw/one/a.csv",
        "raw/tree/a.csv",
        "raw/tree/sub/b.csv",
    ]
    code, out, _ = run("lake", "du", "raw/", "--json")
    assert json.loads(out)["total"]["objects"] == 3
    assert json.loads(out)["total"]["size"] == 2 * 13 + 9
    code, out, _ = run("lake", "cat", "raw/one/a.csv", "--head", "2")
    assert out == "id,t\n1,x\n"
    code, out, _ = run("lake", "get", "raw/tree/", str(tmp_path / "back"), "--json")
    assert code == 0 and (tmp_path / "back" / "sub" / "b.csv").read_text() == "id,t\n3,z\n"
    _clean_error(run("lake", "rm", "raw/tree/"), "names 2 object(s), not one")
    code, out, _ = run("lake", "rm", "raw/tree/", "-r", "--json")
    assert len(json.loads(out)["deleted"]) == 2
    code, out, _ = run("lake", "ls", "raw/", "-r", "--json")
    assert [e["key"] for e in json.loads(out)] == ["raw/one/a.csv"]


def test_cat_gzip_and_parquet(run: Run, tmp_path: Path) -> None:
    from sagebox import lake

    frame = pd.DataFrame({"id": [1, 2], "t": ["x", "y"]})
    lake.to_csv(frame, "exp/a.csv.gz")
    lake.to_parquet(frame, "exp/a.parquet", mode="overwrite")
    assert run("lake", "cat", "exp/a.csv.gz")[1] == "id,t\n1,x\n2,y\n"
    assert run("lake", "cat", "exp/a.parquet", "--head", "1")[1] == "id,t\n1,x\n"


def test_bad_input(run: Run, tmp_path: Path) -> None:
    _clean_error(run("lake", "ls", "nothing/"), "nothing stored at")
    _clean_error(run("lake", "put", str(tmp_path / "missing.csv"), "raw/"), "missing.csv")
    (tmp_path / "folder").mkdir()
    _clean_error(run("lake", "put", str(tmp_path / "folder"), "raw/"), "is a folder")
    _clean_error(run("lake", "cat", "raw/missing.csv"), "no object at")
    _clean_error(run("lake", "get", "raw/missing/", str(tmp_path)), "nothing stored at")
    _clean_error(run("lake", "ls", "raw/../../escape"), "escapes the store root")
    _clean_error(run("lake", "ls", "ftp://host/x"), "ftp")


@pytest.mark.parametrize(
    "args",
    [
        ["lake"],
        ["lake", "put"],
        ["catalog"],
        ["catalog", "tables", "create"],
        ["crawl"],
        ["sql"],
        ["explore"],
    ],
)
def test_help(run: Run, args: list[str]) -> None:
    code, out, _ = run(*args, "--help")
    assert code == 0 and "Usage" in out
