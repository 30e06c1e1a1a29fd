"""Post-training bias from a deployed endpoint's predictions."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sagebox.clarify import BiasConfig
from sagebox.clarify.run import bias_file
from sagebox.session import Session
from tests.conftest import free_port

pytestmark = pytest.mark.slow


def test_bias_from_endpoint_predictions(
    sagebox_env: Path, reviews: pd.DataFrame, model_tar: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from sagebox.models import ModelClient
    from sagebox.serving import EndpointClient

    session = Session()
    session.storage.upload(model_tar, "models/tiny/model.tar.gz")
    ModelClient(session).create(
        "tiny", artifact_uri=session.storage.url("models/tiny/model.tar.gz")
    )
    endpoints = EndpointClient(session)
    endpoints.create("tiny-ep", "tiny", port=free_port())
    try:
        data = tmp_path / "reviews.csv"
        reviews.to_csv(data, index=False)
        config = BiasConfig("sentiment", [1], "product_category", bootstrap=0)
        result, paths = bias_file(
            data, config, tmp_path / "out", endpoint="tiny-ep", session=session
        )
    finally:
        endpoints.delete("tiny-ep")
    post = result.analysis["post_training_bias_metrics"]["facets"]["product_category"]
    assert len(post) == reviews["product_category"].nunique()
    details = json.loads(paths["details"].read_text())
    assert details["data"]["predictions"] == "endpoint tiny-ep (review_body)"
