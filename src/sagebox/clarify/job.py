"""The ``clarify`` job kind: a bias or explainability analysis whose outputs land in the lake.

Parameters: ``analysis`` (``"bias"`` or ``"explain"``); for bias ``config`` (a
``BiasConfig.to_dict()``) and optionally ``endpoint`` (a deployed endpoint predicts); for
explain ``rows``, ``shap`` and ``text`` (dicts of ``ShapConfig``/``TextConfig`` fields);
``model_name`` (shown in the report) and ``text_column``. Inputs: ``data`` (CSV or Parquet,
raw review files are transformed) and, for explain or model-based bias, ``model`` (a
model.tar.gz). Outputs: ``analysis`` (analysis.json), ``report`` (report.html), and
``details`` (bias_details.json) or ``local`` (local_explanations.jsonl).
"""

from __future__ import annotations

from sagebox.jobs.context import JobContext

__all__ = ["run_clarify_job"]

OUTPUT_KINDS = {
    "analysis": "clarify-analysis",
    "details": "clarify-details",
    "local": "clarify-explanations",
    "report": "report",
}


def run_clarify_job(ctx: JobContext) -> None:
    """Run the analysis named by parameter ``analysis`` and upload its files."""
    from sagebox.clarify.config import BiasConfig, ShapConfig, TextConfig
    from sagebox.clarify.run import TEXT_COLUMN, bias_file, explain_file
    from sagebox.errors import ConfigError

    params = ctx.parameters
    analysis = params.get("analysis")
    text_column = params.get("text_column", TEXT_COLUMN)
    data = ctx.input_path("data")
    model = None
    if "model" in ctx.job.inputs:  # unpacked only if its SHA-256 is the recorded one
        from sagebox.models import fetch_verified_uri

        model = fetch_verified_uri(ctx.session, ctx.job.inputs["model"], ctx.workdir / "model")
    out = ctx.workdir / "output"
    if analysis == "bias":
        config = BiasConfig.from_dict(params["config"])
        ctx.log(
            f"bias analysis of {data.name}: label {config.label}, facets "
            + ", ".join(f.name for f in config.facets)
        )
        result, paths = bias_file(
            data,
            config,
            out,
            model=model,
            session=ctx.session,
            text_column=text_column,
            model_name=params.get("model_name"),
            endpoint=params.get("endpoint"),
        )
        ctx.log_metric("rows", result.details["data"]["rows"])
        for finding in result.details["summary"]["findings"]:
            ctx.log(f"finding: {finding}")
    elif analysis == "explain":
        if model is None:
            raise ConfigError("an explain job needs a model input", hint="give inputs['model']")
        shap = ShapConfig(**params.get("shap", {}))
        text = TextConfig(**params.get("text", {}))
        rows = int(params.get("rows", 100))
        ctx.log(f"token-level SHAP on {rows} reviews of {data.name}, {shap.num_samples} samples")
        explanation, paths = explain_file(
            model,
            data,
            out,
            rows=rows,
            shap=shap,
            text=text,
            session=ctx.session,
            text_column=text_column,
            model_name=params.get("model_name"),
        )
        ctx.log_metric("rows", len(explanation.local))
    else:
        raise ConfigError(f"unknown clarify analysis {analysis!r}", hint="use 'bias' or 'explain'")
    for name, path in paths.items():
        ctx.put_output(name, path, ctx.output_key(path.name), kind=OUTPUT_KINDS[name])
