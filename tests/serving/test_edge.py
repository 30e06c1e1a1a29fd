"""Edge export to ONNX: parity with the original model, sizes and latencies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="edge export needs pip install 'sagebox[edge]'")
pytest.importorskip("skl2onnx", reason="edge export needs pip install 'sagebox[edge]'")

from sagebox.errors import ConfigError  # noqa: E402
from sagebox.models.edge import EdgeModel, compare, export_model, export_onnx  # noqa: E402
from sagebox.session import Session  # noqa: E402
from tests.fixtures.tiny_reviews import LABELS, TEXTS  # noqa: E402
from tests.serving.conftest import package_tiny_model  # noqa: E402


def test_linear_text_onnx_parity(tmp_path: Path) -> None:
    from sagebox.models.package import unpack_model

    archive = package_tiny_model(tmp_path / "pkg", min_df=1)
    model_dir = unpack_model(archive, tmp_path / "model")
    meta = export_onnx(model_dir, tmp_path / "export", quantize=True)
    assert meta["kind"] == "linear" and meta["int8_file"] is None and "int8_note" in meta
    edge = EdgeModel(tmp_path / "export")
    probe = [*TEXTS[:6], "Love   it,\n perfect\tfit", "", "ÉLÉGANT café dress"]
    assert edge.predict(TEXTS[:6]).tolist() == LABELS[:6]
    report = compare(model_dir, tmp_path / "export", probe * 5, labels=None, latency_samples=5)
    onnx = report["runtimes"]["onnx"]
    assert onnx["agreement_with_original"] >= 0.95  # accents/non-ASCII may differ (documented)
    assert set(report["runtimes"]) == {"original", "original_fast_path", "onnx"}
    assert report["size_bytes"]["onnx"] > 0 and report["size_bytes"]["original"] > 0
    from sagebox.algorithms.linear_text import LinearTextClassifier

    ascii_only = [p for p in probe if p.isascii()]
    original = LinearTextClassifier.load(model_dir).predict_proba(ascii_only)
    np.testing.assert_allclose(edge.predict_proba(ascii_only), original, atol=1e-3)  # float32


def test_export_registered_model_writes_a_report(serving_session: Session, tmp_path: Path) -> None:
    report = export_model(
        serving_session, "tiny-v2", tmp_path / "out", check_texts=TEXTS, check_labels=LABELS
    )
    assert (tmp_path / "out" / "model.onnx").is_file()
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["parity"]["runtimes"]["onnx"]["accuracy"] == 1.0
    assert report["parity"]["runtimes"]["onnx"]["agreement_with_original"] == 1.0


def test_unsupported_algorithm(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "manifest.json").write_text(json.dumps({"algorithm": "xgboost"}))
    with pytest.raises(ConfigError, match="no ONNX export"):
        export_onnx(tmp_path / "m", tmp_path / "out")


@pytest.mark.slow
def test_transformer_onnx_and_int8(tmp_path: Path) -> None:
    from sagebox.algorithms.text_transformer import TextTransformerClassifier
    from sagebox.models import build_manifest

    clf = TextTransformerClassifier(max_seq_length=32, num_threads=1)
    clf.model_, clf.tokenizer_ = clf._build_model()
    clf.classes_ = np.asarray([-1, 0, 1])
    model_dir = tmp_path / "model"
    clf.save(model_dir)
    manifest = build_manifest(
        "text-transformer", [-1, 0, 1], {-1: "negative", 0: "neutral", 1: "positive"}, extra={}
    )
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    meta = export_onnx(model_dir, tmp_path / "export", quantize=True)
    assert meta["int8_file"] == "model.int8.onnx"
    report = compare(
        model_dir,
        tmp_path / "export",
        TEXTS[:12] + ["a much longer review " * 10],
        latency_samples=3,
    )
    runtimes = report["runtimes"]
    assert runtimes["onnx"]["max_probability_diff"] < 1e-3
    assert runtimes["onnx"]["agreement_with_original"] == 1.0
    assert runtimes["onnx_int8"]["agreement_with_original"] >= 0.6
    assert report["size_bytes"]["onnx_int8"] < report["size_bytes"]["onnx"] / 2
