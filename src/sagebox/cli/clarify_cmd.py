"""``sagebox clarify``: bias reports and SHAP explanations (the SageMaker Clarify equivalent).

By default each command runs as a ``clarify`` job (inputs uploaded to the lake, outputs
recorded as artifacts, then copied to ``--out``); ``--local`` runs it in this process.
numpy, pandas and shap are imported inside the commands so that ``sagebox --help`` stays fast.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from sagebox.cli._output import JsonOption, console, print_json, progress
from sagebox.errors import InputDataError

app = typer.Typer(
    help="Bias metrics and SHAP explanations (SageMaker Clarify equivalent).",
    no_args_is_help=True,
)

LocalOption = typer.Option(False, "--local", help="Run in this process instead of as a job.")


def _values(raw: list[str] | None) -> list[Any] | None:
    """Option values split on commas; numbers become int/float (like a Python caller's)."""
    if not raw:
        return None
    out: list[Any] = []
    for item in raw:
        for part in (p.strip() for p in item.split(",")):
            if not part:
                continue
            try:
                out.append(int(part))
            except ValueError:
                try:
                    out.append(float(part))
                except ValueError:
                    out.append(part)
    return out or None


@app.command()
def bias(
    data: Path = typer.Option(..., "--data", help="CSV/Parquet; raw review files are transformed."),
    label: str = typer.Option("sentiment", "--label", help="Label column."),
    label_values: list[str] = typer.Option(
        ..., "--label-values", help="Positive label value(s), or one threshold (repeat or a,b)."
    ),
    facet: list[str] = typer.Option(..., "--facet", help="Facet column (repeat for several)."),
    facet_values: list[str] | None = typer.Option(
        None, "--facet-values", help="Facet value(s) or threshold; default: each value vs rest."
    ),
    group: str | None = typer.Option(None, "--group", help="Group column for CDDL/CDDPL."),
    predicted_label_column: str | None = typer.Option(
        None, "--predicted-label-column", help="Column of predicted labels (post-training)."
    ),
    probability_column: str | None = typer.Option(
        None, "--probability-column", help="Column of positive-class probabilities."
    ),
    probability_threshold: float = typer.Option(
        0.5, "--probability-threshold", help="Predicted positive when probability > this."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Model name or model.tar.gz whose predictions give post-training."
    ),
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="Deployed endpoint whose predictions give post-training."
    ),
    text_column: str = typer.Option("review_body", "--text-column", help="Text the model reads."),
    bootstrap: int = typer.Option(200, "--bootstrap", min=0, help="Resamples for the 95% CIs."),
    multiclass: bool = typer.Option(
        True, "--multiclass/--no-multiclass", help="Also compare full label distributions."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    out: Path = typer.Option(Path("clarify-bias"), "--out", help="Directory for the outputs."),
    local: bool = LocalOption,
    json_output: bool = JsonOption,
) -> None:
    """Pre-training (and with predictions, post-training) bias metrics per facet value.

    Writes analysis.json (Clarify's layout), bias_details.json and report.html to --out.

    Example: sagebox clarify bias --data reviews.csv --label-values 1 --facet product_category
    """
    from sagebox.clarify.config import BiasConfig, FacetConfig

    fvalues = _values(facet_values)
    if fvalues is not None and len(facet) > 1:
        raise InputDataError(
            "--facet-values needs exactly one --facet", hint="run once per facet with values"
        )
    config = BiasConfig(
        label=label,
        label_values_or_threshold=tuple(_values(label_values) or ()),
        facets=tuple(FacetConfig(f, fvalues) for f in facet),
        group_name=group,
        predicted_label=predicted_label_column,
        probability=probability_column,
        probability_threshold=probability_threshold,
        multiclass=multiclass,
        bootstrap=bootstrap,
        seed=seed,
    )
    _check_bias(data, config, model, endpoint, text_column)
    if local:
        from sagebox.clarify.run import bias_file

        with progress() as prog:
            prog.add_task("computing bias metrics", total=None)
            result, paths = bias_file(
                data, config, out, model=model, text_column=text_column, endpoint=endpoint
            )
        summary, job_name = result.details["summary"]["findings"], None
    else:
        params = {
            "analysis": "bias",
            "config": config.to_dict(),
            "text_column": text_column,
            "model_name": model,
            "endpoint": endpoint,
        }
        job_name, paths = _run_job(params, data, model, out)
        summary = _read_json(paths["details"])["summary"]["findings"]
    if json_output:
        print_json(
            {
                "job": job_name,
                "files": paths,
                "findings": summary,
                "analysis": _read_json(paths["analysis"]),
            }
        )
        return
    console.print(
        f"[bold]bias report[/bold] {paths['report']}" + (f"  (job {job_name})" if job_name else "")
    )
    console.print(f"analysis.json {paths['analysis']}")
    for line in summary[:10]:
        console.print(f"  • {line}")


@app.command()
def explain(
    model: str = typer.Option(..., "--model", help="Registered model name, model.tar.gz or dir."),
    data: Path = typer.Option(..., "--data", help="CSV/Parquet with reviews (raw or prepared)."),
    rows: int = typer.Option(100, "--rows", min=1, help="Reviews to explain (seeded sample)."),
    num_samples: int = typer.Option(300, "--num-samples", min=1, help="Coalitions per review."),
    agg_method: str = typer.Option(
        "mean_abs", "--agg-method", help="Global aggregation: mean_abs, median or mean_sq."
    ),
    use_logit: bool = typer.Option(False, "--use-logit", help="Explain log-odds, not probability."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample and of Kernel SHAP."),
    text_column: str = typer.Option("review_body", "--text-column", help="Text column."),
    mask_token: str = typer.Option("", "--mask-token", help="Stand-in for left-out words."),
    top_k: int = typer.Option(15, "--top-k", min=1, help="Top words listed per class."),
    out: Path = typer.Option(Path("clarify-explain"), "--out", help="Directory for the outputs."),
    local: bool = LocalOption,
    json_output: bool = JsonOption,
) -> None:
    """Token-level Kernel SHAP: which words push reviews towards each class.

    Writes analysis.json, local_explanations.jsonl and report.html to --out.

    Example: sagebox clarify explain --model reviews-linear --data reviews.csv --rows 100
    """
    from sagebox.clarify.config import ShapConfig, TextConfig

    shap = ShapConfig(
        num_samples=num_samples, agg_method=agg_method, use_logit=use_logit, seed=seed
    )
    text = TextConfig(mask_token=mask_token, top_k=top_k)
    if local:
        from sagebox.clarify.run import explain_file

        with progress() as prog:
            prog.add_task(f"explaining {rows} reviews", total=None)
            explanation, paths = explain_file(
                model, data, out, rows, shap, text, text_column=text_column
            )
        top, job_name = explanation.top_words, None
    else:
        _check_model_source(model)
        params = {
            "analysis": "explain",
            "model_name": model,
            "rows": rows,
            "text_column": text_column,
            "shap": {k: v for k, v in shap.__dict__.items() if k != "baseline"},
            "text": text.__dict__,
        }
        job_name, paths = _run_job(params, data, model, out)
        top = _read_json(paths["analysis"])["explanations"].get("kernel_shap_top_words", {})
    if json_output:
        print_json({"job": job_name, "files": paths, "top_words": top})
        return
    console.print(
        f"[bold]explanation report[/bold] {paths['report']}"
        + (f"  (job {job_name})" if job_name else "")
    )
    for label, words in top.items():
        console.print(f"  towards {label}: " + ", ".join(w["word"] for w in words[:10]))


def _read_json(path: Path) -> Any:
    import json

    return json.loads(Path(path).read_text(encoding="utf-8"))


def _check_bias(
    data: Path, config: Any, model: str | None, endpoint: str | None, text_column: str
) -> None:
    """Fail fast, in this process, on a bad file, column or value (before starting a job)."""
    from sagebox.clarify.prepare import prepare
    from sagebox.clarify.run import load_table

    table, _ = load_table(data)
    if model is not None and endpoint is not None:
        raise InputDataError("give --model or --endpoint, not both", hint="drop one of them")
    if endpoint is not None:
        from sagebox.session import Session

        Session().metadata.get_endpoint(endpoint)  # NotFoundError names the endpoint
    if model is not None or endpoint is not None:
        if model is not None:
            _check_model_source(model)
        if text_column not in table.columns:
            from sagebox.clarify.columns import require_column

            require_column(table, text_column, "text")
    prepare(table, config)  # label, facets and group; predictions are made inside the job


def _check_model_source(model: str) -> None:
    if not Path(model).exists():
        from sagebox.session import Session

        Session().metadata.get_model(model)  # NotFoundError names the model


def _run_job(
    params: dict[str, Any], data: Path, model: str | None, out: Path
) -> tuple[str, dict[str, Path]]:
    """Upload inputs, run a ``clarify`` job, copy its outputs to ``out``; return name and paths."""
    from sagebox.backends.metadata.base import ArtifactRecord
    from sagebox.jobs import JobClient
    from sagebox.jobs.client import new_job_name
    from sagebox.jobs.context import file_sha256
    from sagebox.session import Session

    session = Session()
    if not data.is_file():
        raise InputDataError(f"{data}: file not found", hint="check the --data path")
    prefix = f"clarify/inputs/{datetime.now(UTC).strftime('%Y%m%d-%H%M%S-%f')}"

    def upload(path: Path, kind: str) -> str:
        key = f"{prefix}/{path.name}"
        session.storage.upload(path, key)
        uri = session.storage.url(key)
        session.metadata.add_artifact(
            ArtifactRecord(uri=uri, kind=kind, sha256=file_sha256(path), size=path.stat().st_size)
        )
        return uri

    inputs = {"data": upload(data, "dataset")}
    if model is not None:
        path = Path(model)
        if path.is_file():
            inputs["model"] = upload(path, "model")
        elif path.is_dir():
            raise InputDataError(
                f"--model {model} is a directory",
                hint="give model.tar.gz or a model name, or --local",
            )
        else:
            inputs["model"] = session.metadata.get_model(model).artifact_uri
    name = new_job_name("clarify")
    with progress() as prog:
        prog.add_task(f"clarify job {name}", total=None)
        job = JobClient(session).run("clarify", parameters=params, inputs=inputs, name=name)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, uri in job.outputs.items():
        key = session.key_for(uri)
        paths[name] = session.storage.download(key, out / Path(key).name)
    return job.name, paths
