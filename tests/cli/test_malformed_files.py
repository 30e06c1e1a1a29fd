"""Property: no command that reads user data shows a traceback, whatever the file holds.

Issue 15 defect 7. Hypothesis makes malformed files (random bytes; CSV, JSON lines, Parquet
and gzip cut short; text in UTF-16, Latin-1, Windows-1251 ...; empty files; huge fields;
Parquet bytes behind a CSV name and the reverse) and feeds each to every command that reads a
user's file or a lake object made from one:

- ``datasets validate FILE`` (the raw-review reader of ``demo``/``evaluate --data`` too)
- ``features create --from-data FILE`` and ``features ingest GROUP FILE``
- ``lake put FILE KEY``, ``lake cat KEY``, ``lake ls -r``, ``lake du``
- ``explore KEY`` (lake files) and, after ``crawl`` of them all, ``explore db.table``
- ``sql "SELECT ... FROM db.table"`` over every crawled table and ``sql --file FILE``

Each must exit 0, or exit non-zero with an ``error:`` line; never raise out of ``main``
(which would be a traceback). Bounded: a few examples of a few files each (about a minute).
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sagebox.cli.main import main

pytestmark = pytest.mark.slow

#: columns a raw review file needs (``datasets validate``), or a feature group's names
HEADERS = [
    ["id", "ts", "Review Text", "Rating", "Class Name"],
    ["id", "ts", "text", "rating", "class"],
]
DEFINITIONS = json.dumps(
    [
        {"name": "id", "type": "Integral"},
        {"name": "ts", "type": "String"},
        {"name": "text", "type": "String"},
        {"name": "rating", "type": "Integral"},
        {"name": "class", "type": "String"},
    ]
)
SUFFIXES = [".csv", ".tsv", ".jsonl", ".parquet", ".csv.gz", ".jsonl.gz"]
ENCODINGS = ["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "cp1251", "shift_jis"]

field = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]), min_size=0, max_size=30
) | st.sampled_from(['"', '""', ",", "\n", "\r\n", "\t", "\\", "", "Très café", "€“”"])
rows = st.tuples(
    st.sampled_from(HEADERS),
    st.lists(
        st.tuples(st.integers(-5, 10**12), field, field, st.integers(-3, 9), field), max_size=8
    ),
)
Rows = tuple[list[str], list[tuple[object, ...]]]


def _frame(values: Rows) -> pd.DataFrame:
    return pd.DataFrame(values[1], columns=values[0])


def _csv(values: Rows) -> str:
    return _frame(values).to_csv(index=False)


def _parquet(values: Rows) -> bytes:
    buffer = io.BytesIO()
    _frame(values).astype({"ts": "str"}).to_parquet(buffer, index=False)
    return buffer.getvalue()


def _jsonl(values: Rows) -> bytes:
    return _frame(values).to_json(orient="records", lines=True).encode()


@st.composite
def contents(draw: st.DrawFn) -> bytes:
    """The bytes of one malformed (or only unusual) data file."""
    kind = draw(
        st.sampled_from(["random", "truncated", "encoded", "empty", "huge", "csv", "gzip", "quote"])
    )
    values = draw(rows)
    if kind == "random":
        return draw(st.binary(min_size=1, max_size=2048))
    if kind == "empty":
        return b""
    if kind == "csv":
        return _csv(values).encode()
    if kind == "encoded":
        text = _csv(values) + "Très café,Привет,こんにちは\n"
        return text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    if kind == "huge":
        size = draw(st.sampled_from([70_000, 300_000]))
        big = "x" * size
        return draw(
            st.sampled_from(
                [
                    f"id,ts,Review Text,Rating,Class Name\n1,t,{big},5,A\n".encode(),
                    json.dumps({"id": 1, "ts": "t", "Review Text": big}).encode() + b"\n",
                    f"{big}\n1\n".encode(),  # a huge header
                ]
            )
        )
    if kind == "quote":
        return b'id,ts,Review Text,Rating,Class Name\n1,t,"never closed,5,A\n2,t,x,5,B\n'
    whole = draw(
        st.sampled_from(
            [
                _csv(values).encode(),
                _parquet(values),
                _jsonl(values),
                gzip.compress(_csv(values).encode()),
            ]
        )
    )
    if kind == "gzip":
        whole = gzip.compress(whole)
    cut = draw(st.integers(0, max(0, len(whole) - 1)))
    return whole[:cut]


files = st.lists(st.tuples(contents(), st.sampled_from(SUFFIXES)), min_size=1, max_size=3)


def _run(args: list[str], capsys: pytest.CaptureFixture[bytes]) -> tuple[int, str, str]:
    try:
        code = main(args)
    except BaseException as exc:  # noqa: BLE001 - what a user would see as a traceback
        err = capsys.readouterr().err.decode(errors="replace")
        raise AssertionError(f"sagebox {' '.join(args)} raised {exc!r}\n{err}") from exc
    captured = capsys.readouterr()  # bytes: `lake cat` of binary data prints it as it is
    out, err = (captured.out.decode(errors="replace"), captured.err.decode(errors="replace"))
    assert "Traceback" not in err, (args, err)
    if code != 0:
        assert any(line.startswith("error: ") for line in err.splitlines()), (args, code, err)
    return code, out, err


def test_no_traceback_on_malformed_files(
    tmp_path: Path,
    sagebox_env: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    capsys = capsysbinary
    counter = iter(range(10**6))

    @settings(
        max_examples=10,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure shows its example
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(files)
    def check(example: list[tuple[bytes, str]]) -> None:
        n = next(counter)  # one home for all examples (sessions are cached): names per example
        home = tmp_path / f"ex{n}"
        home.mkdir()
        run: Callable[..., tuple[int, str, str]] = lambda *a: _run([*a], capsys)  # noqa: E731
        definitions = home / "defs.json"
        definitions.write_text(DEFINITIONS)
        base = ("features", "create")
        keys = ("--record-id", "id", "--event-time", "ts", "--no-online")
        code, _, err = run(*base, f"group{n}", *keys, "--definitions", str(definitions))
        assert code == 0, err
        for number, (data, suffix) in enumerate(example):
            path = home / f"data{number}{suffix}"
            path.write_bytes(data)
            key = f"raw{n}/set{number}/data{number}{suffix}"
            run("datasets", "validate", str(path))
            run(*base, f"inferred{n}x{number}", *keys, "--from-data", str(path))
            run("features", "ingest", f"group{n}", str(path))
            if run("lake", "put", str(path), key)[0] == 0:
                run("lake", "cat", key, "--head", "3")
                run("explore", key, "--out", str(home / f"lake{number}.html"))
            run("sql", "--file", str(path))
        run("lake", "ls", "-r")
        run("lake", "du")
        if run("crawl", f"raw{n}/", "--database", f"db{n}", "--json")[0] != 0:
            return
        code, out, _ = run("catalog", "tables", "list", f"db{n}", "--json")
        assert code == 0
        for table in json.loads(out):
            name = f"db{n}.{table['name']}"
            run("sql", f"SELECT * FROM {name} LIMIT 5")
            run("explore", name, "--out", str(home / f"{table['name']}.html"))

    check()
