"""The rule evaluator on synthetic events: statuses, evidence, errors, actions and the config.

The rules here are small test rules registered for these tests, evaluated on real event files
(written with :class:`EventWriter`) read by the real :class:`DebugData`, with statuses kept in a
real SQLite metadata store; the webhook receiver is a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from sagebox.backends.metadata import MetadataStore, RuleEvaluationRecord, open_metadata_store
from sagebox.debugger import Finding, Notify, Rule, RuleConfig, RuleStatus, StopTraining
from sagebox.debugger.config import ProfilerConfig, plan_debugging
from sagebox.debugger.events import EventWriter
from sagebox.debugger.rule import register_rule
from sagebox.errors import InputDataError
from sagebox.training._rule_evaluator import RuleEvaluator
from sagebox.training.spec import TrainingSpec
from tests.conftest import free_port
from tests.training.conftest import wait_for


@register_rule
class _LossAbove(Rule):
    """Fires at the first train loss above ``threshold``."""

    name = "TestLossAbove"
    defaults: ClassVar[dict[str, Any]] = {"threshold": 1.0}

    def evaluate(self, data: Any) -> Finding | None:
        for step, value in data.scalars("loss"):
            if value > self.threshold:
                return Finding(
                    f"loss {value} > {self.threshold}",
                    step=step,
                    evidence={"loss": value, "nan": float("nan")},
                )
        return None


@register_rule
class _Broken(Rule):
    name = "TestBroken"

    def evaluate(self, data: Any) -> Finding | None:
        raise ZeroDivisionError("the rule divided by zero")


@register_rule
class _AtTheEnd(Rule):
    """Only fires once the job has ended (on the final look at the data)."""

    name = "TestAtTheEnd"

    def evaluate(self, data: Any) -> Finding | None:
        if data.ended:
            return Finding("seen the end", step=data.last_step())
        return None


@register_rule
class _Stalls(Rule):
    """Fires at once; like StalledTrainingRule it may stop the job itself."""

    name = "TestStalls"
    defaults: ClassVar[dict[str, Any]] = {"stop_training_on_fire": False}

    def evaluate(self, data: Any) -> Finding | None:
        return Finding("no progress", step=data.last_step())


@register_rule
class _Never(Rule):
    name = "TestNever"

    def evaluate(self, data: Any) -> Finding | None:
        return None


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[MetadataStore]:
    opened = open_metadata_store(f"sqlite:///{tmp_path / 'meta.db'}")
    yield opened
    opened.close()


def _losses(root: Path, values: list[float], start: int = 0) -> None:
    writer = EventWriter(root, "scalars", "algo-1")
    for i, value in enumerate(values, start):
        writer.write({"step": i, "mode": "train", "name": "loss", "value": value})
    writer.close()


def _by_rule(store: MetadataStore, job: str = "job-1") -> dict[str, RuleEvaluationRecord]:
    return {r.rule_name: r for r in store.list_rule_evaluations(job)}


def test_statuses_follow_the_data_and_a_raising_rule_is_an_error(
    tmp_path: Path, store: MetadataStore
) -> None:
    lines: list[str] = []
    rules = [RuleConfig(n) for n in ("TestLossAbove", "TestBroken", "TestNever", "TestAtTheEnd")]
    evaluator = RuleEvaluator(
        "job-1", rules, tmp_path / "debug", store, interval=0.05, log=lines.append
    )
    evaluator.start()
    try:
        records = _by_rule(store)
        assert records["TestLossAbove"].status == "InProgress"
        assert records["TestLossAbove"].parameters == {"threshold": 1.0}
        _losses(tmp_path / "debug", [0.9, 0.8, 0.7])
        wait_for(lambda: evaluator.evaluations >= 2, 30, "two evaluations")
        assert _by_rule(store)["TestLossAbove"].status == "InProgress"
        _losses(tmp_path / "debug", [0.6, 2.5, 3.0], start=3)
        wait_for(
            lambda: _by_rule(store)["TestLossAbove"].status == "IssuesFound", 30, "the finding"
        )
    finally:
        statuses = evaluator.finish()
    assert statuses == {
        "TestLossAbove": RuleStatus.ISSUES_FOUND,
        "TestBroken": RuleStatus.ERROR,
        "TestNever": RuleStatus.NO_ISSUES_FOUND,
        "TestAtTheEnd": RuleStatus.ISSUES_FOUND,
    }
    records = _by_rule(store)
    fired = records["TestLossAbove"]
    assert (fired.step, fired.message) == (4, "loss 2.5 > 1.0")
    assert fired.evidence == {"loss": 2.5, "nan": "NaN"}
    assert records["TestBroken"].message == "ZeroDivisionError: the rule divided by zero"
    assert records["TestNever"].status == "NoIssuesFound" and records["TestNever"].message is None
    assert (records["TestAtTheEnd"].step, records["TestAtTheEnd"].message) == (5, "seen the end")
    assert "rule TestLossAbove: IssuesFound at step 4: loss 2.5 > 1.0" in lines
    assert "rule TestBroken: Error: ZeroDivisionError: the rule divided by zero" in lines
    assert sum("TestBroken" in line for line in lines) == 1  # an errored rule is not re-run
    assert evaluator.finish() == statuses  # idempotent


def test_actions_stop_the_training_and_post_to_the_webhook(
    tmp_path: Path, store: MetadataStore, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, bodies = webhook
    dead = f"http://127.0.0.1:{free_port()}/nobody"
    rule = RuleConfig(
        "test_loss_above", {"threshold": 2}, actions=[StopTraining(), Notify(url), Notify(dead)]
    )
    stops: list[str] = []
    lines: list[str] = []
    _losses(tmp_path, [1.0, 5.0])
    evaluator = RuleEvaluator(
        "job-1", [rule], tmp_path, store, log=lines.append, stop=stops.append, webhook_timeout=2
    )
    evaluator.evaluate_once()
    assert stops == ["Stopped by rule TestLossAbove: loss 5.0 > 2.0"]
    assert bodies == [
        {
            "job": "job-1",
            "rule": "TestLossAbove",
            "status": "IssuesFound",
            "step": 1,
            "message": "loss 5.0 > 2.0",
            "evidence": {"loss": 5.0, "nan": "NaN"},
        }
    ]
    (record,) = store.list_rule_evaluations("job-1")
    assert record.status == "IssuesFound"
    stop, posted, failed = record.actions
    assert stop == {"type": "stop_training", "result": "stop requested"}
    assert posted == {"type": "notify", "webhook_url": url, "result": "webhook HTTP 204"}
    assert failed["result"].startswith("webhook failed: ConnectError")
    assert any(
        line.startswith(f"rule TestLossAbove: notified {dead} (webhook failed") for line in lines
    )
    evaluator.finish()
    assert len(stops) == 1 and len(bodies) == 1  # a fired rule acts once


def test_stop_training_on_fire_stops_without_an_action(
    tmp_path: Path, store: MetadataStore
) -> None:
    _losses(tmp_path, [1.0])
    stops: list[str] = []
    rules = [RuleConfig("TestStalls", {"stop_training_on_fire": True})]
    evaluator = RuleEvaluator(
        "job-1", rules, tmp_path, store, log=lambda _: None, stop=stops.append
    )
    evaluator.evaluate_once()
    assert stops == ["Stopped by rule TestStalls: no progress"]
    assert store.list_rule_evaluations("job-1")[0].actions == [
        {"type": "stop_training", "via": "stop_training_on_fire", "result": "stop requested"}
    ]


def test_a_stop_after_the_training_ended_has_nothing_to_stop(tmp_path: Path) -> None:
    stops: list[str] = []
    evaluator = RuleEvaluator(
        "job-1", [RuleConfig("TestAtTheEnd", actions=[StopTraining()])], tmp_path,
        log=lambda line: None, stop=stops.append,
    )  # fmt: skip
    assert evaluator.finish() == {"TestAtTheEnd": RuleStatus.ISSUES_FOUND}
    assert stops == []


def test_unreadable_data_errors_the_rules_at_the_end(tmp_path: Path, store: MetadataStore) -> None:
    class Unreadable:
        ended = False

        def __init__(self, root: Path) -> None:
            pass

        def refresh(self) -> None:
            raise OSError("disk on fire")

    lines: list[str] = []
    evaluator = RuleEvaluator(
        "job-1", [RuleConfig("TestNever")], tmp_path, store, log=lines.append,
        data_factories={"debugger": Unreadable},
    )  # fmt: skip
    evaluator.evaluate_once()
    evaluator.evaluate_once()
    assert evaluator.statuses == {"TestNever": RuleStatus.IN_PROGRESS}
    assert lines == ["could not read the debugger data: OSError: disk on fire"]  # once
    assert evaluator.finish() == {"TestNever": RuleStatus.ERROR}
    assert "disk on fire" in str(store.list_rule_evaluations("job-1")[0].message)


# configuration
def test_rule_config_forms_and_validation() -> None:
    rule = RuleConfig("overfit", {"patience": "2"}, actions=[{"type": "stop_training"}])
    assert rule.to_dict() == {
        "name": "Overfit",
        "parameters": {"patience": "2"},
        "actions": [{"type": "stop_training"}],
    }
    assert rule.build().parameters["patience"] == 2 and rule.stops_training()
    assert RuleConfig.from_dict(rule.to_dict()) == rule
    assert RuleConfig.from_dict("LossNotDecreasing").name == "LossNotDecreasing"
    assert RuleConfig("stalled_training", {"stop_training_on_fire": True}).stops_training()
    with pytest.raises(InputDataError, match="unknown rule 'overfitting'") as info:
        RuleConfig("overfitting")
    assert "Overfit" in str(info.value.hint) and "ExplodingTensor" in str(info.value.hint)
    with pytest.raises(InputDataError, match="has no parameter patient"):
        RuleConfig("overfit", {"patient": 2})
    with pytest.raises(InputDataError, match="patience='soon' is not a int"):
        RuleConfig("overfit", {"patience": "soon"})
    with pytest.raises(InputDataError, match="unknown rule action type 'email'"):
        RuleConfig("overfit", actions=[{"type": "email"}])
    with pytest.raises(InputDataError, match="webhook URL 'ftp://x' is not an http"):
        Notify("ftp://x")
    with pytest.raises(InputDataError, match="webhook URL"):
        RuleConfig("overfit", actions=[{"type": "notify", "webhook_url": "hooks.local"}])
    with pytest.raises(InputDataError, match="given twice"):
        plan_debugging(None, None, ["overfit", {"name": "Overfit"}], None)


def test_debug_plan_defaults() -> None:
    off = plan_debugging("linear-text", None, [], {"disable_profiler": True})
    assert off.hook is None and not off.enabled
    profiled = plan_debugging("linear-text", None, [], None)
    assert profiled.hook == {"collections": [], "framework_profile": True}
    assert profiled.profiler == ProfilerConfig()
    hooked = plan_debugging("text-transformer", None, [], None)
    assert hooked.hook == {"framework_profile": True}
    ruled = plan_debugging(None, {"save_interval": 2}, ["overfit"], {"framework_profile": False})
    assert ruled.hook is not None and ruled.hook["save_interval"] == 2
    assert ruled.hook["framework_profile"] is False
    assert plan_debugging(None, False, [], None).hook == {
        "collections": [],
        "framework_profile": True,
    }
    with pytest.raises(InputDataError, match="need the debugger hook"):
        plan_debugging(None, False, ["overfit"], None)
    with pytest.raises(InputDataError, match="save_interval=0"):
        plan_debugging(None, {"save_interval": 0}, [], None)
    with pytest.raises(InputDataError, match="system_monitor_interval_millis=5 "):
        plan_debugging(None, None, [], {"system_monitor_interval_millis": 5})
    with pytest.raises(InputDataError, match="unknown key"):
        plan_debugging(None, None, [], {"interval": 5})


def test_training_spec_validates_rules() -> None:
    spec = TrainingSpec(entry_point="train.py", rules=[{"name": "nope"}])
    with pytest.raises(InputDataError, match="unknown rule 'nope'"):
        spec.validate()
    spec = TrainingSpec(
        entry_point="train.py",
        rules=[{"name": "overfit", "actions": [{"type": "notify", "webhook_url": "x"}]}],
    )
    with pytest.raises(InputDataError, match="is not an http"):
        spec.validate()
    spec = TrainingSpec(entry_point="train.py", rules=[RuleConfig("overfit").to_dict()])
    spec.validate()
    assert TrainingSpec.from_parameters(spec.to_parameters()) == spec
