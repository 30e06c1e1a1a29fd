"""Carry out a fired rule's actions: notify (job log + optional webhook) and stop training.

Example:
    >>> runner = ActionRunner("train-1", log=print, stop=lambda reason: None)
    >>> results = runner.run("Overfit", Finding("val loss rose", step=40), [Notify()])
    rule Overfit: IssuesFound at step 40: val loss rose
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

from sagebox.debugger.config import Action, Notify, StopTraining
from sagebox.debugger.rule import Finding, RuleStatus

__all__ = ["ActionRunner", "finding_line", "plain_json", "webhook_body"]

#: Seconds a webhook may take: a slow receiver must not hold up the rules.
WEBHOOK_TIMEOUT_S = 5.0


def finding_line(rule: str, finding: Finding) -> str:
    """``rule Overfit: IssuesFound at step 12: <message>`` (the job-log line of a finding)."""
    where = f" at step {finding.step}" if finding.step is not None else ""
    return f"rule {rule}: {RuleStatus.ISSUES_FOUND.value}{where}: {finding.message}"


def webhook_body(job: str, rule: str, finding: Finding) -> dict[str, Any]:
    """The JSON a notify webhook receives."""
    return {
        "job": job,
        "rule": rule,
        "status": RuleStatus.ISSUES_FOUND.value,
        "step": finding.step,
        "message": finding.message,
        "evidence": finding.evidence,
    }


class ActionRunner:
    """Runs the actions of the rules of one job.

    Args:
        job_name: the job the rules watch.
        log: writes one line to the job log.
        stop: asks the job to stop its workers, given the reason (``Stopped by rule ...``);
            None once the training has ended, when there is nothing left to stop.
        webhook_timeout: seconds before a webhook POST is abandoned.
    """

    def __init__(
        self,
        job_name: str,
        log: Callable[[str], None],
        stop: Callable[[str], None] | None,
        webhook_timeout: float = WEBHOOK_TIMEOUT_S,
    ) -> None:
        self.job_name = job_name
        self.log = log
        self.stop = stop
        self.webhook_timeout = webhook_timeout
        self._lock = threading.Lock()

    def run(
        self,
        rule: str,
        finding: Finding,
        actions: Sequence[Action],
        stop_on_fire: bool = False,
    ) -> list[dict[str, Any]]:
        """Log the finding and take each action; return the actions with their ``result``.

        Never raises: a failed webhook is logged and reported in its result.
        """
        self.log(finding_line(rule, finding))
        results = []
        for action in actions:
            if isinstance(action, Notify):
                result = self._notify(rule, finding, action)
            elif isinstance(action, StopTraining):
                result = self._stop(rule, finding)
            else:  # pragma: no cover - config only builds the two kinds
                result = f"unknown action {action.type}"
            results.append({**action.to_dict(), "result": result})
        if stop_on_fire and not any(isinstance(a, StopTraining) for a in actions):
            results.append(
                {"type": "stop_training", "via": "stop_training_on_fire",
                 "result": self._stop(rule, finding)}
            )  # fmt: skip
        return results

    def _notify(self, rule: str, finding: Finding, action: Notify) -> str:
        if not action.webhook_url:
            return "logged"
        import httpx

        body = webhook_body(self.job_name, rule, finding)
        try:
            response = httpx.post(
                action.webhook_url,
                content=_dumps(body),
                headers={"content-type": "application/json"},
                timeout=self.webhook_timeout,
            )
        except Exception as exc:  # noqa: BLE001 - a notification must never stop the rules
            result = f"webhook failed: {type(exc).__name__}: {exc}"
        else:
            result = f"webhook HTTP {response.status_code}"
        self.log(f"rule {rule}: notified {action.webhook_url} ({result})")
        return result

    def _stop(self, rule: str, finding: Finding) -> str:
        with self._lock:
            if self.stop is None:
                return "training had already ended"
            self.stop(f"Stopped by rule {rule}: {finding.message}")
        self.log(f"rule {rule}: stopping the training job")
        return "stop requested"


def plain_json(value: Any) -> Any:
    """``value`` as plain JSON data: numpy/torch values as Python ones, NaN/inf as strings.

    Rules compute evidence with numpy; JSON (webhook receivers, PostgreSQL) has no NaN.
    """
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if callable(getattr(value, "tolist", None)):
        try:
            return plain_json(value.tolist())
        except (TypeError, ValueError):
            pass
    return str(value)


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(plain_json(body)).encode("utf-8")
