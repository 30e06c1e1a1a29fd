"""``sagebox demo --feature-store``: engineer, train from a training set, look up online."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sagebox.features import FeatureGroup
from sagebox.session import Session


@pytest.mark.slow
def test_demo_with_the_feature_store(sagebox_env: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sagebox",
            "demo",
            "--rows",
            "1200",
            "--seed",
            "3",
            "--feature-store",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["feature_group"] == "reviews"
    assert summary["jobs"]["prepare"].startswith("review-features-")
    assert len(summary["lookups"]) == 3
    assert all(p["label_name"] in ("negative", "neutral", "positive") for p in summary["lookups"])
    assert summary["evaluation"]["accuracy"] > 0.4
    session = Session()
    group = FeatureGroup("reviews", session=session)
    assert group.get_record(summary["lookups"][0]["review_id"], ["review_body"]) is not None
    training = session.metadata.get_job(summary["jobs"]["training"])
    assert "training-sets/run_id=" in training.inputs["train"]
