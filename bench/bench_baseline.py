"""Benchmark the walking skeleton on the real reviews, against peers measured in the same run.

Figures (one JSON line on stdout):
- ``demo``: wall time, test accuracy and macro-F1 of ``sagebox demo --data reviews.csv``;
- ``peer_sklearn_word_tfidf``: a plain scikit-learn TF-IDF (word 1-2-grams) + logistic
  regression fitted on the *same* train split and scored on the *same* test split;
- ``peer_majority``: always predicting the most frequent training class;
- ``startup``: median wall time of ``import sagebox`` and ``sagebox --help`` against a bare
  ``python -c pass`` in the same run.

Usage: ``python bench/bench_baseline.py [--data PATH]`` (default: ../shared/data/...).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "womens_clothing_reviews" / "reviews.csv"


def _median_seconds(argv: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _startup() -> dict[str, float]:
    sagebox_bin = str(Path(sys.executable).with_name("sagebox"))
    bare = _median_seconds([sys.executable, "-c", "pass"])
    return {
        "python_bare_s": round(bare, 3),
        "import_sagebox_s": round(_median_seconds([sys.executable, "-c", "import sagebox"]), 3),
        "sagebox_help_s": round(_median_seconds([sagebox_bin, "--help"]), 3),
    }


def _peers(home: Path, jobs: dict[str, str]) -> dict[str, dict[str, float]]:
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from sagebox.evaluation import classification_report

    out = home / "lake" / "jobs" / jobs["prepare"] / "output"
    train = pd.read_parquet(out / "train.parquet")
    test = pd.read_parquet(out / "test.parquet")
    started = time.perf_counter()
    peer = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000))
    peer.fit(train["review_body"], train["sentiment"])
    report = classification_report(test["sentiment"], peer.predict(test["review_body"]))
    fit_s = time.perf_counter() - started
    majority = int(train["sentiment"].mode()[0])
    maj = classification_report(test["sentiment"], [majority] * len(test))
    return {
        "peer_sklearn_word_tfidf": {
            "accuracy": round(report["accuracy"], 4),
            "macro_f1": round(report["macro_f1"], 4),
            "fit_and_score_s": round(fit_s, 2),
        },
        "peer_majority": {
            "accuracy": round(maj["accuracy"], 4),
            "macro_f1": round(maj["macro_f1"], 4),
        },
        "splits": {"train": len(train), "test": len(test)},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"error: {args.data} not found (pass --data PATH)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "sbhome"
        env = {**os.environ, "SAGEBOX_HOME": str(home)}
        started = time.perf_counter()
        proc = subprocess.run(
            [
                str(Path(sys.executable).with_name("sagebox")),
                "demo",
                "--data",
                str(args.data),
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        ev = summary["evaluation"]
        result = {
            "benchmark": "walking_skeleton_baseline",
            "data": str(args.data),
            "raw_rows": summary["raw_rows"],
            "demo": {
                "wall_s": round(wall, 1),
                "accuracy": round(ev["accuracy"], 4),
                "macro_f1": round(ev["macro_f1"], 4),
                "test_support": ev["support"],
            },
            **_peers(home, summary["jobs"]),
            "startup": _startup(),
        }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
