"""Model archives are verified by SHA-256 before any load; model files are not pickles.

The probe of issue 15: a model is registered, then its archive in the lake is swapped for a
crafted one whose ``code/inference.py`` writes a marker file when imported. Deploying,
batch-transforming, evaluating, explaining or exporting the model must fail with the hash
error, and the marker must never appear.
"""

from __future__ import annotations

import contextlib
import hashlib
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.errors import ArtifactIntegrityError, JobError
from sagebox.session import Session
from tests.conftest import free_port
from tests.fixtures.tiny_reviews import LABELS, TEXTS

KEY = "models/victim/model.tar.gz"


def _package(workdir: Path) -> Path:
    from sagebox.algorithms.linear_text import LinearTextClassifier
    from sagebox.models import build_manifest, pack_model_dir

    LinearTextClassifier(min_df=1).fit(TEXTS, LABELS).save(workdir / "model")
    manifest = build_manifest("linear-text", [-1, 0, 1], {}, extra={})
    return pack_model_dir(workdir / "model", manifest, workdir / "model.tar.gz")


def _crafted(workdir: Path, marker: Path) -> Path:
    """A valid-looking package whose inference code writes ``marker`` when loaded."""
    root = workdir / "evil"
    (root / "code").mkdir(parents=True)
    (root / "manifest.json").write_text('{"format_version": 1, "algorithm": "linear-text"}')
    (root / "code" / "inference.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('pwned')\n"
    )
    out = workdir / "evil.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        for item in sorted(root.iterdir()):
            tar.add(item, arcname=item.name)
    return out


@pytest.fixture()
def swapped(sagebox_env: Path, tmp_path: Path) -> Iterator[tuple[Session, Path, str]]:
    """A session whose model ``victim`` was registered, then swapped in the lake."""
    from sagebox.models import ModelClient

    session = Session()
    good = _package(tmp_path / "good")
    session.storage.upload(good, KEY)
    record = ModelClient(session).create("victim", artifact_uri=session.storage.url(KEY))
    assert record.sha256 == hashlib.sha256(good.read_bytes()).hexdigest()
    assert session.metadata.get_model("victim").sha256 == record.sha256
    marker = tmp_path / "marker"
    session.storage.upload(_crafted(tmp_path, marker), KEY)  # the attacker writes the lake
    yield session, marker, record.sha256
    assert not marker.exists(), "the swapped archive's code ran"


def test_swapped_archive_is_refused_by_fetch_with_both_digests(
    swapped: tuple[Session, Path, str], tmp_path: Path
) -> None:
    from sagebox.models import fetch_verified

    session, _, expected = swapped
    with pytest.raises(ArtifactIntegrityError) as info:
        fetch_verified(session, "victim", tmp_path / "work")
    message = str(info.value)
    assert "'victim'" in message and expected in message and "re-register" in message
    actual = hashlib.sha256(session.storage.read_bytes(KEY)).hexdigest()
    assert actual in message
    assert not (tmp_path / "work" / "model").exists()  # nothing unpacked


def test_swapped_archive_fails_deploy(swapped: tuple[Session, Path, str]) -> None:
    from sagebox.serving import EndpointClient

    session = swapped[0]
    client = EndpointClient(session)
    try:
        with pytest.raises(JobError, match="SHA-256"):
            client.create("victim-ep", model_name="victim", port=free_port())
    finally:
        with contextlib.suppress(Exception):
            client.delete("victim-ep")
        for endpoint in session.metadata.list_endpoints():
            if endpoint.handle:
                session.compute.stop(endpoint.handle, grace_seconds=5)


def test_swapped_archive_fails_transform(swapped: tuple[Session, Path, str]) -> None:
    from sagebox.serving import TransformClient

    session = swapped[0]
    session.storage.write_bytes("raw/batch.csv", b"love it\nawful\n")
    with contextlib.suppress(JobError):
        TransformClient(session).run("victim", "raw/batch.csv", "scored", content_type="text/csv")
    job = session.metadata.list_jobs()[0]
    assert job.status is JobStatus.FAILED
    assert "SHA-256" in (job.failure_reason or ""), job.failure_reason


def test_swapped_archive_fails_evaluation(swapped: tuple[Session, Path, str]) -> None:
    import pandas as pd

    from sagebox.jobs import JobClient

    session = swapped[0]
    test = Path(session.settings.home) / "test.parquet"
    pd.DataFrame({"review_body": TEXTS, "sentiment": LABELS}).to_parquet(test)
    session.storage.upload(test, "data/test.parquet")
    with contextlib.suppress(JobError):
        JobClient(session).run(
            "evaluation", {}, {"model": session.storage.url(KEY), "test": "data/test.parquet"}
        )
    job = session.metadata.list_jobs()[0]
    assert job.status is JobStatus.FAILED
    assert "SHA-256" in (job.failure_reason or ""), job.failure_reason


def test_swapped_archive_fails_clarify_and_edge_loads(
    swapped: tuple[Session, Path, str], tmp_path: Path
) -> None:
    from sagebox.clarify import load_text_model

    session = swapped[0]
    with pytest.raises(ArtifactIntegrityError, match="victim"):
        load_text_model("victim", session)
    from sagebox.models.edge import export_model

    with pytest.raises(ArtifactIntegrityError, match="victim"):
        export_model(session, "victim", tmp_path / "edge")


def test_unrecorded_archive_under_a_multi_model_prefix_is_refused(
    sagebox_env: Path, tmp_path: Path
) -> None:
    import asyncio

    from sagebox.models import ModelClient
    from sagebox.serving._worker.multimodel import ModelCache

    session = Session()
    session.storage.upload(_package(tmp_path / "p"), "mme/a.tar.gz")
    cache = ModelCache(session, "mme", tmp_path / "cache", budget_bytes=2**30)
    with pytest.raises(ArtifactIntegrityError, match="no recorded SHA-256"):
        asyncio.run(cache.get("a.tar.gz"))
    ModelClient(session).create("a", artifact_uri="mme/a.tar.gz")  # registering records it
    model = asyncio.run(cache.get("a.tar.gz"))
    assert model.predict(["love it"])[0]["label"] == 1
    marker = tmp_path / "marker"
    session.storage.upload(_crafted(tmp_path, marker), "mme/a.tar.gz")
    fresh = ModelCache(session, "mme", tmp_path / "fresh", budget_bytes=2**30)  # a new worker
    with pytest.raises(ArtifactIntegrityError, match="SHA-256"):
        asyncio.run(fresh.get("a.tar.gz"))
    assert not marker.exists()


def test_registering_a_job_output_changed_since_the_job_is_refused(
    sagebox_env: Path, tmp_path: Path
) -> None:
    from sagebox.backends.metadata.base import ArtifactRecord
    from sagebox.models import ModelClient, sha256_file

    session = Session()
    good = _package(tmp_path / "good")
    session.metadata.add_artifact(  # what a training job records for its model.tar.gz
        ArtifactRecord(session.storage.url(KEY), "model", sha256_file(good), 1, None)
    )
    session.storage.upload(_crafted(tmp_path, tmp_path / "marker"), KEY)
    with pytest.raises(ArtifactIntegrityError, match="re-run the job"):
        ModelClient(session).create("late", artifact_uri=KEY)
    assert session.metadata.list_models() == []


def test_skops_load_refuses_an_untrusted_type(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    from sagebox.algorithms._sklearn_io import load_sklearn, save_sklearn

    marker = tmp_path / "marker"
    evil = FunctionTransformer(func=Path.write_text, kw_args={"data": "pwned"})
    sio.dump(evil, tmp_path / "model.skops")
    (tmp_path / "model.vocabulary.json").write_text("{}")
    with pytest.raises(ArtifactIntegrityError, match="pathlib"):
        load_sklearn(tmp_path, "model")
    assert not marker.exists()
    fine = FunctionTransformer(func=None)
    save_sklearn(fine, tmp_path / "ok", "model")
    assert isinstance(load_sklearn(tmp_path / "ok", "model"), FunctionTransformer)


def test_legacy_joblib_model_loads_with_a_future_warning(tmp_path: Path) -> None:
    import joblib

    from sagebox.algorithms.linear_text import LinearTextClassifier

    clf = LinearTextClassifier(min_df=1).fit(TEXTS, LABELS)
    clf.save(tmp_path / "m")
    (tmp_path / "m" / "model.skops").unlink()
    joblib.dump(clf.pipeline_, tmp_path / "m" / "model.joblib")
    with pytest.warns(FutureWarning, match="re-train"):
        loaded = LinearTextClassifier.load(tmp_path / "m")
    assert loaded.predict(["love it"]).tolist() == clf.predict(["love it"]).tolist()


def test_linear_text_package_holds_no_pickle(tmp_path: Path) -> None:
    archive = _package(tmp_path)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "model.skops" in names and not any(n.endswith((".joblib", ".pkl")) for n in names)
