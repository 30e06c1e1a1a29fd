"""Benchmark the built-in algorithms on the real reviews, and fine-tuning throughput.

Data: ``../shared/data/womens_clothing_reviews/reviews.csv`` with the course transformation;
85% train+validation / 15% test (stratified, seed 0); the 85% is split 90/10 into train and
validation (seed 0). Every algorithm fits on train, sees validation only for per-epoch
figures, early stopping and the ensemble's weights and offsets, and never sees the test split.

Figures (one JSON line on stdout, progress on stderr):
- per algorithm: training seconds, accuracy on the class-balanced test split (each class
  down-sampled to the smallest, seed 0), macro-F1 and accuracy on the natural test split, and
  validation figures;
- ``ensemble``: the built-in ``ensemble`` over the members named by ``--ensemble`` (combined
  from the members fitted above, exactly as ``--algorithm ensemble`` fits them; its training
  time is the members' times plus the tuning);
- ``throughput``: text-transformer fine-tuning samples/s as a training job with 1 and with 2
  worker processes (torch DDP, gloo), same per-process batch, measured in the same run.

``--only`` and ``--ensemble`` take copies of an algorithm as ``<algorithm>@<k>`` (seed k), as
the ``ensemble`` built-in does (``text-transformer,text-transformer@1``: two seeds).

Usage: ``python bench/bench_training.py [--data PATH] [--only linear-text,blazingtext]
[--skip-throughput] [--include-title]`` (``--include-title``: the review's title before its
text, as ``sagebox evaluate --include-title`` does; the same rows and splits).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "womens_clothing_reviews" / "reviews.csv"

#: the hyperparameters benchmarked (chosen on the validation split only)
CONFIGS: dict[str, dict[str, Any]] = {
    "linear-text": {},
    "blazingtext": {"epochs": 10},
    "xgboost": {"svd_components": 200},
    "text-transformer": {
        "max_seq_length": 160,
        "epochs": 2,
        "learning_rate": 1e-4,
        "warmup_ratio": 0.06,
        "train_batch_size": 16,
        "max_samples_per_class": 2500,
        "log_interval": 100,
    },
}
#: per-member overrides (``--member-hp text-transformer@1.model_name_or_path=...``)
MEMBER_HPS: dict[str, dict[str, Any]] = {}
_PRECISION_CHECK = True  # --skip-precision-check turns it off (slow for large encoders)

THROUGHPUT = {
    "max_seq_length": 128,
    "epochs": 1,
    "train_batch_size": 16,
    "train_steps_per_epoch": 24,
    "log_interval": 0,
    "seed": 0,
}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _splits(data: Path, include_title: bool = False) -> dict[str, Any]:
    from sagebox.datasets import balance_classes, read_raw_reviews, split_dataset, to_sentiment

    table = to_sentiment(read_raw_reviews(data), include_title=include_title)
    train_val, _, test = split_dataset(table, 0.85, 0.0, 0.15, seed=0)
    train, validation, _ = split_dataset(train_val, 0.9, 0.1, 0.0, seed=0)
    return {
        "train": train,
        "validation": validation,
        "test": test,
        "test_balanced": balance_classes(test, seed=0),
    }


def _scores(clf: Any, splits: dict[str, Any]) -> dict[str, float]:
    from sagebox.training.fit import evaluate_classifier

    balanced = evaluate_classifier(clf, splits["test_balanced"])
    natural = evaluate_classifier(clf, splits["test"])
    validation = evaluate_classifier(clf, splits["validation"])
    return {
        "balanced_test_accuracy": round(balanced["accuracy"], 4),
        "natural_test_macro_f1": round(natural["macro_f1"], 4),
        "natural_test_accuracy": round(natural["accuracy"], 4),
        "balanced_test_macro_f1": round(balanced["macro_f1"], 4),
        "validation_accuracy": round(validation["accuracy"], 4),
        # mean per-class recall: the balanced-test accuracy's estimate on the validation split
        "validation_balanced_accuracy": round(
            sum(m["recall"] for m in validation["per_class"].values())
            / len(validation["per_class"]),
            4,
        ),
        "validation_macro_f1": round(validation["macro_f1"], 4),
    }


def _algorithm(name: str) -> str:
    """``text-transformer@1`` -> ``text-transformer`` (an ensemble member's copy label)."""
    return name.partition("@")[0]


def _config(name: str) -> dict[str, Any]:
    """The benchmarked hyperparameters of ``name``; copy ``@k`` gets seed k, as in ``ensemble``."""
    copy = name.partition("@")[2]
    return {"seed": int(copy or 0), **CONFIGS[_algorithm(name)], **MEMBER_HPS.get(name, {})}


def _precision_check(clf: Any, splits: dict[str, Any]) -> dict[str, Any]:
    """What ``inference_precision=auto`` chose here, and how bfloat16 compares with float32.

    The figures above use the default (``auto``); this scores the same fitted model with each
    precision forced: agreement of the predicted classes on the natural test split, and the
    float32 test figures.
    """
    from sagebox.algorithms.text_transformer import resolve_precision

    texts = splits["test"]["review_body"].tolist()
    chosen = clf.inference_precision
    predictions = {}
    for precision in ("float32", "bfloat16"):
        clf.inference_precision = precision
        started = time.perf_counter()
        predictions[precision] = clf.predict(texts)
        predictions[f"{precision}_seconds"] = round(time.perf_counter() - started, 1)
    clf.inference_precision = "float32"
    float32 = _scores(clf, splits)
    clf.inference_precision = chosen
    return {
        "auto_means": resolve_precision("auto"),
        "test_agreement_bfloat16_vs_float32": round(
            float((predictions["float32"] == predictions["bfloat16"]).mean()), 4
        ),
        "test_predict_seconds": {p: predictions[f"{p}_seconds"] for p in ("float32", "bfloat16")},
        "float32_balanced_test_accuracy": float32["balanced_test_accuracy"],
        "float32_natural_test_macro_f1": float32["natural_test_macro_f1"],
    }


def _algorithms(splits: dict[str, Any], names: list[str], ensemble: list[str]) -> dict[str, Any]:
    from sagebox.algorithms.base import FitContext
    from sagebox.algorithms.ensemble import EnsembleClassifier
    from sagebox.training.fit import fit_text_classifier

    results: dict[str, Any] = {}
    fitted: dict[str, Any] = {}
    for name in names:
        _log(f"fitting {name} on {len(splits['train'])} reviews")
        started = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # the algorithms' metric lines
            clf = fit_text_classifier(
                _algorithm(name), _config(name), splits["train"], splits["validation"]
            )
        seconds = time.perf_counter() - started
        fitted[name] = (clf, seconds)
        results[name] = {"train_seconds": round(seconds, 1), **_scores(clf, splits)}
        if _PRECISION_CHECK and hasattr(clf, "inference_precision"):
            results[name]["inference_precision"] = _precision_check(clf, splits)
        _log(f"{name}: {results[name]}")
    members = [m for m in ensemble if m in fitted]
    if len(members) > 1:
        started = time.perf_counter()
        params = {"members": ",".join(members)}
        for member in members:
            params.update({f"{member}.{k}": v for k, v in _config(member).items()})
        ens = EnsembleClassifier.from_hyperparameters(params)
        validation = splits["validation"]
        context = FitContext(
            validation=(validation["review_body"].tolist(), validation["sentiment"].tolist())
        )
        classes = fitted[members[0]][0].classes_
        assert isinstance(ens, EnsembleClassifier)
        with contextlib.redirect_stdout(sys.stderr):  # its metric lines
            ens.combine([fitted[m][0] for m in members], classes, context)
        tuning = time.perf_counter() - started
        results["ensemble"] = {
            "members": members,
            "weights": [round(float(w), 2) for w in ens.weights_],
            "bias": [round(float(b), 2) for b in ens.bias_],
            "train_seconds": round(sum(fitted[m][1] for m in members) + tuning, 1),
            **_scores(ens, splits),
        }
        _log(f"ensemble: {results['ensemble']}")
    return results


def _throughput(splits: dict[str, Any]) -> dict[str, Any]:
    """Samples/s of text-transformer training jobs with 1 and 2 processes, same run."""
    from sagebox.session import Session
    from sagebox.training import Estimator

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SAGEBOX_HOME"] = str(Path(tmp) / "sbhome")
        session = Session()
        local = Path(tmp) / "train.parquet"
        splits["train"].to_parquet(local)
        session.storage.upload(local, "bench/train.parquet")
        for processes in (1, 2):
            _log(f"throughput: {processes} process(es)")
            est = Estimator(
                algorithm="text-transformer",
                hyperparameters=THROUGHPUT,
                instance_count=processes,
                session=session,
            )
            started = time.perf_counter()
            job = est.fit({"train": "bench/train.parquet"}, logs=False)
            out[f"processes_{processes}"] = {
                "samples_per_second": round(job.metrics["train:samples_per_second"], 2),
                "samples": THROUGHPUT["train_steps_per_epoch"]
                * THROUGHPUT["train_batch_size"]
                * processes,
                "job_wall_s": round(time.perf_counter() - started, 1),
            }
        one, two = out["processes_1"], out["processes_2"]
        out["speedup_2_vs_1"] = round(two["samples_per_second"] / one["samples_per_second"], 2)
        out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", default=",".join(CONFIGS), help="algorithms, comma-separated")
    parser.add_argument("--ensemble", default="linear-text,blazingtext,text-transformer")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument(
        "--transformer-hp",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a text-transformer hyperparameter of CONFIGS (repeatable), e.g. "
        "model_name_or_path=/path/to/checkpoint, train_precision=bfloat16",
    )
    parser.add_argument(
        "--member-hp",
        action="append",
        default=[],
        metavar="MEMBER.NAME=VALUE",
        help="override one member's hyperparameter (repeatable), as the ensemble built-in "
        "names them, e.g. text-transformer@1.model_name_or_path=/path/to/checkpoint",
    )
    parser.add_argument(
        "--skip-precision-check", action="store_true", help="skip the float32/bfloat16 re-scoring"
    )
    parser.add_argument(
        "--include-title",
        action="store_true",
        help="put each review's Title before its text (sagebox evaluate --include-title)",
    )
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"error: {args.data} not found (pass --data PATH)", file=sys.stderr)
        return 1
    for item in args.transformer_hp:
        name, _, value = item.partition("=")
        CONFIGS["text-transformer"][name.strip()] = value.strip()
    for item in args.member_hp:
        key, _, value = item.partition("=")
        member, dot, name = key.strip().rpartition(".")
        if not dot or not member or _algorithm(member) not in CONFIGS or not value.strip():
            print(f"error: --member-hp {item!r}: expected MEMBER.NAME=VALUE", file=sys.stderr)
            return 1
        MEMBER_HPS.setdefault(member, {})[name] = value.strip()
    global _PRECISION_CHECK
    _PRECISION_CHECK = not args.skip_precision_check
    splits = _splits(args.data, args.include_title)
    result: dict[str, Any] = {
        "benchmark": "training",
        "data": str(args.data),
        "splits": {name: len(frame) for name, frame in splits.items()},
        "cpus": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "configs": CONFIGS,
        "member_overrides": MEMBER_HPS,
        "include_title": args.include_title,
    }
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    result["algorithms"] = _algorithms(splits, names, args.ensemble.split(","))
    if not args.skip_throughput:
        result["throughput"] = _throughput(splits)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
