"""Metrics the tuner measures on a finished trial, for constraints and objectives.

- ``model_size_bytes``: the size of the trial's ``model.tar.gz``.
- ``latency_p50_ms`` / ``latency_p90_ms``: the model's single-review prediction latency,
  in process through the model's inference handler (``input_fn`` → ``predict_fn`` →
  ``output_fn``, JSON in and out), over :data:`LATENCY_REVIEWS` reviews of the validation
  channel after :data:`LATENCY_WARMUP` warm-up requests.
- ``bias:<METRIC>`` (``bias:DPPL``, ``bias:DI``, ...): a Clarify post-training bias metric
  computed with :func:`sagebox.clarify.run_bias` on the trial's ``validation`` channel with
  the trial model's predictions; the label is ``sentiment`` with positive = 1. The facet is
  ``bias:METRIC[column=value]``; ``bias:METRIC[column]`` takes the column's value with the
  fewest validation rows (ties: the first by name), and plain ``bias:METRIC`` does the same
  for ``product_category``. FT (needs numeric features) and CDDPL (needs a group column) are
  not available.

A metric neither emitted by the trial nor measured here (unknown, or a measurement that
failed: no model, no validation channel, no facet column, a metric Clarify leaves undefined)
stays missing: a constraint on it is unmet (the trial is infeasible, never best).
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagebox.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd

    from sagebox.backends.metadata.base import JobRecord
    from sagebox.session import Session

__all__ = [
    "BIAS_METRICS",
    "DEFAULT_FACET",
    "LATENCY_METRICS",
    "BiasMetric",
    "check_measured_metric",
    "measure_trial",
    "parse_bias_metric",
]

#: the facet column of a ``bias:`` metric that names none (the review data's category)
DEFAULT_FACET = "product_category"
LABEL_COLUMN = "sentiment"
POSITIVE_LABEL = 1
TEXT_COLUMN = "review_body"
LATENCY_METRICS = {"latency_p50_ms": 50.0, "latency_p90_ms": 90.0}
LATENCY_REVIEWS = 50
LATENCY_WARMUP = 5
#: Clarify's post-training metrics that a text model's predictions give one value of
BIAS_METRICS = ("AD", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "GE", "RD", "SD", "TE")
_BIAS = re.compile(r"^bias:([A-Za-z]+)(?:\[([^=\]]+)(?:=([^\]]*))?\])?$")


@dataclass(frozen=True)
class BiasMetric:
    """A parsed ``bias:METRIC[column=value]`` name (``value`` None: the fewest rows)."""

    metric: str
    facet: str = DEFAULT_FACET
    value: str | None = None


def parse_bias_metric(name: str) -> BiasMetric:
    """Read a ``bias:`` metric name.

    Raises:
        InputDataError: if the name is malformed or not a post-training metric Clarify gives
            for a text model.
    """
    match = _BIAS.match(name.strip())
    hint = f"use bias:<one of {', '.join(BIAS_METRICS)}>[column=value], e.g. bias:DPPL"
    if match is None:
        raise InputDataError(f"bad bias metric {name!r}", hint=hint)
    metric = match.group(1).upper()
    if metric not in BIAS_METRICS:
        from sagebox.clarify import POST_TRAINING, PRE_TRAINING

        why = (
            "is a pre-training metric (it does not depend on the model)"
            if metric in PRE_TRAINING
            else "needs numeric features or a group column"
            if metric in POST_TRAINING
            else "is not a Clarify bias metric"
        )
        raise InputDataError(f"bias metric {name!r}: {metric} {why}", hint=hint)
    facet = (match.group(2) or DEFAULT_FACET).strip()
    value = match.group(3)
    return BiasMetric(metric, facet, None if value is None else value.strip())


def check_measured_metric(name: str) -> None:
    """Raise :class:`InputDataError` for a ``bias:`` metric the tuner cannot compute."""
    if name.startswith("bias:"):
        parse_bias_metric(name)


def measure_trial(
    session: Session,
    job: JobRecord,
    needed: set[str],
    log: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """The measured metrics among ``needed`` for the completed training ``job``.

    ``log`` is told why a measurement failed (the metric then stays missing).
    """
    measured: dict[str, float] = {}
    model = job.outputs.get("model")
    if not model:
        return measured
    if "model_size_bytes" in needed:
        key = session.key_for(model)
        measured["model_size_bytes"] = float(len(session.storage.read_bytes(key)))
    latency = sorted(n for n in needed if n in LATENCY_METRICS)
    bias = sorted(n for n in needed if n.startswith("bias:"))
    if not latency and not bias:
        return measured
    with tempfile.TemporaryDirectory(prefix="sagebox-tuning-measure-") as tmp:
        try:
            from sagebox.models import fetch_verified_uri

            model_dir = fetch_verified_uri(session, model, Path(tmp) / "package")
            table = _validation_table(session, job, Path(tmp) / "validation")
        except Exception as exc:  # noqa: BLE001 - a failed measurement leaves metrics missing
            _tell(log, f"{job.name}: cannot measure {', '.join(latency + bias)}: {exc}")
            return measured
        if latency:
            try:
                measured.update(_latency(model_dir, table, latency))
            except Exception as exc:  # noqa: BLE001
                _tell(log, f"{job.name}: latency not measured: {exc}")
        if bias:
            measured.update(_bias(model_dir, table, bias, job.name, log))
    return measured


def _tell(log: Callable[[str], None] | None, message: str) -> None:
    if log is not None:
        log(message)


def _validation_table(session: Session, job: JobRecord, dest: Path) -> pd.DataFrame:
    """The trial's ``validation`` channel (one object or a prefix) as one table."""
    import pandas as pd

    from sagebox.clarify import load_table

    uri = job.inputs.get("validation")
    if uri is None:
        raise InputDataError(
            f"training job {job.name} has no validation channel",
            hint="give the tuner a validation input",
        )
    key = session.key_for(uri)
    storage = session.storage
    if key and storage.exists(key):
        keys = [key]
        prefix = key[: key.rfind("/") + 1]
    else:
        prefix = key.rstrip("/") + "/" if key else ""
        keys = sorted(i.key for i in storage.list(prefix) if not i.key.endswith("/"))
    frames = []
    for item in keys:
        local = storage.download(item, dest / item[len(prefix) :])
        frames.append(load_table(local)[0])
    if not frames:
        raise InputDataError(f"the validation channel {uri} holds no data", hint="check it")
    return pd.concat(frames, ignore_index=True)


def _texts(table: pd.DataFrame) -> list[str]:
    if TEXT_COLUMN not in table.columns:
        raise InputDataError(
            f"the validation data has no {TEXT_COLUMN} column", hint="give prepared reviews"
        )
    return [str(t) for t in table[TEXT_COLUMN].fillna("").astype(str)]


def _latency(model_dir: Path, table: pd.DataFrame, names: list[str]) -> dict[str, float]:
    import numpy as np

    from sagebox.models import load_handler

    hooks = load_handler(model_dir)
    model = hooks.model_fn(model_dir)
    texts = [t for t in _texts(table) if t.strip()] or ["probe"]
    bodies = [json.dumps({TEXT_COLUMN: t}) for t in texts]
    timings = []
    for index in range(LATENCY_WARMUP + LATENCY_REVIEWS):
        body = bodies[index % len(bodies)]
        start = time.perf_counter()
        hooks.output_fn(
            hooks.predict_fn(hooks.input_fn(body, "application/json"), model), "application/json"
        )
        if index >= LATENCY_WARMUP:
            timings.append((time.perf_counter() - start) * 1000.0)
    return {n: float(np.percentile(timings, LATENCY_METRICS[n])) for n in names}


def _bias(
    model_dir: Path,
    table: pd.DataFrame,
    names: list[str],
    job_name: str,
    log: Callable[[str], None] | None,
) -> dict[str, float]:
    import math

    import pandas as pd

    from sagebox.clarify import BiasConfig, FacetConfig, load_text_model, run_bias

    column = "_tuning_predicted_label"
    try:
        predicted = load_text_model(model_dir).predict(_texts(table))
        if LABEL_COLUMN not in table.columns:
            raise InputDataError(
                f"the validation data has no {LABEL_COLUMN} column", hint="give prepared reviews"
            )
        # categorical columns: Clarify would read a numeric label with >= 5% distinct values
        # (-1, 0, 1 in a small split) as continuous, and the positive value 1 as a threshold
        table = table.assign(
            **{
                LABEL_COLUMN: table[LABEL_COLUMN].astype("category"),
                column: pd.to_numeric(pd.Series(predicted), errors="coerce").astype("category"),
            }
        )
    except Exception as exc:  # noqa: BLE001
        _tell(log, f"{job_name}: bias not measured, the model did not predict: {exc}")
        return {}
    measured: dict[str, float] = {}
    for name in names:
        wanted = parse_bias_metric(name)
        try:
            if wanted.facet not in table.columns:
                raise InputDataError(
                    f"the validation data has no facet column {wanted.facet!r}",
                    hint="name an existing column: bias:METRIC[column=value]",
                )
            value = wanted.value if wanted.value is not None else _fewest(table[wanted.facet])
            config = BiasConfig(
                LABEL_COLUMN,
                [POSITIVE_LABEL],
                (FacetConfig(wanted.facet, [value]),),
                predicted_label=column,
                multiclass=False,
                bootstrap=0,
            )
            result = run_bias(table, config)
            entries = result.analysis["post_training_bias_metrics"]["facets"][wanted.facet]
            metrics = {m["name"]: m for m in entries[0]["metrics"]}
            number = metrics[wanted.metric].get("value")
            if not isinstance(number, int | float) or not math.isfinite(number):
                error = metrics[wanted.metric].get("error", "not finite")
                raise InputDataError(f"{wanted.metric} is undefined: {error}", hint="")
            measured[name] = float(number)
        except Exception as exc:  # noqa: BLE001
            _tell(log, f"{job_name}: {name} not measured: {exc}")
    return measured


def _fewest(series: Any) -> str:
    """The value of a facet column with the fewest rows (ties: the first by name)."""
    counts = series.dropna().astype(str).value_counts()
    if counts.empty:
        raise InputDataError("the facet column is empty", hint="give data with facet values")
    least = counts.min()
    return sorted(str(v) for v, n in counts.items() if n == least)[0]
