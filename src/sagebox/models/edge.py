"""Edge export: a packaged model as ONNX, with a parity check and a size/latency comparison.

- ``linear-text``: the TF-IDF + logistic-regression pipeline becomes one ONNX graph (string
  normalisation, tokenisation and n-gram counting are ONNX operators, so an edge app feeds raw
  text). ONNX has no ``char_wb`` analyzer nor accent stripping, so the graph counts character
  n-grams over the whole text after the edge runtime has collapsed whitespace and padded it
  with one space (which yields exactly ``char_wb``'s n-grams for this vocabulary), and words are
  ASCII ``\\b\\w\\w+\\b`` tokens without accent stripping. Accented or non-ASCII words can
  therefore count differently: the parity check measures how often that changes a prediction.
- ``text-transformer``: the encoder + head is exported with ``torch.onnx`` (inputs
  ``input_ids`` and ``attention_mask``; the tokenizer files ship next to it) and can be
  int8-quantised (dynamic quantisation of the weight matrices with onnxruntime).

Each export directory holds ``model.onnx`` (and ``model.int8.onnx``), ``edge.json`` (what the
runtime needs) and, after :func:`export_model`, ``report.json`` with the comparison.
"""

from __future__ import annotations

import copy
import json
import shutil
import statistics
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sagebox.errors import ConfigError, InputDataError

__all__ = ["EdgeModel", "compare", "export_model", "export_onnx"]

_LOCALE = "C.UTF-8"


class EdgeModel:
    """Run an exported model with onnxruntime (what an edge device would run).

    Example:
        >>> edge = EdgeModel(Path("export"), quantized=False)
        >>> edge.predict(["love it"]).tolist()
        [1]
    """

    def __init__(self, export_dir: Path, quantized: bool = False) -> None:
        import onnxruntime as ort

        self.meta = json.loads((export_dir / "edge.json").read_text())
        name = self.meta["int8_file"] if quantized else self.meta["onnx_file"]
        if not name:
            raise InputDataError("this export has no int8 model", hint="export with --quantize")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(export_dir / name), options, providers=["CPUExecutionProvider"]
        )
        self.classes = np.asarray(self.meta["labels"])
        self.tokenizer = None
        if self.meta["kind"] == "transformer":
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(export_dir / "tokenizer")

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Class probabilities in ``labels`` order."""
        if self.meta["kind"] == "linear":
            rows = np.array([[" " + " ".join(str(t).split()) + " "] for t in texts], dtype=object)
            return np.asarray(self.session.run(["probabilities"], {"input": rows})[0])
        assert self.tokenizer is not None
        out = []
        for start in range(0, len(texts), batch_size):
            enc = self.tokenizer(
                [str(t) for t in texts[start : start + batch_size]],
                truncation=True,
                max_length=self.meta["max_seq_length"],
                padding=True,
                return_tensors="np",
            )
            logits = self.session.run(
                ["logits"],
                {
                    "input_ids": enc["input_ids"].astype(np.int64),
                    "attention_mask": enc["attention_mask"].astype(np.int64),
                },
            )[0]
            exp = np.exp(logits - logits.max(axis=1, keepdims=True))
            out.append(exp / exp.sum(axis=1, keepdims=True))
        return np.vstack(out) if out else np.zeros((0, len(self.classes)))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The most probable label per text."""
        return np.asarray(self.classes[self.predict_proba(texts).argmax(axis=1)])


def export_onnx(model_dir: Path, out_dir: Path, quantize: bool = False) -> dict[str, Any]:
    """Export the unpacked model package in ``model_dir`` to ``out_dir``; return ``edge.json``.

    Raises:
        ConfigError: if the algorithm has no ONNX export or onnx/onnxruntime are missing.
    """
    from sagebox.algorithms import get_algorithm
    from sagebox.models.package import read_manifest

    manifest = read_manifest(model_dir)
    algorithm = manifest["algorithm"]
    if algorithm not in ("linear-text", "text-transformer"):
        raise ConfigError(
            f"no ONNX export for algorithm {algorithm!r}",
            hint="export linear-text or text-transformer models",
        )
    _require("onnx", "onnxruntime")
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    clf: Any = get_algorithm(algorithm).load(model_dir)
    meta: dict[str, Any] = {
        "format_version": 1,
        "algorithm": algorithm,
        "labels": [int(c) for c in clf.classes_],
        "label_names": manifest.get("label_names", {}),
        "onnx_file": "model.onnx",
        "int8_file": None,
        "source_manifest": manifest,
    }
    if algorithm == "linear-text":
        _require("skl2onnx")
        meta.update(
            kind="linear",
            preprocessing="collapse whitespace, pad with one space",
            inputs={"input": "string [batch, 1]"},
        )
        _export_linear(clf, out_dir / "model.onnx")
        if quantize:
            meta["int8_note"] = (
                "not applicable: the linear graph is string tables and a "
                "LinearClassifier, with no weight matrices to quantise"
            )
    else:
        meta.update(
            kind="transformer",
            max_seq_length=int(clf.max_seq_length),
            inputs={"input_ids": "int64 [batch, seq]", "attention_mask": "int64 [batch, seq]"},
        )
        _export_transformer(clf, out_dir / "model.onnx")
        clf.tokenizer_.save_pretrained(out_dir / "tokenizer")
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(
                out_dir / "model.onnx", out_dir / "model.int8.onnx", weight_type=QuantType.QInt8
            )
            meta["int8_file"] = "model.int8.onnx"
    (out_dir / "edge.json").write_text(json.dumps(meta, indent=2))
    return meta


def compare(
    model_dir: Path,
    export_dir: Path,
    texts: Sequence[str],
    labels: Sequence[int] | None = None,
    latency_samples: int = 100,
) -> dict[str, Any]:
    """Parity (agreement of predictions), accuracy, size and latency: original vs ONNX."""
    from sagebox.models.handler import model_fn

    meta = json.loads((export_dir / "edge.json").read_text())
    original = model_fn(model_dir)
    if hasattr(original.classifier, "inference_precision"):
        original.classifier.inference_precision = "float32"  # the exported graph is float32
    texts = [str(t) for t in texts]
    runners: dict[str, Any] = {"original": original.classifier.predict_proba}
    if original.fast is not None:
        runners["original_fast_path"] = original.fast.predict_proba
    runners["onnx"] = EdgeModel(export_dir).predict_proba
    if meta.get("int8_file"):
        runners["onnx_int8"] = EdgeModel(export_dir, quantized=True).predict_proba
    classes = np.asarray(meta["labels"])
    reference = None
    report: dict[str, Any] = {
        "records": len(texts),
        "algorithm": meta["algorithm"],
        "size_bytes": _sizes(model_dir, export_dir, meta),
        "runtimes": {},
    }
    for name, run in runners.items():
        started = time.perf_counter()
        proba = run(texts)
        batch_s = time.perf_counter() - started
        predicted = classes[proba.argmax(axis=1)]
        if reference is None:
            reference = (predicted, proba)
        single = []
        for text in texts[:latency_samples]:
            t0 = time.perf_counter()
            run([text])
            single.append((time.perf_counter() - t0) * 1000)
        entry = {
            "agreement_with_original": round(float((predicted == reference[0]).mean()), 6),
            "max_probability_diff": round(float(np.abs(proba - reference[1]).max()), 6),
            "batch_reviews_per_s": round(len(texts) / batch_s, 1) if batch_s else None,
            "single_review_p50_ms": round(statistics.median(single), 3) if single else None,
        }
        if labels is not None:
            entry["accuracy"] = round(float((predicted == np.asarray(labels)).mean()), 6)
        report["runtimes"][name] = entry
    return report


def export_model(
    session: Any,
    model_name: str,
    out_dir: Path,
    quantize: bool = False,
    check_texts: Sequence[str] | None = None,
    check_labels: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Export registered model ``model_name`` to ``out_dir``; check parity on the given texts.

    Writes ``report.json`` next to the ONNX files and returns it.
    """
    import tempfile

    from sagebox.models.artifacts import fetch_verified

    record = session.metadata.get_model(model_name)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = fetch_verified(session, record, Path(tmp) / "package")
        started = time.perf_counter()
        meta = export_onnx(model_dir, out_dir, quantize=quantize)
        report: dict[str, Any] = {
            "model": model_name,
            "export_dir": str(out_dir),
            "export_seconds": round(time.perf_counter() - started, 2),
            "quantized": bool(meta.get("int8_file")),
        }
        if meta.get("int8_note"):
            report["int8_note"] = meta["int8_note"]
        if check_texts is not None:
            report["parity"] = compare(model_dir, out_dir, check_texts, check_labels)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    return report


def _export_linear(clf: Any, path: Path) -> None:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import StringTensorType
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, Pipeline

    union, model = clf.pipeline_.steps[0][1], clf.pipeline_.steps[-1][1]
    options: dict[int, dict[str, Any]] = {id(model): {"zipmap": False}}
    surrogates = []
    for name, vec in union.transformer_list:
        if not isinstance(vec, TfidfVectorizer) or vec.analyzer not in ("word", "char_wb"):
            raise ConfigError(
                f"cannot export feature block {name!r} to ONNX",
                hint="only word and char_wb TF-IDF blocks are supported",
            )
        twin = copy.deepcopy(vec)
        twin.strip_accents = None  # ONNX has no accent stripping (see the module docstring)
        if twin.analyzer == "char_wb":
            twin.analyzer = "char"  # over whitespace-normalised, space-padded text: same n-grams
            options[id(twin)] = {"locale": _LOCALE}
        else:
            options[id(twin)] = {"tokenexp": r"\b\w\w+\b", "locale": _LOCALE}
        surrogates.append((name, twin))
    pipeline = Pipeline([("union", FeatureUnion(surrogates)), ("model", model)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onx = convert_sklearn(
            pipeline,
            initial_types=[("input", StringTensorType([None, 1]))],
            options=options,
            target_opset={"": 17, "ai.onnx.ml": 3},
        )
    path.write_bytes(onx.SerializeToString())


def _export_transformer(clf: Any, path: Path) -> None:
    import torch

    model = clf.model_.eval()
    sample = clf.tokenizer_(
        ["a short review", "another, somewhat longer review text"],
        padding=True,
        return_tensors="pt",
    )
    axes = {
        "input_ids": {0: "batch", 1: "sequence"},
        "attention_mask": {0: "batch", 1: "sequence"},
        "logits": {0: "batch"},
    }
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (sample["input_ids"], sample["attention_mask"]),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def _sizes(model_dir: Path, export_dir: Path, meta: dict[str, Any]) -> dict[str, int]:
    skip = {"manifest.json", "hyperparameters.json"}
    original = sum(
        p.stat().st_size
        for p in model_dir.rglob("*")
        if p.is_file() and "code" not in p.parts and p.name not in skip
    )
    sizes = {"original": original, "onnx": (export_dir / meta["onnx_file"]).stat().st_size}
    if meta.get("int8_file"):
        sizes["onnx_int8"] = (export_dir / meta["int8_file"]).stat().st_size
    return sizes


def _require(*modules: str) -> None:
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"edge export needs {', '.join(missing)}",
            hint="pip install 'sagebox[edge]' (onnx, onnxruntime, skl2onnx)",
        )
