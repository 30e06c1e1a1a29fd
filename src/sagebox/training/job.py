"""The ``training`` job kind: fit a built-in algorithm on lake channels, package the model."""

from __future__ import annotations

import pandas as pd

from sagebox.jobs.context import JobContext

__all__ = ["run_training_job"]


def run_training_job(ctx: JobContext) -> None:
    """Train ``parameters["algorithm"]`` on channel ``train``; report on ``validation``.

    Writes ``model.tar.gz`` (model files, manifest, inference code) to the job's output.
    """
    from sagebox.datasets import LABEL_NAMES, LABELS
    from sagebox.models import build_manifest, pack_model_dir
    from sagebox.training.fit import evaluate_classifier, fit_text_classifier

    algorithm = str(ctx.parameters.get("algorithm", "linear-text"))
    hyperparameters = dict(ctx.parameters.get("hyperparameters", {}))
    train = pd.read_parquet(ctx.input_path("train"))
    ctx.log(f"training {algorithm} on {len(train)} reviews with {hyperparameters or 'defaults'}")
    clf = fit_text_classifier(algorithm, hyperparameters, train)
    ctx.log_metric("train:accuracy", evaluate_classifier(clf, train)["accuracy"])
    if "validation" in ctx.job.inputs:
        report = evaluate_classifier(clf, pd.read_parquet(ctx.input_path("validation")))
        ctx.log_metric("validation:accuracy", report["accuracy"])
        ctx.log_metric("validation:macro_f1", report["macro_f1"])
    model_dir = ctx.workdir / "model"
    clf.save(model_dir)
    manifest = build_manifest(
        algorithm,
        list(LABELS),
        dict(LABEL_NAMES),
        extra={"hyperparameters": clf.get_params(), "training_job": ctx.job.name},
    )
    archive = pack_model_dir(model_dir, manifest, ctx.workdir / "model.tar.gz")
    ctx.put_output("model", archive, ctx.output_key("model.tar.gz"), kind="model")
