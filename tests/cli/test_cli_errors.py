"""User errors reach the terminal as one or two lines, exit non-zero, and leave nothing behind."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest


def _assert_clean_error(result, fragment: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, result.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_help_everywhere(cli) -> None:  # type: ignore[no-untyped-def]
    for args in (
        [],
        ["jobs"],
        ["models"],
        ["endpoints"],
        ["config"],
        ["datasets"],
        ["demo"],
        ["evaluate"],
        ["jobs", "wait"],
        ["endpoints", "create"],
    ):
        result = cli(*args, "--help")
        assert result.returncode == 0, (args, result.stderr)
        assert "Usage" in result.stdout


def test_missing_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("evaluate", "--train", str(tmp_path / "nope.csv"), "--test", str(tmp_path / "x"))
    _assert_clean_error(result, "nope.csv")


def test_empty_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _assert_clean_error(cli("demo", "--data", str(empty)), "empty")


def test_csv_without_needed_columns(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    _assert_clean_error(cli("demo", "--data", str(bad)), "Review Text")


def test_rating_out_of_range(cli, synth_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    frame = pd.read_csv(synth_csv(50, 1))
    frame.loc[3, "Rating"] = 9
    bad = tmp_path / "rating.csv"
    frame.to_csv(bad, index=False)
    _assert_clean_error(cli("evaluate", "--train", str(bad), "--test", str(bad)), "Rating")


def test_non_utf8_text(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(
        "Review Text,Rating,Class Name\nTr\xe8s jolie robe,5,Dresses\n".encode("latin-1")
    )
    _assert_clean_error(cli("demo", "--data", str(bad)), "UTF-8")


def test_unknown_uri_scheme(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SAGEBOX_STORAGE_URI", "ftp://example.com/lake")
    result = cli("demo", "--rows", "200")
    _assert_clean_error(result, "ftp")


def test_unknown_metadata_scheme(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SAGEBOX_METADATA_URI", "mongodb://localhost/x")
    _assert_clean_error(cli("jobs", "list"), "mongodb")


def test_unreachable_s3_endpoint(cli, monkeypatch: pytest.MonkeyPatch, sagebox_env: Path) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("SAGEBOX_STORAGE_URI", "s3://bucket/lake")
    monkeypatch.setenv("SAGEBOX_S3_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    result = cli("demo", "--rows", "200", timeout=120)
    _assert_clean_error(result, f"127.0.0.1:{port}")
    assert not list((sagebox_env / "jobs").glob("*")) if (sagebox_env / "jobs").exists() else True


def test_port_in_use(cli, sagebox_env: Path) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = cli("demo", "--rows", "200", "--port", str(port))
    _assert_clean_error(result, f"port {port}")
    assert not (sagebox_env / "jobs").exists(), "nothing should have run"


def test_unknown_job(cli) -> None:  # type: ignore[no-untyped-def]
    _assert_clean_error(cli("jobs", "describe", "nope"), "nope")


def test_unknown_algorithm(cli, synth_csv) -> None:  # type: ignore[no-untyped-def]
    path = synth_csv(200, 2)
    _assert_clean_error(
        cli("evaluate", "--train", str(path), "--test", str(path), "--algorithm", "magic"), "magic"
    )


def test_config_show_json(cli, sagebox_env: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    result = cli("config", "show", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["home"] == str(sagebox_env)
    assert data["storage_uri"] == f"file://{sagebox_env}/lake"
