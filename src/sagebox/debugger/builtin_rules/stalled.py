"""The rule on the job's liveness: StalledTrainingRule."""

from __future__ import annotations

from sagebox.debugger.data import DebugData
from sagebox.debugger.rule import Finding, Rule, register_rule


@register_rule
class StalledTrainingRule(Rule):
    """Training makes no progress: no scalar, tensor or batch was saved for ``threshold``
    seconds (counted from the job's start until the first event).

    Only while the job runs (never after it ended). ``stop_training_on_fire`` asks the
    evaluator to stop the job when the rule fires, like a ``stop_training`` action;
    ``training_job_name_prefix`` is accepted for SageMaker compatibility and has no effect
    (the rule watches its own job).
    """

    name = "StalledTrainingRule"
    aliases = ("stalled_training",)
    defaults = {
        "threshold": 1800,
        "stop_training_on_fire": False,
        "training_job_name_prefix": None,
    }
    description = "Detects a training job that stopped saving data (hung or stuck)."
    recommendation = (
        "Look at the job's log for a hang (data loader deadlock, waiting on a lock or the "
        "network), and raise threshold if steps are legitimately slower than it."
    )

    def evaluate(self, data: DebugData) -> Finding | None:
        if data.ended:
            return None
        last = data.last_event_time()
        since = last if last is not None else data.started
        idle = data.now() - since
        if idle <= self.threshold:
            return None
        what = "no debugger data since the job started" if last is None else "no new data"
        return Finding(
            f"training stalled: {what} for {idle:.0f} s (threshold={self.threshold} s)",
            step=data.last_step(),
            evidence={
                "seconds_without_data": round(idle, 1),
                "last_step": data.last_step(),
                "threshold": self.threshold,
                "stop_training_on_fire": self.stop_training_on_fire,
            },
        )
