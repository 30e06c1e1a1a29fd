"""Autoscaling: target tracking of invocations per instance per minute (and CPU).

The supervisor asks :class:`TargetTracker` once a second for each variant with a policy. The
desired count is the smallest that brings the metric to the target, ``ceil(current x value /
target)`` (for invocations: ``ceil(invocations per minute / target)``); with both metrics the
larger count wins. Scale-out waits for the scale-out cooldown since the last scale-out;
scale-in waits for the scale-in cooldown since any scaling, so a burst never flaps the fleet.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from sagebox.serving.config import AutoScalingPolicy

__all__ = ["ScalingDecision", "TargetTracker", "process_cpu_seconds"]

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ScalingDecision:
    """Scale from ``current`` to ``desired`` instances, and why."""

    current: int
    desired: int
    reason: str


class TargetTracker:
    """Decides instance counts for one variant under one policy.

    Example:
        >>> policy = AutoScalingPolicy(max_instances=4,
        ...                            target_invocations_per_instance_per_minute=600,
        ...                            scale_out_cooldown_s=0)
        >>> TargetTracker(policy).evaluate(1, invocations_per_minute=1500, now=10.0).desired
        3
    """

    def __init__(self, policy: AutoScalingPolicy) -> None:
        self.policy = policy
        self.last_scale_out = -math.inf
        self.last_activity = -math.inf

    def evaluate(
        self,
        current: int,
        invocations_per_minute: float,
        cpu_percent: float | None = None,
        now: float = 0.0,
    ) -> ScalingDecision | None:
        """A decision if the count should change now, else None."""
        p = self.policy
        if current < p.min_instances or current > p.max_instances:
            desired = min(max(current, p.min_instances), p.max_instances)
            return ScalingDecision(current, desired, "instance count outside [min, max]")
        wanted: list[tuple[int, str]] = []
        target_ipm = p.target_invocations_per_instance_per_minute
        if target_ipm is not None:
            per_instance = invocations_per_minute / max(current, 1)
            wanted.append(
                (
                    math.ceil(invocations_per_minute / target_ipm - 1e-9),
                    f"{per_instance:.0f} invocations/instance/min vs target {target_ipm:g}",
                )
            )
        if p.target_cpu_percent is not None and cpu_percent is not None:
            wanted.append(
                (
                    math.ceil(current * cpu_percent / p.target_cpu_percent - 1e-9),
                    f"CPU {cpu_percent:.0f}% vs target {p.target_cpu_percent:g}%",
                )
            )
        if not wanted:
            return None
        desired, reason = max(wanted)
        desired = min(max(desired, p.min_instances), p.max_instances)
        if desired > current and now - self.last_scale_out >= p.scale_out_cooldown_s:
            return ScalingDecision(current, desired, reason)
        if desired < current and now - self.last_activity >= p.scale_in_cooldown_s:
            return ScalingDecision(current, desired, reason)
        return None

    def applied(self, decision: ScalingDecision, now: float) -> None:
        """Record that ``decision`` was carried out at ``now`` (starts the cooldowns)."""
        if decision.desired > decision.current:
            self.last_scale_out = now
        self.last_activity = now


def process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) used by process ``pid``; None where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS
