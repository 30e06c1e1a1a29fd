"""A real endpoint process serving a packaged model over HTTP on 127.0.0.1."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sagebox.algorithms.linear_text import LinearTextClassifier
from sagebox.errors import AlreadyExistsError, InputDataError, NotFoundError, PortInUseError
from sagebox.models import ModelClient, build_manifest, pack_model_dir
from sagebox.serving import EndpointClient
from sagebox.session import Session
from tests.conftest import free_port
from tests.fixtures.tiny_reviews import LABELS, TEXTS


@pytest.fixture()
def session(sagebox_env: Path, tmp_path: Path) -> Session:
    session = Session()
    clf = LinearTextClassifier(min_df=1).fit(TEXTS, LABELS)
    clf.save(tmp_path / "model")
    manifest = build_manifest(
        "linear-text", [-1, 0, 1], {-1: "negative", 0: "neutral", 1: "positive"}, extra={}
    )
    archive = pack_model_dir(tmp_path / "model", manifest, tmp_path / "model.tar.gz")
    session.storage.upload(archive, "models/tiny/model.tar.gz")
    ModelClient(session).create(
        "tiny", artifact_uri=session.storage.url("models/tiny/model.tar.gz")
    )
    return session


def test_endpoint_lifecycle(session: Session) -> None:
    endpoints = EndpointClient(session)
    port = free_port()
    endpoint = endpoints.create("reviews", "tiny", port=port)
    try:
        assert endpoint.status == "InService" and endpoint.url == f"http://127.0.0.1:{port}"
        out = endpoints.invoke("reviews", ["love it", {"review_body": "terrible, ripped"}])
        labels = [p["label"] for p in out["predictions"]]
        assert labels == [1, -1]
        assert out["predictions"][0]["label_name"] == "positive"
        assert set(out["predictions"][0]["probabilities"]) == {"-1", "0", "1"}
        lines = endpoints.invoke(
            "reviews",
            '{"review_body": "great fabric"}\n',
            content_type="application/jsonlines",
            accept="application/jsonlines",
        )
        assert '"label": 1' in lines
        csv = endpoints.invoke("reviews", "awful\nlove it\n", content_type="text/csv")
        assert [p["label"] for p in csv["predictions"]] == [-1, 1]
        with pytest.raises(InputDataError, match="unsupported content type"):
            endpoints.invoke("reviews", "x", content_type="image/png")
        with socket.socket() as taken:  # a port held by something that is not sagebox
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            other = taken.getsockname()[1]
            with pytest.raises(PortInUseError, match=f"port {other}"):
                endpoints.create("second", "tiny", port=other)
        with pytest.raises(AlreadyExistsError, match="already exists"):
            endpoints.create("reviews", "tiny", port=port)
    finally:
        endpoints.delete("reviews")
    with pytest.raises(NotFoundError):
        endpoints.describe("reviews")
    with socket.socket() as sock:  # the server process is gone and the port is free again
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as any server binds
        sock.bind(("127.0.0.1", port))
        sock.listen(1)


def test_unknown_model(session: Session) -> None:
    with pytest.raises(NotFoundError):
        EndpointClient(session).create("x", "no-such-model", port=free_port())


def test_custom_inference_code_overrides_a_hook(tmp_path: Path) -> None:
    from sagebox.models import load_handler

    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text(
        "def output_fn(predictions, accept):\n    return b'custom', 'text/plain'\n"
    )
    hooks = load_handler(tmp_path)
    assert hooks.output_fn([], "x") == (b"custom", "text/plain")
    from sagebox.models import handler

    assert hooks.input_fn is handler.input_fn
