"""The walking skeleton, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_runs_end_to_end(cli, sagebox_env: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("demo", "--rows", "1500", "--seed", "3", "--json", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["raw_rows"] == 1500
    assert summary["raw_table"] == "reviews.raw" and summary["crawl"]["tables_added"] == 1
    ev = summary["evaluation"]
    assert set(ev) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix"}
    assert ev["accuracy"] > 0.45  # three balanced classes: chance is 1/3
    assert [p["label"] in (-1, 0, 1) for p in summary["predictions"]] == [True] * 4
    assert summary["predictions"][0]["label"] == 1  # "I love this dress..."

    jobs = json.loads(cli("jobs", "list", "--json").stdout)
    assert {j["kind"] for j in jobs} == {"crawler", "prepare-reviews", "training", "evaluation"}
    assert all(j["status"] == "Completed" for j in jobs)
    training = json.loads(cli("jobs", "describe", summary["jobs"]["training"], "--json").stdout)
    assert training["outputs"]["model"].endswith("model.tar.gz")
    assert "validation:accuracy" in training["metrics"]
    assert "training" in cli("jobs", "logs", summary["jobs"]["training"]).stdout
    models = json.loads(cli("models", "list", "--json").stdout)
    assert models[0]["manifest"]["algorithm"] == "linear-text"
    assert json.loads(cli("endpoints", "list", "--json").stdout) == []  # stopped and deleted
    evaluation_file = Path(summary["evaluation_uri"].removeprefix("file://"))
    assert json.loads(evaluation_file.read_text()) == ev


@pytest.mark.slow
def test_evaluate_json_last_line(cli, synth_csv) -> None:  # type: ignore[no-untyped-def]
    train, test = synth_csv(2000, 11), synth_csv(600, 12)
    result = cli("evaluate", "--train", str(train), "--test", str(test), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix"}
    assert report["accuracy"] > 0.5
    assert sum(sum(r) for r in report["confusion_matrix"]["matrix"]) == report["support"]
    assert set(report["per_class"]) == {"-1", "0", "1"}


@pytest.mark.slow
def test_evaluate_with_titles(cli, synth_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    train, test = synth_csv(1500, 13), synth_csv(400, 14)
    result = cli(
        "evaluate", "--train", str(train), "--test", str(test), "--include-title", "--json"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["include_title"] is True and report["accuracy"] > 0.5

    untitled = tmp_path / "untitled.csv"
    pd.read_csv(test).drop(columns="Title").to_csv(untitled, index=False)
    bad = cli("evaluate", "--train", str(train), "--test", str(untitled), "--include-title")
    assert bad.returncode != 0
    assert "'Title' column" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.realdata
@pytest.mark.slow
def test_evaluate_on_real_reviews(cli, shared_reviews_csv: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    frame = pd.read_csv(shared_reviews_csv)
    head, tail = frame.iloc[:4000], frame.iloc[4000:5500]
    head.to_csv(tmp_path / "a.csv", index=False)
    tail.to_csv(tmp_path / "b.csv", index=False)
    result = cli(
        "evaluate", "--train", str(tmp_path / "a.csv"), "--test", str(tmp_path / "b.csv"), "--json"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["accuracy"] > 0.6  # imbalanced real test file: most reviews are positive


@pytest.mark.slow
def test_demo_with_deployment(cli, sagebox_env: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("demo", "--rows", "1500", "--seed", "3", "--deployment", "--json", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    d = json.loads(result.stdout.strip().splitlines()[-1])["deployment"]
    shares = [v["share"] for v in d["ab_test"]["variants"].values()]
    assert len(shares) == 2 and all(0.2 < s < 0.8 for s in shares)  # 50/50 on a small split
    assert d["canary"]["status"] == "RolledBack" and "error_rate" in d["canary"]["reason"]
    assert d["winner_deployment"]["status"] == "Succeeded"
    assert d["autoscaling"]["instances"] == 2
    assert d["autoscaling"]["scaling_events"][0]["to"] == 2
    assert d["batch_transform"]["status"] == "Completed"
    assert d["batch_transform"]["records"] == 1500
    assert json.loads(cli("endpoints", "list", "--json").stdout) == []
