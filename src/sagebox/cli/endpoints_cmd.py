"""``sagebox endpoints``: start, invoke and stop local real-time endpoints."""

from __future__ import annotations

from pathlib import Path

import typer

from sagebox.cli._output import JsonOption, console, print_json, print_record, print_table

app = typer.Typer(help="Serve models as local real-time HTTP endpoints.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Endpoint name."),
    model: str = typer.Option(..., "--model", help="Registered model to serve."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port on 127.0.0.1."),
    json_output: bool = JsonOption,
) -> None:
    """Start an endpoint and wait until it is InService."""
    from sagebox.serving import EndpointClient

    with console.status(f"starting endpoint {name}"):
        endpoint = EndpointClient().create(name, model_name=model, port=port)
    print_json(endpoint) if json_output else console.print(f"{name}: InService at {endpoint.url}")


@app.command("invoke")
def invoke(
    name: str = typer.Argument(..., help="Endpoint name."),
    body: str | None = typer.Option(None, "--body", help="Request body (default: --file)."),
    file: Path | None = typer.Option(None, "--file", help="Read the request body from a file."),
    content_type: str = typer.Option("application/json", "--content-type"),
    accept: str = typer.Option("application/json", "--accept"),
) -> None:
    """Send a request to an endpoint and print the response."""
    import json

    from sagebox.errors import InputDataError
    from sagebox.serving import EndpointClient

    if (body is None) == (file is None):
        raise InputDataError(
            "give exactly one of --body or --file", hint="e.g. --body '[\"great\"]'"
        )
    if file is not None:
        if not file.is_file():
            raise InputDataError(f"{file} does not exist", hint="check the path")
        body = file.read_text(encoding="utf-8")
    result = EndpointClient().invoke(name, body, content_type=content_type, accept=accept)
    typer.echo(result if isinstance(result, str) else json.dumps(result))


@app.command("list")
def list_endpoints(json_output: bool = JsonOption) -> None:
    """List endpoints and their status."""
    from sagebox.serving import EndpointClient

    endpoints = EndpointClient().list()
    if json_output:
        print_json(endpoints)
    else:
        print_table([e.__dict__ for e in endpoints], ["name", "model_name", "status", "url"])


@app.command("describe")
def describe(
    name: str = typer.Argument(..., help="Endpoint name."), json_output: bool = JsonOption
) -> None:
    """Show one endpoint."""
    from sagebox.serving import EndpointClient

    print_record(EndpointClient().describe(name), json_output)


@app.command("delete")
def delete(name: str = typer.Argument(..., help="Endpoint name.")) -> None:
    """Stop an endpoint and delete it."""
    from sagebox.serving import EndpointClient

    EndpointClient().delete(name)
    console.print(f"deleted endpoint {name}")
