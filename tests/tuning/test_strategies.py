"""The strategies' samplers and pruners, on in-memory Optuna studies (no jobs)."""

from __future__ import annotations

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from sagebox.tuning import CategoricalParameter, ContinuousParameter, TuningSpec
from sagebox.tuning.spec import combinations
from sagebox.tuning.strategies import MedianRunningAveragePruner, make_pruner, make_sampler


def _spec(**kwargs: object) -> TuningSpec:
    base: dict[str, object] = {
        "training": {"algorithm": "blazingtext", "hyperparameters": {"epochs": 9}},
        "objective_metric_name": "validation:accuracy",
        "ranges": {"learning_rate": ContinuousParameter(0.05, 1.0, "Logarithmic")},
        "max_jobs": 6,
    }
    base.update(kwargs)
    return TuningSpec(**base)  # type: ignore[arg-type]


def _earlier(study: optuna.Study, curves: list[list[float]]) -> None:
    dist = {"x": FloatDistribution(0, 1)}
    for curve in curves:
        study.add_trial(
            create_trial(
                params={"x": 0.5},
                distributions=dist,
                value=curve[-1],
                intermediate_values=dict(enumerate(curve, start=1)),
            )
        )


def test_median_rule_compares_with_the_median_of_running_averages() -> None:
    study = optuna.create_study(direction="maximize", pruner=MedianRunningAveragePruner())
    # running averages at epoch 2: 0.5, 0.6, 0.7 -> median 0.6
    _earlier(study, [[0.4, 0.6, 0.9], [0.5, 0.7, 0.8], [0.6, 0.8, 0.9]])
    pruner = study.pruner
    assert isinstance(pruner, MedianRunningAveragePruner)
    assert pruner.median_at(study, 2) == 0.6
    worse = study.ask({"x": FloatDistribution(0, 1)})
    worse.report(0.3, 1)
    worse.report(0.55, 2)  # below 0.6: stopped
    assert worse.should_prune()
    better = study.ask({"x": FloatDistribution(0, 1)})
    better.report(0.65, 2)
    assert not better.should_prune()


def test_median_rule_waits_for_an_earlier_trial_and_minimizes_too() -> None:
    study = optuna.create_study(direction="minimize", pruner=MedianRunningAveragePruner())
    first = study.ask({"x": FloatDistribution(0, 1)})
    first.report(9.0, 1)
    assert not first.should_prune()  # nothing to compare with yet
    study.tell(first, 9.0)
    second = study.ask({"x": FloatDistribution(0, 1)})
    second.report(10.0, 1)
    assert second.should_prune()  # a loss above the earlier trial's


def test_grid_visits_every_combination_once() -> None:
    spec = _spec(
        strategy="Grid",
        max_jobs=None,
        ranges={
            "word_ngrams": CategoricalParameter([1, 2]),
            "vector_dim": CategoricalParameter([10, 20, 40]),
        },
    )
    spec.validate()
    study = optuna.create_study(sampler=make_sampler(spec), direction="maximize")
    dists = {n: r.distribution() for n, r in spec.ranges.items()}
    seen = []
    for _ in range(spec.trial_count()):
        trial = study.ask(dists)
        seen.append(dict(trial.params))
        study.tell(trial, 0.5)
    as_set = {frozenset(c.items()) for c in combinations(spec.grid())}
    assert {frozenset(c.items()) for c in seen} == as_set and len(seen) == len(as_set)
    assert spec.trial_count() == 6


def test_a_seed_makes_the_suggestions_reproducible() -> None:
    def suggestions(strategy: str) -> list[float]:
        spec = _spec(strategy=strategy, random_seed=7)
        study = optuna.create_study(sampler=make_sampler(spec), direction="maximize")
        out = []
        for i in range(6):
            trial = study.ask({"learning_rate": spec.ranges["learning_rate"].distribution()})
            out.append(trial.params["learning_rate"])
            study.tell(trial, float(i % 3))
        return out

    for strategy in ("Random", "Bayesian"):
        assert suggestions(strategy) == suggestions(strategy)


def test_hyperband_uses_the_epochs_resource() -> None:
    spec = _spec(strategy="Hyperband", max_jobs=6)
    spec.validate()
    pruner = make_pruner(spec)
    assert isinstance(getattr(pruner, "inner", None), optuna.pruners.HyperbandPruner)
    assert spec.resource_bounds() == (1, 9)


def test_median_rule_does_not_stop_a_trial_equal_to_the_median() -> None:
    study = optuna.create_study(direction="maximize", pruner=MedianRunningAveragePruner())
    value = 0.758621  # its mean over three equal epochs rounds one ulp above it
    _earlier(study, [[value, value, value]])
    same = study.ask({"x": FloatDistribution(0, 1)})
    for epoch in (1, 2, 3):
        same.report(value, epoch)
        assert not same.should_prune()


def test_hyperband_never_stops_a_trial_that_reached_its_last_epoch() -> None:
    from sagebox.tuning.strategies import _FullyTrainedKept

    pruner = _FullyTrainedKept(optuna.pruners.ThresholdPruner(lower=0.5), max_resource=9)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    trial = study.ask({"x": FloatDistribution(0, 1)})
    trial.report(0.1, 3)
    assert trial.should_prune()  # the inner pruner decides before the last epoch
    trial.report(0.1, 9)
    assert not trial.should_prune()  # fully trained: kept
