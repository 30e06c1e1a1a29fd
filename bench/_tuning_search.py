"""Part A of ``bench_tuning.py``: search efficiency of Random, Bayesian and Hyperband.

The task: the review classifier trained with the built-in ``blazingtext`` (fastText) on the real
reviews (the course's transformation; the 85% train+validation part of ``bench_training``'s
split, cut 90/10 into train and validation; the test split is never read), objective the
validation macro-F1 (``sagebox.evaluation.classification_report``, as the training job
reports ``validation:macro_f1``).

Trials are evaluated in this process, not as training jobs (450+ jobs are too slow for a
2-core machine), but the search is the tuning job's own: a :class:`TuningSpec`, its sampler and
pruner from :func:`sagebox.tuning.strategies.make_sampler` / :func:`make_pruner`, an in-memory
Optuna study, and the protocol of :mod:`sagebox.tuning.job`: ``study.ask(distributions)``,
``spec.trial_hyperparameters``, ``trial.report(value, epoch)`` + ``should_prune()`` for the
pruned strategy, ``study.tell``. A trial is fastText trained by
:class:`~sagebox.algorithms.blazingtext.BlazingTextClassifier` with the trial's
hyperparameters (converted and checked by ``from_hyperparameters``, as the training job does).

Per-epoch values for Hyperband: fastText cannot continue a finished training run (its learning
rate decays linearly to 0 over the epochs it was given), so a Hyperband trial is trained from
scratch to each rung of its bracket (``min_resource * 3**k`` epochs below ``epochs``), reports
the validation macro-F1 there, and, if the pruner keeps it, is trained to ``epochs`` and tells
that value as its objective (the last epoch is not reported as an intermediate value: the tuner
sees the completed job and tells its final objective). The compute counted is every epoch
trained (``epochs``: the restarts included); ``epochs_resumable`` is what a trainer that
reports every epoch of one run would spend (the furthest epoch reached).

Fixed hyperparameters: ``buckets`` 100,000 (the 2,000-review subsample has fewer word
n-grams), ``threads`` 1 and ``seed`` 0 (fastText is then deterministic, so a configuration
evaluated twice — Random's and Hyperband's trial *i* with the same seed are the same draw — is
looked up from a cache; its compute is counted for each strategy that asked for it).
fastText (the installed 0.9.3 wheel) fails with "Encountered NaN." spuriously when it trains
repeatedly in one process: the same call (same file, seed, one thread, lr 0.05-0.3) succeeds
a few times and then fails on most later calls (a first run in-process had up to 24 of 30
Random trials failing in the worker that had trained longest). So each training runs in a
fresh interpreter (a spawned pool process replaced every ``TRAININGS_PER_PROCESS``
trainings, as each training job is a fresh process), and a run that still fails is retried
up to ``ATTEMPTS`` times; the retries' seconds are counted, their epochs are not (a failed run
stops at an unknown epoch), and their number is reported. ``word_ngrams`` starts at 2
(unigram runs failed most).
"""

from __future__ import annotations

import math
import multiprocessing
import statistics
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

STRATEGIES = ("Random", "Bayesian", "Hyperband")
#: the tuned hyperparameters: name -> (range kind, min, max, scaling)
SPACE: dict[str, tuple[str, float, float, str]] = {
    "learning_rate": ("continuous", 0.01, 1.0, "Logarithmic"),
    "vector_dim": ("integer", 10, 100, "Logarithmic"),
    "word_ngrams": ("integer", 2, 4, "Linear"),
    "min_count": ("integer", 1, 5, "Linear"),
}
STATIC = {"buckets": 100_000, "threads": 1, "seed": 0}
OBJECTIVE = "validation:macro_f1"
#: fastText runs per evaluation before it counts as failed (fastText's spurious NaNs)
ATTEMPTS = 4
#: fastText trainings per fresh process (its spurious NaNs start after a few in one process)
TRAININGS_PER_PROCESS = 3


def ranges() -> dict[str, Any]:
    """The tuned ranges as sagebox parameter ranges."""
    from sagebox.tuning import ContinuousParameter, IntegerParameter

    kinds = {"continuous": ContinuousParameter, "integer": IntegerParameter}
    return {
        name: kinds[kind](low, high, scaling) for name, (kind, low, high, scaling) in SPACE.items()
    }


def make_spec(strategy: str, seed: int, trials: int, epochs: int) -> Any:
    """The tuning job's spec for one strategy and seed (validated like ``tuner.fit`` does)."""
    from sagebox.tuning.spec import TuningSpec

    spec = TuningSpec(
        training={"algorithm": "blazingtext", "hyperparameters": {**STATIC, "epochs": epochs}},
        objective_metric_name=OBJECTIVE,
        objective_type="Maximize",
        ranges=ranges(),
        strategy=strategy,
        max_jobs=trials,
        max_parallel_jobs=1,
        random_seed=seed,
    )
    spec.validate()
    return spec


# -- data ------------------------------------------------------------------------------------


def prepare_data(data: Path, train_rows: int, workdir: Path) -> dict[str, Any]:
    """Write fastText's training file and the validation split once; describe them."""
    from sagebox.algorithms.blazingtext import format_line
    from sagebox.datasets import read_raw_reviews, split_dataset, to_sentiment

    table = to_sentiment(read_raw_reviews(data))
    train_val, _, _ = split_dataset(table, 0.85, 0.0, 0.15, seed=0)  # the test part: unused
    train, validation, _ = split_dataset(train_val, 0.9, 0.1, 0.0, seed=0)
    full_train = len(train)
    if train_rows and train_rows < len(train):
        fraction = train_rows / len(train)
        train, _, _ = split_dataset(train, fraction, 1.0 - fraction, 0.0, seed=0)
    path = workdir / "train.txt"
    path.write_text(
        "".join(
            format_line(int(y), x) + "\n"
            for y, x in zip(train["sentiment"], train["review_body"], strict=True)
        ),
        encoding="utf-8",
    )
    validation_path = workdir / "validation.parquet"
    validation[["sentiment", "review_body"]].to_parquet(validation_path)
    return {
        "train_path": str(path),
        "validation_path": str(validation_path),
        "describe": {
            "reviews_with_text": len(table),
            "train_split": full_train,
            "train_used": len(train),
            "validation": len(validation),
            "train_classes": {str(k): int(v) for k, v in train["sentiment"].value_counts().items()},
            "validation_classes": {
                str(k): int(v) for k, v in validation["sentiment"].value_counts().items()
            },
        },
    }


class Evaluator:
    """Trains blazingtext for a trial's hyperparameters and epochs; validation macro-F1."""

    def __init__(self, train_path: str, validation_path: str) -> None:
        import pandas as pd

        from sagebox.algorithms.blazingtext import tokenize

        self.train_path = Path(train_path)
        validation = pd.read_parquet(validation_path)
        self.truth = validation["sentiment"].tolist()
        self.tokens = [tokenize(t) for t in validation["review_body"]]
        self.cache: dict[tuple[Any, ...], tuple[float | None, float]] = {}
        self.retries = 0
        # fresh interpreters, each for a few trainings only (see the module's docstring)
        context = multiprocessing.get_context("spawn")
        self.pool = context.Pool(1, maxtasksperchild=TRAININGS_PER_PROCESS)

    def __call__(self, hps: dict[str, Any], epochs: int) -> tuple[float | None, float]:
        """``(macro_f1 or None if fastText failed, seconds)`` of a run of ``epochs``."""
        key = (tuple(sorted(hps.items())), epochs)
        if key not in self.cache:
            self.cache[key] = self._run(hps, epochs)
        return self.cache[key]

    def _run(self, hps: dict[str, Any], epochs: int) -> tuple[float | None, float]:
        start = time.perf_counter()
        for _attempt in range(ATTEMPTS):
            value = self.pool.apply(
                train_and_score, (str(self.train_path), self.tokens, self.truth, hps, epochs)
            )
            if value is not None:
                return value, time.perf_counter() - start
            self.retries += 1
        return None, time.perf_counter() - start


def train_and_score(
    train_path: str, tokens: list[str], truth: list[int], hps: dict[str, Any], epochs: int
) -> float | None:
    """Validation macro-F1 of blazingtext trained ``epochs`` (None: fastText hit a NaN)."""
    from sagebox.algorithms.blazingtext import LABEL_PREFIX, BlazingTextClassifier
    from sagebox.datasets import LABELS
    from sagebox.evaluation import classification_report

    clf = BlazingTextClassifier.from_hyperparameters({**hps, "epochs": epochs})
    try:
        model = clf._train(Path(train_path), epochs)  # the job's fastText call
        predicted, _ = model.predict(tokens, k=1)  # NaN weights fail here
    except RuntimeError:  # "Encountered NaN." (see the module's docstring)
        return None
    labels = [int(p[0][len(LABEL_PREFIX) :]) for p in predicted]
    return float(classification_report(truth, labels, labels=list(LABELS))["macro_f1"])


# -- one study -------------------------------------------------------------------------------


def _bracket_rungs(pruner: Any, study: Any, trial: Any, epochs: int) -> list[int]:
    """The epochs at which Optuna's Hyperband may stop this trial (its bracket's rungs).

    Reads the pruner's bracket of the trial (``_get_bracket_id``: a hash of study name and
    trial number) so that a trial is trained only to the rungs that can stop it.
    """
    pruner = getattr(pruner, "inner", pruner)  # Hyperband inside the keep-fully-trained wrapper
    if not pruner._pruners:
        pruner._try_initialization(study)
    bracket = pruner._get_bracket_id(study, trial)
    low, factor = pruner._min_resource, pruner._reduction_factor
    rungs, k = [], 0
    while low * factor ** (bracket + k) < epochs:
        rungs.append(low * factor ** (bracket + k))
        k += 1
    return rungs


def run_study(
    strategy: str,
    seed: int,
    trials: int,
    epochs: int,
    evaluate: Evaluator,
    epoch_budget: float | None = None,
) -> list[dict[str, Any]]:
    """Run one strategy's search like the tuning job does; one record per trial.

    ``epoch_budget``: stop starting trials once this many epochs were spent (Hyperband).
    """
    import optuna
    from optuna.trial import TrialState

    from sagebox.tuning.strategies import make_pruner, make_sampler

    spec = make_spec(strategy, seed, trials, epochs)
    pruner = make_pruner(spec)
    study = optuna.create_study(
        study_name=f"bench-tuning-{strategy.lower()}-{seed}",
        direction="maximize",
        sampler=make_sampler(spec),
        pruner=pruner,
    )
    distributions = {n: r.distribution() for n, r in spec.ranges.items()}
    pruning = strategy == "Hyperband"
    records: list[dict[str, Any]] = []
    spent = 0
    while len(study.trials) < spec.trial_count():
        if epoch_budget is not None and spent >= epoch_budget:
            break
        trial = study.ask(distributions)
        tuned = {n: r.value(trial.params[n]) for n, r in spec.ranges.items()}
        hps = spec.trial_hyperparameters(tuned)
        hps.pop("epochs")
        record: dict[str, Any] = {"number": trial.number, "hyperparameters": tuned}
        trained, seconds, furthest = 0, 0.0, 0
        state, value = "COMPLETE", None
        for rung in _bracket_rungs(pruner, study, trial, epochs) if pruning else []:
            score, took = evaluate(hps, rung)
            trained, seconds, furthest = trained + rung, seconds + took, rung
            if score is None:
                state = "FAIL"
                break
            trial.report(score, rung)
            if trial.should_prune():
                state, value = "PRUNED", score
                record["pruned_at"] = rung
                break
        if state == "COMPLETE":
            value, took = evaluate(hps, epochs)
            trained, seconds, furthest = trained + epochs, seconds + took, epochs
            if value is None:
                state = "FAIL"
        if state == "COMPLETE":
            study.tell(trial, value)
        else:
            study.tell(trial, state=TrialState.PRUNED if state == "PRUNED" else TrialState.FAIL)
        spent += trained
        record.update(
            state=state,
            value=value,
            epochs=trained,
            epochs_resumable=furthest,
            seconds=round(seconds, 3),
        )
        records.append(record)
    return records


def best_so_far(records: list[dict[str, Any]]) -> list[float | None]:
    """The best completed objective after each trial (None before the first)."""
    best: float | None = None
    out: list[float | None] = []
    for r in records:
        if r["state"] == "COMPLETE" and (best is None or r["value"] > best):
            best = r["value"]
        out.append(best)
    return out


def run_seed(
    seed: int,
    trials: int,
    epochs: int,
    hyperband_factor: int,
    data: dict[str, Any],
) -> dict[str, Any]:
    """The three strategies with one seed (in a worker process)."""
    warnings.filterwarnings("ignore")  # Optuna's ExperimentalWarning for multivariate TPE
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    evaluate = Evaluator(data["train_path"], data["validation_path"])
    start = time.perf_counter()
    random = run_study("Random", seed, trials, epochs, evaluate)
    random_epochs = sum(r["epochs"] for r in random)
    hyperband = run_study(
        "Hyperband", seed, trials * hyperband_factor, epochs, evaluate, epoch_budget=random_epochs
    )
    bayesian = run_study("Bayesian", seed, trials, epochs, evaluate)
    return {
        "seed": seed,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "fasttext_nan_retries": evaluate.retries,
        "trainings": len(evaluate.cache),
        "trials": {"Random": random, "Bayesian": bayesian, "Hyperband": hyperband},
    }


# -- the figures -----------------------------------------------------------------------------


def summarize_seed(result: dict[str, Any], trials: int) -> dict[str, Any]:
    """Per-seed figures: Random's best, Bayesian's trials and Hyperband's epochs to reach it."""
    random = result["trials"]["Random"]
    bayesian = result["trials"]["Bayesian"]
    hyperband = result["trials"]["Hyperband"]
    target = best_so_far(random)[-1]
    random_epochs = sum(r["epochs"] for r in random)
    bayes_best = best_so_far(bayesian)
    bayes_reach = next(
        (i + 1 for i, b in enumerate(bayes_best) if b is not None and b >= target), None
    )
    spent = resumable = 0
    hb_reach = hb_reach_resumable = hb_reach_trial = None
    for r in hyperband:
        spent += r["epochs"]
        resumable += r["epochs_resumable"]
        if r["state"] == "COMPLETE" and r["value"] >= target:
            hb_reach, hb_reach_resumable, hb_reach_trial = spent, resumable, r["number"] + 1
            break
    hb_first = hyperband[:trials]
    return {
        "seed": result["seed"],
        "wall_seconds": result["wall_seconds"],
        "fasttext_nan_retries": result["fasttext_nan_retries"],
        "random_best": target,
        "random_best_trial": best_so_far(random).index(target) + 1,
        "random_epochs": random_epochs,
        "random_failed": sum(r["state"] == "FAIL" for r in random),
        "bayesian_best": bayes_best[-1],
        "bayesian_trials_to_reach": bayes_reach,
        "bayesian_failed": sum(r["state"] == "FAIL" for r in bayesian),
        "hyperband_epochs_to_reach": hb_reach,
        "hyperband_epochs_to_reach_resumable": hb_reach_resumable,
        "hyperband_trial_that_reached": hb_reach_trial,
        "hyperband_epoch_ratio": None if hb_reach is None else round(hb_reach / random_epochs, 3),
        "hyperband_trials_run": len(hyperband),
        "hyperband_pruned": sum(r["state"] == "PRUNED" for r in hyperband),
        "hyperband_best": best_so_far(hyperband)[-1],
        "hyperband_first_n": {
            "best": best_so_far(hb_first)[-1],
            "epochs": sum(r["epochs"] for r in hb_first),
            "epochs_resumable": sum(r["epochs_resumable"] for r in hb_first),
        },
    }


def _median(values: list[float | None]) -> float | None:
    """Median with "not reached" (None) counted as worse than any figure."""
    finite = sorted(math.inf if v is None else v for v in values)
    m = statistics.median(finite)
    return None if math.isinf(m) else m


def measure(
    data_path: Path,
    seeds: int = 5,
    trials: int = 30,
    epochs: int = 27,
    train_rows: int = 2000,
    workers: int = 2,
    hyperband_factor: int = 3,
    log: Any = print,
) -> dict[str, Any]:
    """Run part A; the JSON-ready result (per-seed trials, per-seed figures, medians, goals)."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-tuning-") as tmp:
        data = prepare_data(data_path, train_rows, Path(tmp))
        log(f"data: {data['describe']}")
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [
                pool.submit(run_seed, seed, trials, epochs, hyperband_factor, data)
                for seed in range(seeds)
            ]
            results = []
            for future in futures:
                results.append(future.result())
                log(
                    f"seed {results[-1]['seed']} done in {results[-1]['wall_seconds']} s: "
                    f"{summarize_seed(results[-1], trials)}"
                )
    per_seed = [summarize_seed(r, trials) for r in results]
    bayes_median = _median([s["bayesian_trials_to_reach"] for s in per_seed])
    ratio_median = _median([s["hyperband_epoch_ratio"] for s in per_seed])
    return {
        "task": {
            "algorithm": "blazingtext",
            "objective": OBJECTIVE,
            "ranges": {n: list(v) for n, v in SPACE.items()},
            "static": {**STATIC, "epochs": epochs},
            "hyperband": "min_resource 1, max_resource = epochs, reduction factor 3; "
            "a trial retrained from scratch to each rung of its bracket (all epochs counted); "
            f"at most {hyperband_factor}N trials and Random's total epochs",
            "data": data["describe"],
            "subsample": f"{data['describe']['train_used']} of "
            f"{data['describe']['train_split']} training reviews (stratified, seed 0); "
            "the whole validation split; the test split unused",
        },
        "seeds": seeds,
        "n_trials": trials,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "per_seed": per_seed,
        "median": {
            "random_best": statistics.median(s["random_best"] for s in per_seed),
            "bayesian_best": statistics.median(s["bayesian_best"] for s in per_seed),
            "bayesian_trials_to_reach": bayes_median,
            "hyperband_epoch_ratio": ratio_median,
        },
        "goals": {
            "bayesian_trials_to_reach_le_n_over_3": {
                "goal": trials / 3,
                "median": bayes_median,
                "seeds_meeting": sum(
                    s["bayesian_trials_to_reach"] is not None
                    and s["bayesian_trials_to_reach"] <= trials / 3
                    for s in per_seed
                ),
                "met": bayes_median is not None and bayes_median <= trials / 3,
            },
            "hyperband_epochs_le_one_third": {
                "goal": round(1 / 3, 3),
                "median": ratio_median,
                "seeds_meeting": sum(
                    s["hyperband_epoch_ratio"] is not None and s["hyperband_epoch_ratio"] <= 1 / 3
                    for s in per_seed
                ),
                "met": ratio_median is not None and ratio_median <= 1 / 3,
            },
        },
        "trials": {str(r["seed"]): r["trials"] for r in results},
        "numpy": np.__version__,
    }
