"""``sagebox clarify bias|explain``: the real command in a subprocess, locally and as a job."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture()
def cli(sagebox_env: Path) -> Run:
    def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sagebox", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture()
def raw_csv(sagebox_env: Path) -> Path:
    from sagebox.datasets import generate_reviews

    path = sagebox_env.parent / "raw.csv"
    generate_reviews(500, seed=4).to_csv(path, index=False)
    return path


def _error(result: subprocess.CompletedProcess[str], fragment: str) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert fragment in result.stderr, result.stderr
    return result.stderr


def test_help(cli: Run) -> None:
    for args in (["clarify"], ["clarify", "bias"], ["clarify", "explain"]):
        result = cli(*args, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout, result.stderr
    assert "--label-values" in cli("clarify", "bias", "--help").stdout


def test_bias_local_on_a_raw_file(cli: Run, raw_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "bias"
    result = cli(
        "clarify",
        "bias",
        "--data",
        str(raw_csv),
        "--label",
        "sentiment",
        "--label-values",
        "1",
        "--facet",
        "product_category",
        "--bootstrap",
        "20",
        "--out",
        str(out),
        "--local",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["job"] is None and payload["findings"]
    assert payload["analysis"]["pre_training_bias_metrics"]["label_value_or_threshold"] == "1"
    assert {p.name for p in out.iterdir()} == {"analysis.json", "bias_details.json", "report.html"}


@pytest.mark.parametrize(
    ("args", "fragment", "hint"),
    [
        (["--label", "sentimnet", "--label-values", "1"], "label column 'sentimnet'", "sentiment"),
        (["--label-values", "7"], "equal to 7", "values present"),
        (["--label-values", "1", "--facet-values", "Dreses"], "'Dreses'", "Dresses"),
    ],
)
def test_bias_user_errors(
    cli: Run, raw_csv: Path, args: list[str], fragment: str, hint: str
) -> None:
    base = ["clarify", "bias", "--data", str(raw_csv), "--facet", "product_category", "--local"]
    message = _error(cli(*base, *args), fragment)
    assert hint in message


def test_bias_missing_file_and_facet_column(cli: Run, raw_csv: Path, tmp_path: Path) -> None:
    _error(
        cli(
            "clarify",
            "bias",
            "--data",
            str(tmp_path / "nope.csv"),
            "--label-values",
            "1",
            "--facet",
            "product_category",
        ),
        "nope.csv",
    )
    _error(
        cli(
            "clarify", "bias", "--data", str(raw_csv), "--label-values", "1", "--facet", "category"
        ),
        "facet column 'category'",
    )


def test_bias_runs_as_a_job_by_default(cli: Run, raw_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "job-out"
    result = cli(
        "clarify",
        "bias",
        "--data",
        str(raw_csv),
        "--label-values",
        "1",
        "--facet",
        "product_category",
        "--bootstrap",
        "10",
        "--out",
        str(out),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["job"].startswith("clarify-")
    assert (out / "analysis.json").is_file() and (out / "report.html").is_file()
    listed = cli("jobs", "list", "--json")
    assert payload["job"] in listed.stdout


def test_explain_local(cli: Run, raw_csv: Path, model_tar: Path, tmp_path: Path) -> None:
    out = tmp_path / "explain"
    result = cli(
        "clarify",
        "explain",
        "--model",
        str(model_tar),
        "--data",
        str(raw_csv),
        "--rows",
        "3",
        "--num-samples",
        "30",
        "--out",
        str(out),
        "--local",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(payload["top_words"]) == {"-1", "0", "1"}
    assert len((out / "local_explanations.jsonl").read_text().splitlines()) == 3


def test_explain_unknown_model(cli: Run, raw_csv: Path) -> None:
    result = cli("clarify", "explain", "--model", "no-such-model", "--data", str(raw_csv))
    _error(result, "no-such-model")
