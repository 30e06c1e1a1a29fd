"""The ``tuning`` job kind: the tuner's loop, run by a job runner like any job.

The tuning job is a coordinator: it holds no worker slot (see
:data:`~sagebox.jobs.kinds.COORDINATOR_KINDS`) and does no training itself. It asks its Optuna
study (kept beside the metadata store, :mod:`sagebox.backends.metadata.studies`) for
hyperparameters, starts each trial as a normal training job named ``<tuning job>-NNN``, at most
``max_parallel_jobs`` at once, follows each trial's objective metric per epoch (reported to the
study, whose pruner may stop the trial: Hyperband's rungs or SageMaker's median rule), and
tells the study each trial's final objective.

Everything it needs to go on lives in the study and the job records, so a tuning job whose
process is killed and restarted (``max_retries``) re-attaches to the trials still running and
continues; a trial it had asked for but not yet started is started then. Stopping the tuning
job stops its running trials.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from optuna.trial import Trial, TrialState

from sagebox.backends.metadata.base import JobRecord, JobStatus
from sagebox.errors import AlreadyExistsError, NotFoundError, SageboxError
from sagebox.jobs.client import JobClient
from sagebox.tuning._best import best_trial, pareto_front
from sagebox.tuning._measures import measure_trial
from sagebox.tuning._study import (
    TRIAL_HPS_ATTR,
    TRIAL_JOB_ATTR,
    WARM_START_ATTR,
    create_study,
    own_trials,
    trial_job_name,
)
from sagebox.tuning.constraints import parse_constraint
from sagebox.tuning.spec import TuningSpec
from sagebox.tuning.strategies import CONSTRAINTS_ATTR

if TYPE_CHECKING:
    import optuna

    from sagebox.jobs.context import JobContext

__all__ = ["POLL_SECONDS", "STOP_REASON_ATTR", "run_tuning_job"]

#: how often the tuner looks at its running trials (a trial's end is noticed within it)
POLL_SECONDS = 0.25
#: the trial user attribute saying why the tuner stopped it
STOP_REASON_ATTR = "stop_reason"
#: trial user attribute: metrics the tuner measured itself (for constraints and objectives)
MEASURED_ATTR = "measured_metrics"


def run_tuning_job(ctx: JobContext) -> None:
    """Run the tuning job of ``ctx`` to its end (the ``tuning`` job kind's function)."""
    _Tuner(ctx).run()


class _Tuner:
    """One tuning job's loop: start trials, follow them, tell the study, pick the best."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.session = ctx.session
        self.name = ctx.job.name
        self.spec = TuningSpec.from_parameters(ctx.parameters)
        self.jobs = JobClient(self.session)
        self.total = self.spec.trial_count()
        self.distributions = {n: r.distribution() for n, r in self.spec.ranges.items()}
        self.constraints = [parse_constraint(c) for c in self.spec.constraints]
        self.pruning = self.spec.strategy == "Hyperband" or self.spec.early_stopping_type == "Auto"
        self.study: optuna.Study = create_study(self.session, self.name, self.spec)
        self.running: dict[int, Trial] = {}
        self.reported: dict[int, set[int]] = {}  # trial number -> epochs told to the study
        self.offset = 0  # trials seeded from warm-start parents come first in the study
        self.out_of_time = False

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        from sagebox.jobs.runner import JobInterrupted

        self._seed_from_parents()
        self._adopt_running()
        try:
            while True:
                self._observe()
                if self._out_of_time():
                    self.out_of_time = True
                    self._stop_running("MaxRuntimeInSeconds of the tuning job reached")
                    break
                started = len(own_trials(self.study))
                while len(self.running) < self.spec.max_parallel_jobs and started < self.total:
                    self._start_trial()
                    started += 1
                if not self.running and started >= self.total:
                    break
                time.sleep(POLL_SECONDS)
        except JobInterrupted:
            status = self.session.metadata.get_job(self.name).status
            if status is JobStatus.STOPPING:  # `jobs stop`/`tune stop`, not a restart
                self._stop_running("the tuning job was stopped")
            raise
        self._finish()

    def _seed_from_parents(self) -> None:
        if self.spec.warm_start and not own_trials(self.study):
            from sagebox.tuning.warm_start import seed_study

            seeded = seed_study(self.session, self.spec, self.study)
            self.ctx.log(f"warm start: {seeded} trials of the parent jobs seed the study")
        self.offset = sum(
            WARM_START_ATTR in t.user_attrs for t in self.study.get_trials(deepcopy=False)
        )

    def _job_name(self, number: int) -> str:
        """The training job of the study's trial ``number`` (seeded trials not counted)."""
        return trial_job_name(self.name, number - self.offset)

    def _adopt_running(self) -> None:
        """After a restart: follow the trials the study still has running (or start them)."""
        for frozen in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            trial = Trial(self.study, frozen._trial_id)  # Optuna's way to re-open a trial
            job_name = frozen.user_attrs.get(TRIAL_JOB_ATTR) or self._job_name(frozen.number)
            try:
                self.jobs.describe(job_name)
                self.ctx.log(f"resumed: following trial {job_name}")
            except NotFoundError:  # asked for before the restart, never started
                hps = self._hyperparameters(frozen.params)
                trial.set_user_attr(TRIAL_JOB_ATTR, job_name)
                trial.set_user_attr(TRIAL_HPS_ATTR, hps)
                self.ctx.log(f"resumed: starting trial {job_name}")
                self._submit(trial, job_name, hps)
            self.running[frozen.number] = trial
            self.reported[frozen.number] = set(frozen.intermediate_values)

    def _out_of_time(self) -> bool:
        limit = self.spec.max_runtime_in_seconds
        started = self.session.metadata.get_job(self.name).started_at
        if limit is None or started is None:
            return False
        return (datetime.now(UTC) - started).total_seconds() > limit

    # -- trials --------------------------------------------------------------------------------

    def _start_trial(self) -> None:
        trial = self.study.ask(self.distributions)
        hps = self._hyperparameters(trial.params)
        tuned = {n: hps[n] for n in self.spec.ranges}
        job_name = self._job_name(trial.number)
        trial.set_user_attr(TRIAL_JOB_ATTR, job_name)
        trial.set_user_attr(TRIAL_HPS_ATTR, hps)
        shown = ", ".join(f"{k}={_short(v)}" for k, v in tuned.items())
        self.ctx.log(f"trial {trial.number - self.offset + 1}/{self.total} {job_name}: {shown}")
        self.running[trial.number] = trial
        self._submit(trial, job_name, hps)

    def _hyperparameters(self, searched: dict[str, Any]) -> dict[str, Any]:
        """A trial's hyperparameters from the values the study suggested (its params)."""
        tuned = {n: r.value(searched[n]) for n, r in self.spec.ranges.items()}
        return self.spec.trial_hyperparameters(tuned)

    def _submit(self, trial: Trial, job_name: str, hps: dict[str, Any]) -> None:
        params = {
            **self.spec.training,
            "hyperparameters": hps,
            "tuning_job_name": self.name,
            "trial_number": trial.number - self.offset,
        }
        try:
            self.jobs.submit(
                "training",
                parameters=params,
                inputs=dict(self.ctx.job.inputs),
                name=job_name,
                max_runtime_seconds=self.spec.trial_max_run,
                max_retries=self.spec.trial_max_retries,
            )
        except AlreadyExistsError:
            pass  # submitted before a restart: follow it
        except SageboxError as exc:
            self.ctx.log(f"trial {job_name} could not start: {exc}")
            self.running.pop(trial.number, None)
            self.study.tell(trial, state=TrialState.FAIL)

    def _observe(self) -> None:
        for number, trial in list(self.running.items()):
            job_name = self._job_name(number)
            job = self.jobs.describe(job_name)
            if self.pruning and self._report(trial, job, may_stop=not job.status.is_terminal):
                continue
            if job.status.is_terminal:
                self._trial_ended(trial, job)

    def _report(self, trial: Trial, job: JobRecord, may_stop: bool) -> bool:
        """Report the trial's new per-epoch objective values; stop it if the pruner says so.

        A trial that already ended still reports its values (later trials are compared with
        them) but is not stopped.
        """
        metric = self.spec.objective.metric_name
        points = self.session.metadata.list_metric_points(job.name, metric)
        seen = self.reported.setdefault(trial.number, set())
        for index, point in enumerate(points):
            # The n-th value a trial emits is its n-th epoch, whatever step it was logged at
            # (text-transformer logs validation at its global step; a script at none).
            step = index + 1
            if step in seen or not math.isfinite(point.value):
                continue
            trial.report(point.value, step)
            seen.add(step)
            if may_stop and trial.should_prune():
                self._prune(trial, job, step, point.value)
                return True
        return False

    def _prune(self, trial: Trial, job: JobRecord, step: int, value: float) -> None:
        rule = "Hyperband rung" if self.spec.strategy == "Hyperband" else "median rule"
        reason = (
            f"Stopped by the tuner ({rule}): {self.spec.objective.metric_name}={value:.4g} "
            f"at epoch {step} is worse than the earlier trials'"
        )
        self.ctx.log(f"trial {job.name} early-stopped at epoch {step}")
        self.jobs.stop(job.name)
        self.session.metadata.update_job(job.name, failure_reason=reason)
        trial.set_user_attr(STOP_REASON_ATTR, reason)
        self.study.tell(trial, state=TrialState.PRUNED)
        self.running.pop(trial.number, None)

    def _trial_ended(self, trial: Trial, job: JobRecord) -> None:
        self.running.pop(trial.number, None)
        if job.status is not JobStatus.COMPLETED:
            self.ctx.log(f"trial {job.name} ended {job.status.value}: {job.failure_reason}")
            self.study.tell(trial, state=TrialState.FAIL)
            return
        # measure what the constraints and the objectives need that the trial did not emit
        needed = {c.metric for c in self.constraints} | {
            o.metric_name for o in self.spec.all_objectives if o.metric_name not in job.metrics
        }
        measured = measure_trial(self.session, job, needed, self.ctx.log) if needed else {}
        metrics = {**job.metrics, **measured}
        if self.constraints or measured:
            trial.set_user_attr(MEASURED_ATTR, measured)
        if self.constraints:
            trial.set_user_attr(
                CONSTRAINTS_ATTR, [c.violation(metrics.get(c.metric)) for c in self.constraints]
            )
        values = []
        for objective in self.spec.all_objectives:
            value = metrics.get(objective.metric_name)
            if value is None:
                self.study.tell(trial, state=TrialState.FAIL)
                raise self._objective_missing(job, objective.metric_name)
            values.append(float(value))
        self.study.tell(trial, values if self.spec.multi_objective else values[0])
        shown = ", ".join(
            f"{o.metric_name}={v:.4g}"
            for o, v in zip(self.spec.all_objectives, values, strict=True)
        )
        self.ctx.log(f"trial {job.name} Completed: {shown}")
        self._record_best()

    def _objective_missing(self, job: JobRecord, metric: str) -> SageboxError:
        """Stop the running trials; the error that ends the tuning job."""
        seen = ", ".join(sorted(job.metrics)) or "none"
        self._stop_running(f"the objective metric {metric} is missing")
        return SageboxError(
            f"trial {job.name} completed without the objective metric {metric!r}; "
            f"the metrics it emitted: {seen}",
            hint="set objective_metric_name to one of them, or add a metric_definitions "
            "regex that captures it from the training log",
        )

    def _stop_running(self, reason: str) -> None:
        for number, trial in list(self.running.items()):
            job_name = self._job_name(number)
            self.ctx.log(f"stopping trial {job_name}: {reason}")
            try:
                self.jobs.stop(job_name)
                self.session.metadata.update_job(job_name, failure_reason=f"Stopped: {reason}")
            except NotFoundError:
                pass
            trial.set_user_attr(STOP_REASON_ATTR, reason)
            self.study.tell(trial, state=TrialState.FAIL)
            self.running.pop(number, None)

    # -- the outcome ---------------------------------------------------------------------------

    def _record_best(self) -> None:
        completed = sum(t.state == TrialState.COMPLETE for t in own_trials(self.study))
        if self.spec.multi_objective:
            front = pareto_front(self.study, self.spec)
            self.ctx.log_metric("pareto_front_size", len(front), completed)
            return
        best = best_trial(self.study, self.spec)
        if best is not None:
            self.ctx.log_metric(
                f"best:{self.spec.objective.metric_name}", best.values[0], completed
            )

    def _no_best(self) -> str:
        text = _no_best(self.study)
        if self.out_of_time:
            limit = self.spec.max_runtime_in_seconds
            text = f"MaxRuntimeInSeconds ({limit:g} s) reached and {text}"
        return text

    def _finish(self) -> None:
        if self.spec.multi_objective:
            front = pareto_front(self.study, self.spec)
            if not front:
                raise SageboxError(self._no_best(), hint=_NO_BEST_HINT)
            names = ", ".join(str(t.user_attrs.get(TRIAL_JOB_ATTR)) for t in front)
            self.ctx.log(f"Pareto front ({len(front)} trials): {names}")
            return
        best = best_trial(self.study, self.spec)
        if best is None:
            raise SageboxError(self._no_best(), hint=_NO_BEST_HINT)
        job_name = best.user_attrs[TRIAL_JOB_ATTR]
        model = self.session.metadata.get_job(job_name).outputs.get("model")
        self.session.metadata.update_job(
            self.name,
            outputs={"best_training_job": job_name, **({"model": model} if model else {})},
        )
        metric = self.spec.objective.metric_name
        self.ctx.log(f"best trial: {job_name} ({metric}={best.values[0]:.4g})")


_NO_BEST_HINT = "read the trials' logs: sagebox tune trials NAME, then sagebox jobs logs TRIAL"


def _no_best(study: optuna.Study) -> str:
    states: dict[str, int] = {}
    for trial in own_trials(study):
        states[trial.state.name] = states.get(trial.state.name, 0) + 1
    counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items())) or "no trials"
    return f"no trial completed with a feasible objective ({counts})"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
