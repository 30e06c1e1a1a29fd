"""Online lookup at inference: a model package that reads reviews by id from a feature group."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from sagebox.errors import InputDataError, NotFoundError
from sagebox.features import FeatureGroup
from sagebox.features.lookup import FeatureLookup, attach_feature_lookup
from sagebox.models import HookModel
from sagebox.session import Session
from tests.features.conftest import reviews_frame
from tests.serving.conftest import package_tiny_model


def _lookup_model(session: Session, tmp_path: Path) -> Path:
    archive = package_tiny_model(tmp_path / "build", min_df=1)
    session.storage.upload(archive, "models/tiny/model.tar.gz")
    from sagebox.models import ModelClient

    ModelClient(session).create("tiny", artifact_uri="models/tiny/model.tar.gz")  # its SHA-256
    uri = attach_feature_lookup(session.storage.url("models/tiny/model.tar.gz"), "reviews")
    assert uri.endswith("models/tiny/model-lookup.tar.gz")
    local = session.storage.download(session.key_for(uri), tmp_path / "lookup.tar.gz")
    with tarfile.open(local) as tar:
        tar.extractall(tmp_path / "model", filter="data")
    return tmp_path / "model"


def test_requests_by_record_id_use_the_online_text(
    group: FeatureGroup, session: Session, tmp_path: Path
) -> None:
    frame = reviews_frame(3).assign(
        review_body=["I love it, perfect fit", "awful, it ripped", "it is okay I guess"]
    )
    group.ingest(frame)
    model = HookModel.from_dir(_lookup_model(session, tmp_path))
    by_text, _ = model.invoke(
        json.dumps([{"review_body": t} for t in frame["review_body"]]).encode(),
        "application/json",
        "application/json",
    )
    by_id, _ = model.invoke(
        b'[{"review_id": 1}, {"review_id": 2}, {"review_id": 3}]',
        "application/json",
        "application/json",
    )
    assert json.loads(by_id) == json.loads(by_text)
    mixed, _ = model.invoke(
        b'{"review_id": 2}\n{"review_body": "I love it, perfect fit"}\n',
        "application/jsonlines",
        "application/json",
    )
    predictions = json.loads(mixed)["predictions"]
    assert predictions == [json.loads(by_text)["predictions"][i] for i in (1, 0)]
    plain, _ = model.invoke(b"just text", "text/plain", "application/json")
    assert len(json.loads(plain)["predictions"]) == 1
    with pytest.raises(NotFoundError, match="no online record for review_id 99"):
        model.invoke(b'{"review_id": 99}', "application/json", "application/json")
    assert FeatureLookup("reviews", ["sentiment"], session).lookup([1, 99]) == [
        {"sentiment": -1},
        None,
    ]


def test_lookup_needs_an_online_text_feature(session: Session) -> None:
    offline = FeatureGroup("offline", session=session)
    offline.load_feature_definitions(reviews_frame())
    offline.create("review_id", "date", enable_online_store=False)
    with pytest.raises(InputDataError, match="has no online store"):
        attach_feature_lookup("models/x/model.tar.gz", "offline", session=session)
    online = FeatureGroup("online", session=session)
    online.load_feature_definitions(reviews_frame())
    online.create("review_id", "date")
    with pytest.raises(InputDataError, match="has no feature 'text'"):
        attach_feature_lookup("models/x/model.tar.gz", "online", text_feature="text")


@pytest.mark.slow
def test_endpoint_looks_features_up_by_record_id(
    group: FeatureGroup, session: Session, tmp_path: Path
) -> None:
    from sagebox.models import ModelClient
    from sagebox.serving import EndpointClient
    from tests.conftest import free_port

    group.ingest(reviews_frame(2).assign(review_body=["I love it, perfect fit", "awful"]))
    archive = package_tiny_model(tmp_path / "build", min_df=1)
    session.storage.upload(archive, "models/tiny/model.tar.gz")
    ModelClient(session).create("tiny", artifact_uri="models/tiny/model.tar.gz")  # its SHA-256
    uri = attach_feature_lookup("models/tiny/model.tar.gz", "reviews", session=session)
    ModelClient(session).create("tiny-lookup", artifact_uri=uri)
    endpoints = EndpointClient(session)
    endpoints.create("lookup", "tiny-lookup", port=free_port())
    try:
        by_id = endpoints.invoke("lookup", '[{"review_id": 1}, {"review_id": 2}]')
        by_text = endpoints.invoke(
            "lookup", '[{"review_body": "I love it, perfect fit"}, {"review_body": "awful"}]'
        )
        assert by_id == by_text and len(by_id["predictions"]) == 2
    finally:
        endpoints.delete("lookup")
