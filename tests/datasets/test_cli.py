"""``sagebox datasets`` commands, run through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sagebox.cli.datasets import app
from sagebox.datasets import RAW_COLUMNS, generate_reviews
from sagebox.errors import AlreadyExistsError, InputDataError, SageboxError

runner = CliRunner()


def test_synth_writes_csv_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "data" / "reviews.csv"
    result = runner.invoke(app, ["synth", "--rows", "300", "--seed", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 300 reviews" in result.output and "neutral" in result.output
    df = pd.read_csv(out)
    assert list(df.columns) == list(RAW_COLUMNS) and len(df) == 300
    expected = generate_reviews(300, seed=5)
    assert df["Review Text"].fillna("").tolist() == expected["Review Text"].fillna("").tolist()
    assert [p.name for p in out.parent.iterdir()] == ["reviews.csv"]  # no temp file left


def test_synth_json_and_parquet(tmp_path: Path) -> None:
    out = tmp_path / "reviews.parquet"
    result = runner.invoke(app, ["synth", "--rows", "200", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip())
    assert summary["rows"] == 200 and summary["format"] == "parquet"
    assert sum(summary["sentiment"].values()) == summary["rows_with_text"]
    assert set(summary["sentiment"]) == {"negative", "neutral", "positive"}
    assert len(pd.read_parquet(out)) == 200


def test_synth_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "reviews.csv"
    out.write_text("precious\n")
    result = runner.invoke(app, ["synth", "--rows", "10", "--out", str(out)])
    assert result.exit_code != 0
    assert isinstance(result.exception, AlreadyExistsError)
    assert "--force" in (result.exception.hint or "")
    assert out.read_text() == "precious\n"
    forced = runner.invoke(app, ["synth", "--rows", "10", "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert len(pd.read_csv(out)) == 10


@pytest.mark.parametrize("rows", ["0", "-3"])
def test_synth_rejects_bad_rows(tmp_path: Path, rows: str) -> None:
    out = tmp_path / "reviews.csv"
    result = runner.invoke(app, ["synth", "--rows", rows, "--out", str(out)])
    assert isinstance(result.exception, SageboxError)
    assert "--rows" in result.exception.message
    assert not out.exists()


def test_synth_rejects_non_integer_rows(tmp_path: Path) -> None:
    result = runner.invoke(app, ["synth", "--rows", "many", "--out", str(tmp_path / "r.csv")])
    assert result.exit_code == 2  # Typer's usage error


def test_validate_reports_rows_mix_and_categories(tmp_path: Path) -> None:
    out = tmp_path / "reviews.csv"
    generate_reviews(400, seed=1).to_csv(out, index=False)
    result = runner.invoke(app, ["validate", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip())
    assert summary["rows"] == 400 and summary["categories"] > 10
    assert sum(summary["sentiment"].values()) == summary["rows_with_text"] <= 400
    table = runner.invoke(app, ["validate", str(out)])
    assert table.exit_code == 0 and "400 reviews" in table.output


def test_validate_bad_file_raises_input_data_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "missing.csv")])
    assert isinstance(result.exception, InputDataError)


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "Generate and inspect review datasets." in result.output


def test_module_import_does_not_load_pandas() -> None:
    import subprocess
    import sys

    code = "import sys, sagebox.cli.datasets; print('pandas' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.returncode == 0, output.stderr
    assert output.stdout.strip() == "False"
