"""``sagebox endpoints``, ``transform`` and ``models export`` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagebox.session import Session
from tests.conftest import free_port
from tests.fixtures.tiny_reviews import LABELS, TEXTS
from tests.serving.conftest import register_tiny_models


def test_endpoint_commands(cli, sagebox_env: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session = Session()
    register_tiny_models(session, tmp_path / "models")
    port = str(free_port())
    created = cli(
        "endpoints",
        "create",
        "ab",
        "--variant",
        "v1=tiny-v1:1",
        "--variant",
        "v2=tiny-v2:1",
        "--data-capture",
        "100",
        "--port",
        port,
    )
    assert created.returncode == 0, created.stderr
    assert f"127.0.0.1:{port}/endpoints/ab/invocations" in created.stdout
    try:
        answer = cli("endpoints", "invoke", "ab", "--body", '["love it"]', "--variant", "v2", "-v")
        assert answer.returncode == 0, answer.stderr
        assert "variant=v2" in answer.stderr and json.loads(answer.stdout)["predictions"]
        bad = cli("endpoints", "invoke", "ab", "--body", "[1]")
        assert bad.returncode == 1 and "must be a string" in bad.stderr
        assert "Traceback" not in bad.stderr
        shifted = cli("endpoints", "update", "ab", "--weights", "v1=1,v2=0")
        assert shifted.returncode == 0 and "'v1': 1.0" in shifted.stdout
        prom = cli("endpoints", "metrics", "ab", "--prometheus")
        assert 'sagebox_invocations_total{endpoint="ab",variant="v2"' in prom.stdout
        table = cli("endpoints", "metrics", "ab", "--json")
        assert json.loads(table.stdout)["variants"]["v2"]["invocations"] >= 1
        update = cli(
            "endpoints",
            "update",
            "ab",
            "--variant",
            "v3=tiny-v2",
            "--strategy",
            "canary",
            "--canary-size",
            "0.5",
            "--wait",
            "0",
            "--alarm-error-rate",
            "0.5",
            "--json",
        )
        assert update.returncode == 0, update.stderr
        assert json.loads(update.stdout.strip().splitlines()[-1])["status"] == "Succeeded"
        events = cli("endpoints", "describe", "ab", "--events", "--json")
        kinds = [e["kind"] for e in json.loads(events.stdout)]
        assert "deployment_started" in kinds and "deployment_succeeded" in kinds
        record = json.loads(cli("endpoints", "describe", "ab", "--json").stdout)
        assert record["config"]["spec"]["variants"][0]["name"] == "v3"
        missing = cli("endpoints", "create", "x", "--model", "nope", "--port", port)
        assert missing.returncode == 1 and "nope" in missing.stderr
        wrong = cli("endpoints", "create", "y", "--variant", "v1", "--port", port)
        assert wrong.returncode == 1 and "NAME=MODEL" in wrong.stderr
    finally:
        deleted = cli("endpoints", "delete", "ab")
    assert deleted.returncode == 0
    assert json.loads(cli("endpoints", "list", "--json").stdout) == []


def test_transform_and_export_commands(cli, sagebox_env: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session = Session()
    register_tiny_models(session, tmp_path / "models")
    session.storage.write_bytes("raw/t.jsonl", b'"love it"\n"awful, ripped"\n')
    result = cli(
        "transform",
        "--model",
        "tiny-v1",
        "--input",
        "raw/t.jsonl",
        "--output",
        "scored",
        "--concurrency",
        "1",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout.strip().splitlines()[-1])
    assert job["status"] == "Completed" and job["metrics"]["records"] == 2
    lines = session.storage.read_bytes("scored/t.jsonl.out").decode().splitlines()
    assert [json.loads(x)["label"] for x in lines] == [1, -1]
    pytest.importorskip("skl2onnx", reason="edge export needs pip install 'sagebox[edge]'")
    check = tmp_path / "check.csv"
    check.write_text(
        "review_body,sentiment\n"
        + "".join(f'"{t}",{y}\n' for t, y in zip(TEXTS, LABELS, strict=True))
    )
    export = cli(
        "models",
        "export",
        "tiny-v1",
        "--out",
        str(tmp_path / "edge"),
        "--check",
        str(check),
        "--json",
    )
    assert export.returncode == 0, export.stderr
    report = json.loads(export.stdout.strip().splitlines()[-1])
    assert report["parity"]["runtimes"]["onnx"]["accuracy"] == 1.0


def test_transform_exits_nonzero_when_its_job_fails(cli, sagebox_env: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 15 defect 7: `sagebox transform` exited 0 although its job had failed."""
    session = Session()
    register_tiny_models(session, tmp_path / "models")
    session.storage.write_bytes("raw/bad.jsonl", b"1\n2\n")  # the model scores strings only
    for extra in ((), ("--json",)):
        result = cli(
            "transform",
            "--model",
            "tiny-v1",
            "--input",
            "raw/bad.jsonl",
            "--output",
            "scored-bad",
            "--concurrency",
            "1",
            *extra,
        )
        assert result.returncode == 1, (extra, result.stdout, result.stderr)
        assert "Failed" in result.stdout and "Traceback" not in result.stderr


def test_fault_drill_from_the_cli_names_its_fleet(  # type: ignore[no-untyped-def]
    cli, sagebox_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = Session()
    register_tiny_models(session, tmp_path / "models")

    # A server not started for testing refuses fault injection, in one line.
    port = str(free_port())
    assert cli("endpoints", "create", "plain", "--model", "tiny-v1", "--port", port).returncode == 0
    try:
        refused = cli("endpoints", "fault", "plain", "--variant", "AllTraffic")
        assert refused.returncode == 1, refused.stdout
        assert "error: fault injection is off on this server" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        assert cli("endpoints", "delete", "plain").returncode == 0

    # Started for testing, the drill hits only the fleet it names.
    monkeypatch.setenv("SAGEBOX_ENABLE_FAULT_INJECTION", "1")
    port = str(free_port())
    assert cli("endpoints", "create", "drill", "--model", "tiny-v1", "--port", port).returncode == 0
    try:
        no_green = cli("endpoints", "fault", "drill", "--variant", "AllTraffic", "--fleet", "green")
        assert no_green.returncode == 1 and "Traceback" not in no_green.stderr
        assert "no green variant 'AllTraffic'" in no_green.stderr
        hit = cli(
            "endpoints",
            "fault",
            "drill",
            "--variant",
            "AllTraffic",
            "--fleet",
            "production",
            "--seconds",
            "60",
        )
        assert hit.returncode == 0, hit.stderr
        assert "production fleet" in hit.stdout and "100%" in hit.stdout
        failed = cli("endpoints", "invoke", "drill", "--body", '["love it"]')
        assert failed.returncode == 1 and "injected fault" in failed.stderr
    finally:
        assert cli("endpoints", "delete", "drill").returncode == 0
