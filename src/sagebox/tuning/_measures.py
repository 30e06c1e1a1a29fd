"""Metrics the tuner measures on a finished trial, for constraints.

``model_size_bytes`` is the size of the trial's ``model.tar.gz``. Other measured metrics
(``bias:<METRIC>``, ``latency_p50_ms``, ``latency_p90_ms``) are added by
:func:`measure_trial` as they are implemented; a metric neither emitted by the trial nor
measured here leaves the constraint unmet (the trial is infeasible, never best).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sagebox.backends.metadata.base import JobRecord
    from sagebox.session import Session

__all__ = ["measure_trial"]


def measure_trial(session: Session, job: JobRecord, needed: set[str]) -> dict[str, float]:
    """The measured metrics among ``needed`` for the completed training ``job``."""
    measured: dict[str, float] = {}
    model = job.outputs.get("model")
    if "model_size_bytes" in needed and model:
        key = session.key_for(model)
        measured["model_size_bytes"] = float(len(session.storage.read_bytes(key)))
    return measured
