"""``sagebox models``: register and inspect packaged models."""

from __future__ import annotations

from pathlib import Path

import typer

from sagebox.cli._output import JsonOption, console, print_json, print_record, print_table

app = typer.Typer(help="Register and inspect packaged models.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Model name."),
    job: str | None = typer.Option(None, "--job", help="Training job whose model to register."),
    artifact: str | None = typer.Option(None, "--artifact", help="URI of a model.tar.gz."),
    json_output: bool = JsonOption,
) -> None:
    """Register a model from a training job or a model.tar.gz in the lake."""
    from sagebox.models import ModelClient

    model = ModelClient().create(name, training_job=job, artifact_uri=artifact)
    print_json(model) if json_output else console.print(f"model {model.name}: {model.artifact_uri}")


@app.command("list")
def list_models(json_output: bool = JsonOption) -> None:
    """List models, newest first."""
    from sagebox.models import ModelClient

    models = ModelClient().list()
    if json_output:
        print_json(models)
    else:
        rows = [{**m.__dict__, "algorithm": m.manifest.get("algorithm")} for m in models]
        print_table(rows, ["name", "algorithm", "source_job", "artifact_uri", "created_at"])


@app.command("describe")
def describe(
    name: str = typer.Argument(..., help="Model name."), json_output: bool = JsonOption
) -> None:
    """Show a model and its manifest."""
    from sagebox.models import ModelClient

    print_record(ModelClient().get(name), json_output)


@app.command("delete")
def delete(name: str = typer.Argument(..., help="Model name.")) -> None:
    """Delete a model record (its artifact stays in the lake)."""
    from sagebox.models import ModelClient

    ModelClient().delete(name)
    console.print(f"deleted model {name}")


@app.command("export")
def export(
    name: str = typer.Argument(..., help="Model name."),
    out: Path = typer.Option(..., "--out", help="Directory for the ONNX export."),
    quantize: bool = typer.Option(False, "--quantize", help="Also write an int8 model."),
    check: Path | None = typer.Option(
        None, "--check", help="Parquet/CSV with review_body (and sentiment) for a parity check."
    ),
    sample: int = typer.Option(1000, "--sample", min=1, help="Rows of --check to use."),
    json_output: bool = JsonOption,
) -> None:
    """Export a model to ONNX for edge devices, with a parity and size/latency report."""
    from sagebox.cli._edge import run_export

    report = run_export(name, out, quantize, check, sample)
    if json_output:
        print_json(report)
        return
    console.print(f"exported {name} to {out} in {report['export_seconds']:.1f} s")
    for runtime, figures in report.get("parity", {}).get("runtimes", {}).items():
        console.print(f"  {runtime:<20} {figures}")
