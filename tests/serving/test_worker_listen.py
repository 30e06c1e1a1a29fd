"""A worker started as on a cluster node: spec inline, own port, address announced."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from sagebox.session import Session
from tests.serving.conftest import poll


def test_a_worker_with_listen_announces_its_address_and_reports_cpu(
    serving_session: Session, tmp_path: Path
) -> None:
    from sagebox.models import fetch_verified

    model_dir = fetch_verified(serving_session, "tiny-v1", tmp_path / "model")
    spec = {"name": "e/v", "steps": [{"model_dir": str(model_dir), "name": "tiny-v1"}]}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sagebox.serving._worker.worker"]
        + ["--listen", "127.0.0.1:0", "--spec-json", json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        found = re.match(r"sagebox-worker listening on (\S+):(\d+) pid (\d+)", line)
        assert found is not None, line
        assert found[1] == "127.0.0.1" and int(found[3]) == proc.pid
        base = f"http://127.0.0.1:{found[2]}"
        poll(lambda: urllib.request.urlopen(f"{base}/ping", timeout=5).status == 200)
        request = urllib.request.Request(
            f"{base}/invocations",
            data=b'["love it, perfect fit"]',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert json.load(answer)["predictions"][0]["label"] == 1
        with urllib.request.urlopen(f"{base}/stats", timeout=5) as answer:
            stats = json.load(answer)
        assert stats["invocations"] == 1 and stats["cpu_seconds"] > 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
