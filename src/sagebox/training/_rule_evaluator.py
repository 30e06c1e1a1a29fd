"""The rule evaluator: a thread that runs a job's rules on its debug data while it trains.

Every ``interval`` seconds it reads the new events of the job's debug directory
(:class:`~sagebox.debugger.data.DebugData` for debugger rules,
:class:`~sagebox.profiler.data.ProfileData` for profiler rules) and evaluates each rule that
has not fired yet (on a cluster, a ``fetch`` callable first brings the nodes' uploads into
that directory). A rule's status is kept in the metadata store
(:class:`~sagebox.backends.metadata.base.RuleEvaluationRecord`): ``InProgress`` from the start,
``IssuesFound`` with the step, message and evidence once it fires (and then its actions run),
``Error`` if it raised (the other rules go on). When the training ends, :meth:`finish` gives
every silent rule a last look at all the data and marks it ``NoIssuesFound`` unless it fires.

Example:
    >>> evaluator = RuleEvaluator("train-1", [RuleConfig("overfit")], debug_dir, store)
    >>> evaluator.start()
    >>> ...  # the workers train and write to debug_dir
    >>> evaluator.finish()
    {'Overfit': <RuleStatus.NO_ISSUES_FOUND: 'NoIssuesFound'>}

It lives in training, above both :mod:`sagebox.debugger` (rules, configs, actions) and
:mod:`sagebox.profiler` (profile data), because it reads the data of both kinds of rule.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagebox.backends.metadata.base import MetadataStore, RuleEvaluationRecord
from sagebox.debugger.actions import ActionRunner, plain_json
from sagebox.debugger.config import RuleConfig
from sagebox.debugger.data import DebugData
from sagebox.debugger.rule import Finding, Rule, RuleStatus
from sagebox.profiler.data import ProfileData

__all__ = ["RuleEvaluator", "default_data_factories"]

DataFactory = Callable[[Path], Any]


def default_data_factories() -> dict[str, DataFactory]:
    """Rule kind → the class reading the data its rules evaluate."""

    return {"debugger": DebugData, "profiler": ProfileData}


@dataclass
class _State:
    config: RuleConfig
    rule: Rule | None
    status: RuleStatus = RuleStatus.IN_PROGRESS
    finding: Finding | None = None
    error: str | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)


def _print(line: str) -> None:
    print(line, flush=True)


class RuleEvaluator(threading.Thread):
    """Evaluates rules on a debug directory in a daemon thread; see the module docstring.

    Args:
        job_name: the training job (for records and webhooks).
        rules: the rules to run.
        debug_dir: the job's local debug directory.
        store: where statuses are recorded (None: only kept in :attr:`statuses`).
        interval: seconds between evaluations.
        log: writes one line to the job log.
        stop: asks the job to stop its workers, given the reason; used by the stop action.
        data_factories: rule kind → data reader (default: :func:`default_data_factories`).
        webhook_timeout: seconds a notify webhook may take.
        fetch: called before each evaluation reads the data, with ``final`` (True for the
            last one, after the training ended): on a cluster it pulls what the nodes
            uploaded into ``debug_dir``. It must not raise.
    """

    def __init__(
        self,
        job_name: str,
        rules: Sequence[RuleConfig],
        debug_dir: Path,
        store: MetadataStore | None = None,
        *,
        interval: float = 1.0,
        log: Callable[[str], None] = _print,
        stop: Callable[[str], None] | None = None,
        data_factories: Mapping[str, DataFactory] | None = None,
        webhook_timeout: float = 5.0,
        fetch: Callable[[bool], None] | None = None,
    ) -> None:
        super().__init__(name=f"rules-{job_name}", daemon=True)
        self.job_name = job_name
        self.debug_dir = Path(debug_dir)
        self.store = store
        self.interval = interval
        self.log = log
        self.evaluations = 0
        self._fetch = fetch
        self._factories = dict(data_factories or default_data_factories())
        self._data: dict[str, Any] = {}
        self._data_errors: dict[str, str] = {}
        self._halt = threading.Event()
        self._finished = False
        self._actions = ActionRunner(job_name, log, stop, webhook_timeout)
        self._states: list[_State] = []
        for config in rules:
            state = _State(config, None)
            try:
                state.rule = config.build()
            except Exception as exc:  # noqa: BLE001 - reported as the rule's Error status
                state.status, state.error = RuleStatus.ERROR, _describe(exc)
            self._states.append(state)

    @property
    def statuses(self) -> dict[str, RuleStatus]:
        """Rule name → current status."""
        return {s.config.name: s.status for s in self._states}

    def start(self) -> None:
        """Record every rule as InProgress (or Error), then start evaluating in the thread."""
        for state in self._states:
            self._record(state)
        super().start()

    def run(self) -> None:
        """The thread: evaluate every ``interval`` seconds until :meth:`finish`."""
        while not self._halt.is_set():
            started = time.monotonic()
            try:
                self.evaluate_once()
            except Exception as exc:  # noqa: BLE001 - never let the thread die silently
                self.log(f"rule evaluation failed (will retry): {_describe(exc)}")
            self._halt.wait(max(0.05, self.interval - (time.monotonic() - started)))

    def evaluate_once(self, final: bool = False) -> None:
        """Read new data and evaluate each rule still InProgress (``final``: call finish())."""
        active = [s for s in self._states if s.status is RuleStatus.IN_PROGRESS]
        if active and self._fetch is not None:
            self._fetch(final)
        for kind in sorted({s.config.kind for s in active}):
            data = self._refresh(kind, final)
            for state in (s for s in active if s.config.kind == kind):
                if data is None:
                    if final:
                        self._error(state, self._data_errors.get(kind, "no data"))
                    continue
                if self._halt.is_set() and not final:
                    return  # finish() takes over; it evaluates once more on all data
                self._evaluate(state, data, final)
        self.evaluations += 1

    def finish(self) -> dict[str, RuleStatus]:
        """Stop the thread, evaluate once more on all the data, settle every status.

        Rules that never fired end ``NoIssuesFound``. The stop action has nothing to stop any
        more (the training ended); notify still runs. Idempotent.
        """
        if self._finished:
            return self.statuses
        self._finished = True
        self._halt.set()
        if self.is_alive():
            self.join()
        self._actions.stop = None
        for data in self._data.values():
            data.ended = True
        self.evaluate_once(final=True)
        for state in self._states:
            if state.status is RuleStatus.IN_PROGRESS:
                state.status = RuleStatus.NO_ISSUES_FOUND
                self._record(state)
        return self.statuses

    def _refresh(self, kind: str, final: bool) -> Any | None:
        try:
            data = self._data.get(kind)
            if data is None:
                data = self._data[kind] = self._factories[kind](self.debug_dir)
                if final:
                    data.ended = True
            data.refresh()
        except Exception as exc:  # noqa: BLE001 - reported, retried; Error only at the end
            message = f"could not read the {kind} data: {_describe(exc)}"
            if self._data_errors.get(kind) != message:
                self.log(message)
            self._data_errors[kind] = message
            return None
        self._data_errors.pop(kind, None)
        return data

    def _evaluate(self, state: _State, data: Any, final: bool) -> None:
        assert state.rule is not None
        try:
            finding = state.rule.finish(data) if final else state.rule.evaluate(data)
        except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the others
            self._error(state, _describe(exc))
            return
        if finding is None:
            return
        finding = Finding(
            message=str(finding.message),
            step=None if finding.step is None else int(finding.step),
            evidence=plain_json(dict(finding.evidence)),
        )
        state.status, state.finding = RuleStatus.ISSUES_FOUND, finding
        self._record(state)  # visible before the actions (a stop can take seconds)
        state.actions = self._actions.run(
            state.config.name,
            finding,
            state.config.actions,
            stop_on_fire=bool(state.rule.parameters.get("stop_training_on_fire", False)),
        )
        self._record(state)

    def _error(self, state: _State, message: str) -> None:
        state.status, state.error = RuleStatus.ERROR, message
        self.log(f"rule {state.config.name}: {RuleStatus.ERROR.value}: {message}")
        self._record(state)

    def _record(self, state: _State) -> None:
        if self.store is None:
            return
        finding = state.finding
        configured = [a.to_dict() for a in state.config.actions]
        record = RuleEvaluationRecord(
            job_name=self.job_name,
            rule_name=state.config.name,
            kind=state.config.kind,
            status=state.status.value,
            step=finding.step if finding else None,
            message=finding.message if finding else state.error,
            evidence=dict(finding.evidence) if finding else {},
            actions=state.actions or configured,
            parameters=plain_json(
                dict(state.rule.parameters) if state.rule else state.config.parameters
            ),
        )
        try:
            self.store.put_rule_evaluation(record)
        except Exception as exc:  # noqa: BLE001 - the job log still has the status
            self.log(f"could not record the status of rule {state.config.name}: {exc}")


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
