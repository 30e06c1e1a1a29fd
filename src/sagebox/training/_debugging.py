"""The debugger and profiler side of a training job: hook env, system monitor, rules, sync.

:class:`JobDebugging` is what :func:`sagebox.training.job.run_training_job` runs around its
workers. For the lifetime of the job it

- keeps the debug directory ``<workdir>/debug`` (restarted workers append to the same one)
  and writes its ``meta.json``;
- gives the workers ``SAGEBOX_DEBUG_DIR`` and ``SAGEBOX_DEBUGGER_CONFIG`` (the hook's
  settings) when a hook runs;
- samples the machine with :class:`sagebox.profiler.monitor.SystemMonitor` (host ``algo-1``)
  unless the profiler is disabled;
- runs the :class:`~sagebox.training._rule_evaluator.RuleEvaluator` thread, whose stop action sets
  :attr:`JobDebugging.stop_event` (the launcher then ends the workers);
- mirrors the debug directory to ``jobs/<job>/debug-output/`` in the lake every few seconds
  and once more at the end, however the job ends, and records it as output ``debug_output``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from sagebox.debugger.config import DebugPlan
from sagebox.jobs.context import JobContext

__all__ = ["EVALUATION_INTERVAL_S", "SYNC_INTERVAL_S", "JobDebugging"]

#: Seconds between two evaluations of the rules.
EVALUATION_INTERVAL_S = 1.0
#: Seconds between two uploads of the debug directory to the lake.
SYNC_INTERVAL_S = 15.0


class JobDebugging:
    """Debugging and profiling of one training job; see the module docstring.

    Args:
        ctx: the job's context.
        plan: what to collect and evaluate (from :meth:`TrainingSpec.debug_plan`).
        monitor: sample this machine with the system monitor (as host ``algo-1``); False on
            a cluster, where this machine runs none of the hosts.
    """

    def __init__(self, ctx: JobContext, plan: DebugPlan, monitor: bool = True) -> None:
        self.ctx = ctx
        self.plan = plan
        self.monitor = monitor
        self.debug_dir = ctx.workdir / "debug"
        self.stop_event = threading.Event()
        self.stop_reason: str | None = None

    def worker_env(self) -> dict[str, str]:
        """The variables that switch the hook on inside a worker (empty when it is off)."""
        if self.plan.hook is None:
            return {}
        return {
            "SAGEBOX_DEBUG_DIR": str(self.debug_dir),
            "SAGEBOX_DEBUGGER_CONFIG": json.dumps(self.plan.hook, sort_keys=True),
        }

    def request_stop(self, reason: str) -> None:
        """Stop the workers because of ``reason`` (first reason wins); the job ends Stopped."""
        from sagebox.backends.metadata.base import JobStatus

        if self.stop_event.is_set():
            return
        self.stop_reason = reason
        try:
            # Marked as a requested stop, so the runner does not treat it as a crash to retry.
            self.ctx.session.metadata.update_job(self.ctx.job.name, status=JobStatus.STOPPING)
        except Exception as exc:  # noqa: BLE001 - stopping matters more than the record
            self.ctx.log(f"could not mark the job as stopping: {exc}")
        self.stop_event.set()

    @contextmanager
    def running(self) -> Iterator[JobDebugging]:
        """Collect, evaluate and sync while the block (the workers) runs, then settle all."""
        from sagebox.debugger.events import debug_output_prefix
        from sagebox.training._debug_sync import DebugOutputSync

        ctx = self.ctx
        if not self.plan.enabled:
            yield self
            return
        self.debug_dir.mkdir(parents=True, exist_ok=True)
        self._write_meta()
        storage = ctx.session.storage
        prefix = debug_output_prefix(ctx.job.name)
        ctx.job = ctx.session.metadata.update_job(
            ctx.job.name, outputs={**ctx.job.outputs, "debug_output": storage.url(prefix)}
        )
        ctx.log(self.plan.summary())
        with ExitStack() as stack:
            sync = DebugOutputSync(storage, prefix, self.debug_dir, SYNC_INTERVAL_S, ctx.log)
            stack.enter_context(sync.running())  # exits last: uploads what the others wrote
            evaluator = self._start_evaluator()
            if evaluator is not None:
                stack.callback(self._finish_evaluator, evaluator)
            monitor = self._start_monitor()
            if monitor is not None:
                stack.callback(self._stop_monitor, monitor)
            yield self

    def _start_monitor(self) -> Any | None:
        if not self.plan.profiler.enabled:
            return None
        if not self.monitor:
            self.ctx.log("profiler: the system monitor does not run on a cluster's nodes yet")
            return None
        interval = self.plan.profiler.system_monitor_interval_millis / 1000
        try:
            from sagebox.profiler.monitor import SystemMonitor

            monitor = SystemMonitor(self.debug_dir, host="algo-1", interval_s=interval)
            monitor.start()
        except Exception as exc:  # noqa: BLE001 - profiling must never fail the training
            self.ctx.log(f"the system monitor could not start: {type(exc).__name__}: {exc}")
            return None
        return monitor

    def _stop_monitor(self, monitor: Any) -> None:
        try:
            monitor.stop()
        except Exception as exc:  # noqa: BLE001 - the job's outcome is not the monitor's
            self.ctx.log(f"could not stop the system monitor: {exc}")

    def _start_evaluator(self) -> Any | None:
        if not self.plan.rules:
            return None
        from sagebox.training._rule_evaluator import RuleEvaluator

        evaluator = RuleEvaluator(
            self.ctx.job.name,
            self.plan.rules,
            self.debug_dir,
            self.ctx.session.metadata,
            interval=EVALUATION_INTERVAL_S,
            log=self.ctx.log,
            stop=self.request_stop,
        )
        evaluator.start()
        return evaluator

    def _finish_evaluator(self, evaluator: Any) -> None:
        try:
            statuses = evaluator.finish()
        except Exception as exc:  # noqa: BLE001 - the job's outcome is not the rules'
            self.ctx.log(f"the final rule evaluation failed: {exc}")
            return
        summary = ", ".join(f"{name} {status.value}" for name, status in statuses.items())
        self.ctx.log(f"rules: {summary}")

    def _write_meta(self) -> None:
        path = self.debug_dir / "meta.json"
        if path.exists():  # a restarted job process continues the same debug data
            return
        from sagebox.training.spec import TrainingSpec

        spec = TrainingSpec.from_parameters(self.ctx.parameters)
        meta = {
            "job": self.ctx.job.name,
            "started": time.time(),
            "hook": self.plan.hook,
            "profiler": self.plan.profiler.to_dict(),
            "rules": [rule.to_dict() for rule in self.plan.rules],
            "algorithm": spec.algorithm,
            "entry_point": spec.entry_point,
            "instance_count": spec.instance_count,
            "cores": len(os.sched_getaffinity(0)),
        }
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        tmp.replace(path)
