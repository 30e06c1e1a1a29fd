"""Hyperparameter tuning (issue 18): search efficiency of the strategies, and the tuner's overhead.

Two parts, in one run:

- **search** (``bench/_tuning_search.py``): the review classifier with the built-in
  ``blazingtext`` on the real reviews, 4 tuned hyperparameters (``learning_rate`` log,
  ``vector_dim`` log, ``word_ngrams``, ``min_count``) and ``epochs`` as Hyperband's resource,
  objective the validation macro-F1. Per seed (``--seeds``, 5) and ``--trials`` N (30):
  Random's best after N trials; the trials Bayesian needs to reach it (goal <= N/3); the
  training epochs Hyperband spends to reach it over Random's total (goal <= 1/3). The trials
  run in this process with the tuning job's own sampler, pruner and ask/report/tell protocol
  (see the module's docstring for what is counted); ``--workers`` processes run the seeds.
- **overhead** (``bench/_tuning_overhead.py``): real tuning jobs of script-mode trials
  (``bench/tuning_trial/train.py``, ``--trial-seconds`` of single-threaded CPU work) on the
  local backend: the tuner's own cost per trial as a % of a trial (goal < 2%) and a
  ``--overhead-trials``-trial study with 2 parallel trials vs 1 (goal >= 1.6x faster). Run it
  on a quiet machine: the full run (20 trials x 20 s, twice) takes about 11 minutes.

Prints one JSON object (``--out`` also writes it to a file); ``--plot PNG`` draws the search
part's curves (``bench/plot_tuning.py``); ``bench/RESULTS.md`` records a run with its date and
CPU model.

Usage: ``python bench/bench_tuning.py [--skip overhead] [--out bench/results/tuning.json]
[--plot docs/images/tuning-search-efficiency.png]``; a quick check:
``python bench/bench_tuning.py --skip search --overhead-trials 4 --trial-seconds 3``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "src")]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "womens_clothing_reviews" / "reviews.csv"


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else the platform's processor string."""
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", default="", help="comma list: search,overhead")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=30, help="N, trials per search")
    parser.add_argument("--epochs", type=int, default=27, help="epochs of a full trial")
    parser.add_argument(
        "--train-rows", type=int, default=2000, help="training reviews used (0: all)"
    )
    parser.add_argument("--workers", type=int, default=2, help="processes for the seeds")
    parser.add_argument(
        "--hyperband-factor", type=int, default=3, help="Hyperband's max trials = factor x N"
    )
    parser.add_argument("--overhead-trials", type=int, default=20)
    parser.add_argument("--trial-seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--plot", type=Path, help="draw the search curves into this PNG")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }
    if "search" not in skip:
        from _tuning_search import measure as measure_search

        if not args.data.is_file():
            print(f"error: no reviews at {args.data}", file=sys.stderr)
            print("hint: give --data PATH to reviews.csv, or --skip search", file=sys.stderr)
            return 2
        result["search"] = measure_search(
            args.data,
            seeds=args.seeds,
            trials=args.trials,
            epochs=args.epochs,
            train_rows=args.train_rows,
            workers=args.workers,
            hyperband_factor=args.hyperband_factor,
            log=_log,
        )
    if "overhead" not in skip:
        from _tuning_overhead import measure as measure_overhead

        result["overhead"] = measure_overhead(args.overhead_trials, args.trial_seconds, log=_log)
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    if args.plot and "search" in result:
        from plot_tuning import plot

        plot(result["search"], args.plot)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
