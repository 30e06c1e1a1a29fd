"""The ``evaluation`` job kind: score a packaged model on a test set → ``evaluation.json``."""

from __future__ import annotations

import json

import pandas as pd

from sagebox.jobs.context import JobContext

__all__ = ["run_evaluation_job"]


def run_evaluation_job(ctx: JobContext) -> None:
    """Evaluate input ``model`` (a model.tar.gz) on input ``test``; write evaluation.json.

    The archive is unpacked only if its SHA-256 is the one recorded when its job wrote it (or
    when it was registered).
    """
    from sagebox.datasets import LABEL_COLUMN, LABELS, TEXT_COLUMN
    from sagebox.evaluation.metrics import classification_report
    from sagebox.models import fetch_verified_uri, load_handler

    model_dir = fetch_verified_uri(ctx.session, ctx.job.inputs["model"], ctx.workdir / "model")
    hooks = load_handler(model_dir)
    model = hooks.model_fn(model_dir)
    test = pd.read_parquet(ctx.input_path("test"))
    predictions = hooks.predict_fn(test[TEXT_COLUMN].astype(str).tolist(), model)
    report = classification_report(
        test[LABEL_COLUMN].astype(int).tolist(),
        [p["label"] for p in predictions],
        labels=list(LABELS),
    )
    for name in ("accuracy", "macro_f1"):
        ctx.log_metric(f"test:{name}", report[name])
    local = ctx.workdir / "evaluation.json"
    local.write_text(json.dumps(report, indent=2), encoding="utf-8")
    ctx.put_output("evaluation", local, ctx.output_key("evaluation.json"), kind="evaluation")
