"""text-transformer's inference precision: what ``auto`` resolves to, and bfloat16 parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sagebox.algorithms.text_transformer import (
    PRECISION_ENV,
    TextTransformerClassifier,
    _hardware_precision,
    resolve_precision,
)
from sagebox.errors import ConfigError, SageboxError


def test_explicit_precisions_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRECISION_ENV, "bfloat16")
    assert resolve_precision("float32") == "float32"
    monkeypatch.setenv(PRECISION_ENV, "float32")
    assert resolve_precision("bfloat16") == "bfloat16"


def test_auto_follows_the_environment_then_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRECISION_ENV, "float32")
    assert resolve_precision("auto") == "float32"
    monkeypatch.setenv(PRECISION_ENV, " BFloat16 ")
    assert resolve_precision("auto") == "bfloat16"
    monkeypatch.delenv(PRECISION_ENV)
    assert resolve_precision("auto") == _hardware_precision()


def test_a_bad_environment_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRECISION_ENV, "fp16")
    with pytest.raises(ConfigError, match="fp16") as info:
        resolve_precision("auto")
    assert "float32" in (info.value.hint or "")


def test_hardware_precision_reads_the_cpu_flags(tmp_path: Path) -> None:
    amx = tmp_path / "amx"
    amx.write_text("flags\t\t: fpu avx2 avx512f amx_bf16 amx_tile amx_int8\n")
    avx2 = tmp_path / "avx2"
    avx2.write_text("flags\t\t: fpu avx2 fma avx512_bf16\n")
    assert _hardware_precision(amx) == "bfloat16"
    assert _hardware_precision(avx2) == "float32"
    assert _hardware_precision(tmp_path / "missing") == "float32"


def test_an_unknown_precision_hyperparameter_lists_the_valid_ones() -> None:
    with pytest.raises(SageboxError, match="inference_precision") as info:
        TextTransformerClassifier.from_hyperparameters({"inference_precision": "fp16"})
    assert "bfloat16" in str(info.value) + str(info.value.hint or "")


def test_bfloat16_logits_are_float32_and_close_to_float32(tiny_encoder: Path) -> None:
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForSequenceClassification

    from sagebox.algorithms._transformer_train import predict_logits

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_encoder, num_labels=3)
    rng = np.random.default_rng(0)
    encodings = [list(rng.integers(1, 30000, size=n)) for n in (5, 17, 9, 30)]
    full = predict_logits(model, encodings, pad_id=0, batch_size=2)
    half = predict_logits(model, encodings, pad_id=0, batch_size=2, precision="bfloat16")
    assert full.dtype == half.dtype == np.float32
    assert full.shape == half.shape == (4, 3)
    assert np.abs(full - half).max() < 0.1  # bfloat16 keeps ~3 significant digits


def test_bfloat16_training_runs_and_keeps_float32_weights(tiny_encoder: Path) -> None:
    from sagebox.algorithms.base import FitContext
    from sagebox.testing.algorithms import LABELS, TEXTS

    clf = TextTransformerClassifier.from_hyperparameters(
        {
            "model_name_or_path": str(tiny_encoder),
            "max_seq_length": "32",
            "epochs": "1",
            "train_batch_size": "8",
            "learning_rate": "0.003",
            "num_threads": "1",
            "train_precision": "bfloat16",
        }
    )
    assert isinstance(clf, TextTransformerClassifier)
    clf.fit(TEXTS, LABELS, FitContext(validation=(TEXTS[:12], LABELS[:12])))
    assert all(
        p.dtype.is_floating_point and str(p.dtype) == "torch.float32"
        for p in clf.model_.parameters()
    )
    assert np.isfinite(clf.training_summary_["validation:loss"])
    assert clf.training_summary_["train:samples_per_second"] > 0
    assert clf.predict_proba(TEXTS[:4]).shape == (4, 3)
    with pytest.raises(SageboxError, match="train_precision"):
        TextTransformerClassifier.from_hyperparameters({"train_precision": "fp16"})


def test_the_bfloat16_twin_predicts_what_autocast_does_and_is_made_once(
    tiny_encoder: Path,
) -> None:
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForSequenceClassification

    from sagebox.algorithms._transformer_train import bfloat16_linear_twin, predict_logits

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_encoder, num_labels=3)
    twin = bfloat16_linear_twin(model)
    linear = [m for m in twin.modules() if isinstance(m, torch.nn.Linear)]
    assert linear and all(m.weight.dtype == torch.bfloat16 for m in linear)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the original is untouched
    rng = np.random.default_rng(1)
    encodings = [list(rng.integers(1, 30000, size=n)) for n in (3, 12, 25, 7, 40)]
    autocast = predict_logits(model, encodings, pad_id=0, batch_size=2, precision="bfloat16")
    held = predict_logits(twin, encodings, pad_id=0, batch_size=2, precision="bfloat16")
    np.testing.assert_allclose(held, autocast, rtol=0, atol=1e-6)

    clf = TextTransformerClassifier(model_name_or_path=str(tiny_encoder))
    clf.model_ = model
    assert clf._inference_model("float32") is model
    first = clf._inference_model("bfloat16")
    assert first is not model and clf._inference_model("bfloat16") is first
    clf.model_ = AutoModelForSequenceClassification.from_pretrained(tiny_encoder, num_labels=3)
    assert clf._inference_model("bfloat16") is not first  # a refit model gets its own twin
