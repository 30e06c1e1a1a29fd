"""``sagebox features``: every command through the CLI's entry point, with --json and errors.

The commands run in-process (``sagebox.cli.main.main``) to keep the suite fast; the
processing tests run ``sagebox process`` as a real subprocess.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from sagebox.cli.main import main
from tests.features.conftest import reviews_frame


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


class Cli:
    """Runs ``sagebox features ...`` in-process and captures what it prints."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str) -> Result:
        self.capsys.readouterr()
        code = main(["features", *args])
        out = self.capsys.readouterr()
        return Result(code, out.out, out.err)

    def json(self, *args: str) -> object:
        result = self(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture()
def cli(sagebox_env: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


def test_feature_store_end_to_end_through_the_cli(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "reviews.parquet"
    reviews_frame(8).to_parquet(data)
    created = cli.json(
        "create",
        "reviews",
        "--from-data",
        str(data),
        "--record-id",
        "review_id",
        "--event-time",
        "date",
        "--description",
        "review features",
        "--tag",
        "team=nlp",
    )
    assert created["table_name"] == "sagebox_featurestore.reviews"  # type: ignore[index]
    ingested = cli.json("ingest", "reviews", str(data), "--batch-size", "3", "--max-workers", "2")
    assert ingested["rows"] == 8 and ingested["batches"] == 3  # type: ignore[index]
    record = cli.json("get", "reviews", "4", "-f", "sentiment", "-f", "review_body")
    assert record == {"sentiment": -1, "review_body": "review number 3"}
    assert cli.json("get", "reviews", "1", "2") == [  # several ids: a list
        cli.json("get", "reviews", "1"),
        cli.json("get", "reviews", "2"),
    ]
    put = cli(
        "put",
        "reviews",
        json.dumps({"review_id": 99, "date": "2026-11-28T00:00:00Z", "sentiment": 0}),
    )
    assert put.returncode == 0, put.stderr
    deleted = cli("delete-record", "reviews", "99", "--event-time", "2026-11-29T00:00:00Z")
    assert deleted.returncode == 0, deleted.stderr
    missing = cli("get", "reviews", "99")
    assert missing.returncode == 1 and "99: null" in missing.stdout
    rows = cli.json("query", "reviews", "SELECT COUNT(*) AS n FROM {table} WHERE NOT is_deleted")
    assert rows == [{"n": 9}]
    assert [g["name"] for g in cli.json("search", "nlp")] == ["reviews"]  # type: ignore[union-attr]
    assert cli.json("search", "nlp", "--field", "feature") == []
    assert cli.json("describe", "reviews")["tags"] == {"team": "nlp"}  # type: ignore[index]
    entities = tmp_path / "entities.csv"
    pd.DataFrame({"review_id": [1, 2, 50], "date": ["2026-11-27T11:00:00Z"] * 3}).to_csv(
        entities, index=False
    )
    built = cli.json(
        "training-set",
        "--entities",
        str(entities),
        "-g",
        "reviews",
        "-f",
        "reviews:sentiment",
        "--out",
        "training/reviews/",
    )
    assert built["rows"] == 3 and built["with_features"] == 2  # type: ignore[index]
    assert built["columns"] == ["review_id", "date", "sentiment"]  # type: ignore[index]
    listing = cli("list")
    assert listing.returncode == 0 and "reviews" in listing.stdout
    assert cli.json("delete", "reviews") == {"deleted": "reviews"}
    assert cli.json("list") == []


def test_cli_errors_are_one_or_two_lines(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "reviews.parquet"
    reviews_frame(3).to_parquet(data)
    cases = [
        (("get", "nothing", "1"), "error: no feature group 'nothing'"),
        (("create", "g", "--record-id", "review_id", "--event-time", "date"), "exactly one of"),
        (
            (
                "create",
                "g",
                "--from-data",
                str(data),
                "--record-id",
                "nope",
                "--event-time",
                "date",
            ),
            "has no feature 'nope'",
        ),
        (
            (
                "create",
                "g",
                "--from-data",
                str(tmp_path / "x.txt"),
                "--record-id",
                "a",
                "--event-time",
                "b",
            ),
            "nothing stored at",
        ),
        (
            (
                "create",
                "g",
                "--from-data",
                str(data),
                "--record-id",
                "review_id",
                "--event-time",
                "date",
                "--tag",
                "novalue",
            ),
            "bad tag 'novalue'",
        ),
        (
            ("training-set", "--entities", str(data), "-g", "g", "-f", "bad", "--out", "x/"),
            "bad --feature 'bad'",
        ),
        (("engineer", "--instance-count", "2"), "exactly one of --table or --raw"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.returncode == 1, (args, result.stdout)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) <= 2
    created = cli(
        "create", "g", "--from-data", str(data), "--record-id", "review_id", "--event-time", "date"
    )
    assert created.returncode == 0, created.stderr
    bad = reviews_frame(3)
    bad.loc[1, "date"] = "next tuesday"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    result = cli("ingest", "g", str(tmp_path / "bad.csv"))
    assert result.returncode == 1
    assert "error: cannot parse event time 'next tuesday' (row 1)" in result.stderr
