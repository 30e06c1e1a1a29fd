"""Issue 15 defects 7 and 10: bad files and other encodings end in one-line errors, or are read.

Each test is one of the issue's probes: it raised a traceback out of ``main`` before the fix.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from sagebox.cli.main import main

Run = Callable[..., tuple[int, str, str]]

ROWS = "id,ts,name\n1,2024-01-01,Très jolie\n2,2024-01-02,café crème\n"
DEFINITIONS = (
    '[{"name": "id", "type": "Integral"}, {"name": "ts", "type": "String"},'
    ' {"name": "name", "type": "String"}]'
)


@pytest.fixture()
def run(sagebox_env: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """``sagebox ARGS`` in this process: (exit code, stdout, stderr); a traceback would raise."""

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke


def clean_error(result: tuple[int, str, str], *fragments: str) -> str:
    """Assert a one- or two-line ``error:`` with exit 1; return the error line."""
    code, _, err = result
    lines = err.strip().splitlines()
    assert code == 1 and 1 <= len(lines) <= 2, err
    assert lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in err, err
    return lines[0]


def _group(run: Run, tmp_path: Path) -> None:
    definitions = tmp_path / "defs.json"
    definitions.write_text(DEFINITIONS)
    created = run(
        "features", "create", "fg", "--record-id", "id", "--event-time", "ts",
        "--definitions", str(definitions), "--no-online",
    )  # fmt: skip
    assert created[0] == 0, created


def test_features_from_bad_csv_and_fake_parquet(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text('id,ts,name\n1,2024-01-01,"never closed\n2,2024,x\n')
    fake = tmp_path / "fake.parquet"
    fake.write_bytes(os.urandom(300))
    tiny = tmp_path / "tiny.parquet"
    tiny.write_bytes(b"PAR1garbagePAR1")
    base = ("features", "create", "fg", "--record-id", "id", "--event-time", "ts")
    clean_error(run(*base, "--from-data", str(bad)), "bad.csv", "never closed")
    clean_error(run(*base, "--from-data", str(fake)), "fake.parquet", "not a valid Parquet")
    clean_error(run(*base, "--from-data", str(tiny)), "tiny.parquet", "not a valid Parquet")


def test_features_ingest_of_bad_files(run: Run, tmp_path: Path) -> None:
    _group(run, tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text('id,ts,name\n1,2024-01-01,"never closed\n')
    fake = tmp_path / "fake.parquet"
    fake.write_bytes(os.urandom(300))
    lines = tmp_path / "bad.jsonl"
    lines.write_text('{"id": 1, "ts": "x", "name": "a"}\n[1, 2]\n')
    clean_error(run("features", "ingest", "fg", str(bad)), "bad.csv")
    clean_error(run("features", "ingest", "fg", str(fake)), "fake.parquet")
    clean_error(run("features", "ingest", "fg", str(lines)), "bad.jsonl", "line 2")


def test_sql_on_a_crawled_binary_csv(run: Run, tmp_path: Path) -> None:
    """Binary data behind a .csv name: the crawler leaves it out, sql says the table is absent;
    a binary file that joins a cataloged table later gives a one-line error too."""
    good = tmp_path / "good.csv"
    good.write_text("id,name\n1,a\n")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    assert run("lake", "put", str(binary), "raw/bin/bin.csv")[0] == 0
    assert run("lake", "put", str(good), "raw/mixed/a.csv")[0] == 0
    code, out, err = run("crawl", "raw/", "--database", "db", "--json")
    assert code == 0, err
    assert "binary data" in out  # the crawler says why it left bin out
    clean_error(run("sql", "SELECT * FROM db.bin"), "db.bin")
    assert run("lake", "put", str(binary), "raw/mixed/z.csv")[0] == 0
    line = clean_error(run("sql", "SELECT * FROM db.mixed"), "db.mixed")
    assert "file =" not in line and len(line) < 400


def test_metadata_database_in_a_folder_that_cannot_be_made(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SAGEBOX_METADATA_URI", f"sqlite:///{blocker}/no/such/dir/x.db")
    clean_error(run("jobs", "list"), "a-file", "SAGEBOX_METADATA_URI")


def test_lake_ls_over_a_dangling_symlink(run: Run, sagebox_env: Path, tmp_path: Path) -> None:
    data = tmp_path / "a.csv"
    data.write_text("id\n1\n")
    assert run("lake", "put", str(data), "raw/a.csv")[0] == 0
    (sagebox_env / "lake" / "raw" / "broken-link.csv").symlink_to(tmp_path / "gone.csv")
    for args in (("lake", "ls", "raw/"), ("lake", "ls", "-r"), ("lake", "du")):
        code, out, err = run(*args)
        assert code == 0, err
        assert "broken-link" not in out and ("a.csv" in out or args[1] != "ls")


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_latin1_and_utf16_files_are_read(run: Run, tmp_path: Path, encoding: str) -> None:
    """Crawled, queried, explored, features inferred and ingested: the text comes out right."""
    data = tmp_path / "data.csv"
    data.write_bytes(ROWS.encode(encoding))
    assert run("lake", "put", str(data), "raw/text/data.csv")[0] == 0
    code, out, err = run("crawl", "raw/", "--database", "db", "--json")
    assert code == 0, err
    assert encoding in out  # the crawl says which encoding it recorded
    code, out, err = run("sql", "SELECT name FROM db.text ORDER BY id", "--format", "csv")
    assert code == 0, err
    assert "Très jolie" in out and "café crème" in out
    code, out, err = run("explore", "db.text", "--out", str(tmp_path / "r.html"))
    assert code == 0, err
    base = ("features", "create", "fg", "--record-id", "id", "--event-time", "ts")
    code, out, err = run(*base, "--from-data", str(data), "--no-online")
    assert code == 0, err
    code, out, err = run("features", "ingest", "fg", str(data))
    assert code == 0, err
    code, out, err = run("features", "query", "fg", "SELECT name FROM fg ORDER BY id")
    assert code == 0, err
    assert "café crème" in out


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ("id,name\n1,Привет мир как дела\n2,Хорошо спасибо\n".encode("cp1251"), "cp1251"),
        ("id,name\n1,“quoted” – dash €\n".encode("cp1252"), "cp1252"),
        ("id,name\n1,Très\n".encode("utf-16-le"), "utf-16le"),
    ],
    ids=["cp1251", "cp1252", "utf-16le-without-bom"],
)
def test_other_encodings_are_refused_naming_them(
    run: Run, tmp_path: Path, data: bytes, named: str
) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(data)
    base = ("features", "create", "fg", "--record-id", "id", "--event-time", "name")
    line = clean_error(run(*base, "--from-data", str(path)), "data.csv", f"-f {named}")
    assert "latin1" not in line
    assert run("lake", "put", str(path), "raw/other/data.csv")[0] == 0
    code, out, err = run("crawl", "raw/", "--database", "db")
    assert code == 0, err
    clean_error(run("sql", "SELECT * FROM db.other"), "db.other")


def test_validate_hint_names_utf16_not_latin1(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_bytes("Review Text,Rating,Class Name\nTrès,5,Dresses\n".encode("utf-16"))
    clean_error(run("datasets", "validate", str(path)), "UTF-8", "iconv -f utf-16 ")
