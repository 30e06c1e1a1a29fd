"""``sagebox crawl`` (a job) and ``sagebox catalog ...``, in-process on a file lake."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from sagebox import lake
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


def test_crawl_runs_as_a_job_and_reports_changes(run: Run) -> None:
    frame = pd.DataFrame({"id": [1, 2], "cat": ["a", "b"], "text": ["x", "y"]})
    lake.to_parquet(frame, "landing/reviews/", partition_cols=["cat"])
    code, out, err = run("crawl", "landing/", "--database", "reviews", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert [(t["table"], t["action"]) for t in summary["tables"]] == [("reviews.reviews", "added")]
    assert summary["tables"][0]["partitions_added"] == 2
    code, out, _ = run("jobs", "describe", summary["job"], "--json")
    job = json.loads(out)
    assert (job["kind"], job["status"]) == ("crawler", "Completed")
    assert job["metrics"]["tables_added"] == 1
    assert job["outputs"]["summary"].endswith("crawl-summary.json")
    code, out, _ = run("crawl", "landing/", "--database", "reviews")
    assert code == 0 and "no changes" in out


def test_crawl_errors_are_one_or_two_lines(run: Run) -> None:
    _clean_error(run("crawl", "empty/", "--database", "reviews"), "found no data files under")
    _clean_error(
        run("crawl", "x/", "--database", "reviews", "--on-delete", "purge"),
        "unknown on_delete policy 'purge'",
    )


def test_catalog_crud(run: Run) -> None:
    assert run("catalog", "databases", "create", "reviews", "--description", "mine")[0] == 0
    code, out, _ = run(
        "catalog", "tables", "create", "reviews.raw", "--location", "raw/reviews/",
        "--format", "csv", "-c", "Rating:int", "-c", "Review Text:varchar",
        "--partition-key", "product_category:string", "--tag", "owner=ds", "--json",
    )  # fmt: skip
    assert code == 0
    created = json.loads(out)
    assert created["location"].endswith("/lake/raw/reviews")
    assert [c["type"] for c in created["columns"]] == ["bigint", "string"]
    code, out, _ = run(
        "catalog", "tables", "update", "reviews.raw", "--description", "raw reviews",
        "--tag", "stage=raw", "--remove-tag", "owner", "--add-column", "Age:bigint", "--json",
    )  # fmt: skip
    updated = json.loads(out)
    assert updated["tags"] == {"stage": "raw"} and updated["columns"][-1]["name"] == "Age"
    code, out, _ = run("catalog", "tables", "describe", "reviews.raw")
    assert "raw reviews" in out and "partition key" in out
    code, out, _ = run("catalog", "tables", "list", "--json")
    assert [t["name"] for t in json.loads(out)] == ["raw"]
    code, out, _ = run("catalog", "partitions", "list", "reviews.raw", "--json")
    assert json.loads(out) == []
    _clean_error(run("catalog", "databases", "delete", "reviews"), "still has 1 table")
    assert run("catalog", "tables", "delete", "reviews.raw")[0] == 0
    assert run("catalog", "databases", "delete", "reviews")[0] == 0
    assert json.loads(run("catalog", "databases", "list", "--json")[1]) == []


def test_catalog_bad_input(run: Run) -> None:
    run("catalog", "databases", "create", "reviews")
    run("catalog", "tables", "create", "reviews.raw", "--location", "raw/", "-c", "a:bigint")
    code, _, err = run("catalog", "tables", "describe", "reviews.raww")
    _clean_error((code, "", err), "no table 'reviews.raww'")
    assert "hint: did you mean reviews.raw?" in err
    _clean_error(run("catalog", "tables", "describe", "raw"), "has no database")
    _clean_error(run("catalog", "databases", "create", "bad name"), "invalid database name")
    _clean_error(run("catalog", "databases", "create", "reviews"), "already exists")
    _clean_error(
        run("catalog", "tables", "create", "reviews.x", "--location", "x/", "-c", "a:blob2"),
        "unknown column type 'blob2'",
    )
    _clean_error(
        run("catalog", "tables", "create", "reviews.x", "--location", "x/", "-c", "nocolon"),
        "bad column 'nocolon'",
    )
