"""A script-mode trial for ``bench_tuning.py``'s overhead part: fixed single-threaded CPU work.

Busy-loops on one core until this process has used ``--seconds`` of CPU time (CPU time, not
wall time, so that a trial sharing its core with another takes longer, as real work would),
then prints ``score=<value>``, captured by the estimator's ``metric_definitions``, and saves
its "model" (a JSON file) into ``SM_MODEL_DIR``. The score
peaks at ``--x`` = 0.3 so that the tuner has something to optimize.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--x", type=float, default=0.5)
    args, _ = parser.parse_known_args()
    end = time.process_time() + args.seconds
    while time.process_time() < end:
        pass
    score = 1.0 - (args.x - 0.3) ** 2
    print(f"score={score:.6f}", flush=True)
    model_dir = Path(os.environ.get("SM_MODEL_DIR", "model"))
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "model.json").write_text(json.dumps({"x": args.x, "score": score}))


if __name__ == "__main__":
    main()
