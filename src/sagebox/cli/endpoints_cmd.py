"""``sagebox endpoints``: create, update, invoke, observe and delete real-time endpoints."""

from __future__ import annotations

from pathlib import Path

import typer

from sagebox.cli._output import JsonOption, console, print_json, print_record, print_table

app = typer.Typer(help="Serve models as local real-time HTTP endpoints.", no_args_is_help=True)

_VARIANT_HELP = "A production variant NAME=MODEL[:WEIGHT[:INSTANCES]] (repeat for A/B tests)."


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Endpoint name."),
    model: str | None = typer.Option(None, "--model", help="Registered model to serve."),
    variant: list[str] = typer.Option([], "--variant", help=_VARIANT_HELP),
    config: Path | None = typer.Option(None, "--config", help="Endpoint config JSON file."),
    instances: int = typer.Option(1, "--instances", min=1, max=64, help="Worker processes."),
    shadow: list[str] = typer.Option(
        [], "--shadow", help="A shadow variant NAME=MODEL[:MIRROR_PERCENT[:INSTANCES]]."
    ),
    data_capture: float | None = typer.Option(
        None, "--data-capture", min=0, max=100, help="Capture this % of requests to the lake."
    ),
    capture_destination: str = typer.Option("datacapture", "--capture-destination"),
    routing: str | None = typer.Option(None, "--routing", help="weighted (default) or bandit."),
    bandit: str | None = typer.Option(
        None, "--bandit", help="Bandit routing: thompson or epsilon-greedy."
    ),
    autoscale: str | None = typer.Option(
        None, "--autoscale", help="MIN:MAX:TARGET invocations per instance per minute."
    ),
    batching: str | None = typer.Option(
        None, "--batching", help="Dynamic batching MAX_BATCH_SIZE[:MAX_DELAY_MS]."
    ),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="Gateway port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Gateway address."),
    json_output: bool = JsonOption,
) -> None:
    """Start an endpoint (and its gateway if none runs on the port); wait until InService."""
    from sagebox.cli._endpoint_options import endpoint_config_from_options
    from sagebox.serving import EndpointClient

    spec = endpoint_config_from_options(
        model,
        config,
        variant,
        instances,
        shadow,
        data_capture,
        capture_destination,
        routing,
        bandit,
        autoscale,
        batching,
    )
    with console.status(f"starting endpoint {name}"):
        endpoint = EndpointClient().create(name, config=spec, port=port, host=host)
    if json_output:
        print_json(endpoint)
    else:
        console.print(f"{name}: InService at {endpoint.url}/endpoints/{name}/invocations")


@app.command("update")
def update(
    name: str = typer.Argument(..., help="Endpoint name."),
    model: str | None = typer.Option(None, "--model", help="New model (one-variant endpoint)."),
    variant: list[str] = typer.Option([], "--variant", help=_VARIANT_HELP),
    config: Path | None = typer.Option(None, "--config", help="New endpoint config JSON file."),
    strategy: str = typer.Option(
        "all-at-once", "--strategy", help="Traffic shifting: all-at-once, canary or linear."
    ),
    canary_size: float = typer.Option(0.1, "--canary-size", min=0.001, max=1.0),
    linear_step: float = typer.Option(0.25, "--linear-step", min=0.001, max=1.0),
    wait_interval: float = typer.Option(10.0, "--wait", min=0, help="Bake seconds per step."),
    bake: float = typer.Option(0.0, "--bake", min=0, help="Bake seconds after the last step."),
    alarm_error_rate: float | None = typer.Option(None, "--alarm-error-rate", min=0, max=1),
    alarm_p99_ms: float | None = typer.Option(None, "--alarm-p99-ms", min=0),
    alarm_window: float = typer.Option(10.0, "--alarm-window", min=0.1),
    alarm_min_invocations: int = typer.Option(10, "--alarm-min-invocations", min=1),
    rollback: bool = typer.Option(True, "--rollback/--no-rollback"),
    weights: str | None = typer.Option(None, "--weights", help="In place: v1=0.9,v2=0.1."),
    set_instances: str | None = typer.Option(None, "--instances", help="In place: v1=2,v2=1."),
    wait: bool = typer.Option(True, "--wait-done/--no-wait-done", help="Wait for the end."),
    json_output: bool = JsonOption,
) -> None:
    """Blue/green update with traffic shifting and rollback, or change weights in place."""
    from sagebox.cli._endpoint_options import (
        deployment_from_options,
        endpoint_config_from_options,
        parse_pairs,
    )
    from sagebox.serving import EndpointClient

    client = EndpointClient()
    if weights or set_instances:
        counts = {k: int(v) for k, v in parse_pairs(set_instances, "instances").items()}
        state = client.update_weights(name, parse_pairs(weights, "weights"), counts)
        if json_output:
            print_json(state)
        else:
            shares = {n: v["traffic_share"] for n, v in state["variants"].items()}
            console.print(f"{name}: traffic shares {shares}")
        return
    spec = None
    if config is not None or variant:
        spec = endpoint_config_from_options(
            None, config, variant, 1, [], None, "", None, None, None, None
        )
    policy = deployment_from_options(
        strategy,
        canary_size,
        linear_step,
        wait_interval,
        bake,
        alarm_error_rate,
        alarm_p99_ms,
        alarm_window,
        alarm_min_invocations,
        rollback,
    )
    with console.status(f"updating endpoint {name} ({strategy})"):
        record = client.update(name, config=spec, model_name=model, deployment=policy, wait=wait)
    if json_output:
        print_json(record)
        return
    console.print(
        f"{name}: deployment {record.get('status')}"
        + (f" ({record['reason']})" if record.get("reason") else "")
    )


@app.command("invoke")
def invoke(
    name: str = typer.Argument(..., help="Endpoint name."),
    body: str | None = typer.Option(None, "--body", help="Request body (default: --file)."),
    file: Path | None = typer.Option(None, "--file", help="Read the request body from a file."),
    content_type: str = typer.Option("application/json", "--content-type"),
    accept: str = typer.Option("application/json", "--accept"),
    target_variant: str | None = typer.Option(None, "--variant", help="Send to this variant."),
    target_model: str | None = typer.Option(None, "--target-model", help="Multi-model target."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show variant and inference id."),
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
    result = EndpointClient().invoke_detailed(
        name, body, content_type, accept, target_variant, target_model
    )
    if verbose:
        typer.echo(
            f"variant={result.variant} inference_id={result.inference_id} "
            f"model_ms={result.model_latency_ms:.2f}",
            err=True,
        )
    out = result.body
    typer.echo(out if isinstance(out, str) else json.dumps(out))


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
    name: str = typer.Argument(..., help="Endpoint name."),
    live: bool = typer.Option(False, "--live", help="Live state from the server (metrics)."),
    events: bool = typer.Option(False, "--events", help="Only the recorded events."),
    json_output: bool = JsonOption,
) -> None:
    """Show one endpoint: its record, or with --live its variants, metrics and deployment."""
    from sagebox.serving import EndpointClient

    client = EndpointClient()
    if events:
        items = client.describe(name).config.get("events", [])
        if json_output:
            print_json(items)
        else:
            for e in items:
                detail = {k: v for k, v in e.items() if k not in ("time", "kind")}
                console.print(f"{e['time']}  {e['kind']:<22} {detail}")
        return
    if live:
        print_json(client.status(name))
        return
    print_record(client.describe(name), json_output)


@app.command("metrics")
def metrics(
    name: str = typer.Argument(..., help="Endpoint name."),
    prometheus: bool = typer.Option(False, "--prometheus", help="Prometheus text format."),
    json_output: bool = JsonOption,
) -> None:
    """Per-variant invocations, errors and latency percentiles (model vs overhead)."""
    from sagebox.serving import EndpointClient

    result = EndpointClient().metrics(name, prometheus=prometheus)
    if prometheus:
        typer.echo(result, nl=False)
    elif json_output:
        print_json(result)
    else:
        rows = [
            {
                "variant": n,
                "role": v["role"],
                "share": v["traffic_share"],
                "instances": v["instances"],
                "invocations": v["invocations"],
                "4xx": v["errors_4xx"],
                "5xx": v["errors_5xx"],
                "p50_ms": v["latency_ms"]["p50"],
                "p99_ms": v["latency_ms"]["p99"],
                "model_p50_ms": v["model_latency_ms"]["p50"],
                "overhead_p50_ms": v["overhead_latency_ms"]["p50"],
                "mean_batch": v.get("batching", {}).get("mean_batch_size"),
            }
            for n, v in result.get("variants", {}).items()
        ]
        print_table(rows, list(rows[0]) if rows else ["variant"], title=name)


@app.command("reward")
def reward(
    name: str = typer.Argument(..., help="Endpoint name."),
    inference_id: str = typer.Option(..., "--inference-id", help="From X-Sagebox-Inference-Id."),
    value: float = typer.Option(..., "--reward", min=0.0, max=1.0, help="Reward in [0, 1]."),
) -> None:
    """Feed a bandit reward back for one answered request."""
    from sagebox.serving import EndpointClient

    result = EndpointClient().reward(name, inference_id, value)
    console.print(f"credited {value:g} to variant {result['variant']}")


@app.command("fault")
def fault(
    name: str = typer.Argument(..., help="Endpoint name."),
    variant: str = typer.Option(..., "--variant", help="Variant whose workers should fail."),
    fleet: str | None = typer.Option(
        None,
        "--fleet",
        help="production, green (the new fleet of an update) or shadow; "
        "needed when the name is in two fleets.",
    ),
    error_rate: float = typer.Option(1.0, "--error-rate", min=0.0, max=1.0),
    seconds: float = typer.Option(10.0, "--seconds", min=0.0, max=3600.0),
) -> None:
    """Fault drill: make one fleet's variant answer 500 to a share of requests for a while.

    Only servers started for testing (`sagebox serve --enable-fault-injection`) accept it.
    """
    from sagebox.serving import EndpointClient

    result = EndpointClient().inject_fault(name, variant, error_rate, seconds, fleet=fleet)
    console.print(
        f"{name}/{variant} ({result.get('fleet', fleet)} fleet): failing {error_rate:.0%} "
        f"of requests for {seconds:g} s"
    )


@app.command("delete")
def delete(name: str = typer.Argument(..., help="Endpoint name.")) -> None:
    """Stop an endpoint and delete it."""
    from sagebox.serving import EndpointClient

    EndpointClient().delete(name)
    console.print(f"deleted endpoint {name}")
