"""``sagebox serve`` (the serving supervisor) and ``sagebox transform`` (batch scoring)."""

from __future__ import annotations

import typer

from sagebox.cli._output import JsonOption, console, print_json


def serve(
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="Gateway port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Gateway address."),
    enable_fault_injection: bool = typer.Option(
        False,
        "--enable-fault-injection",
        help="Allow `endpoints fault` drills (tests only; or SAGEBOX_ENABLE_FAULT_INJECTION=1).",
    ),
) -> None:
    """Run the serving supervisor and gateway in the foreground (Ctrl-C stops it).

    The admin API needs the token made at first start in $SAGEBOX_HOME/serving/admin-token
    (the CLI sends it). Fault injection is refused unless --enable-fault-injection is given.

    It serves every endpoint recorded for this host and port, restarts workers that die,
    autoscales, and runs deployments. `sagebox endpoints create` starts one in the background
    when none runs on the port.
    """
    from sagebox.serving import ensure_port_free
    from sagebox.serving import serve as run_foreground

    ensure_port_free(host, port)
    run_foreground(host, port, fault_injection=enable_fault_injection)


def transform(
    model: str = typer.Option(..., "--model", help="Registered model."),
    input: str = typer.Option(..., "--input", help="Lake key or URI of a file or prefix."),
    output: str = typer.Option(..., "--output", help="Lake prefix for the .out files."),
    content_type: str | None = typer.Option(
        None, "--content-type", help="text/csv, application/jsonlines or text/plain."
    ),
    split_type: str = typer.Option("Line", "--split-type", help="Line or None."),
    strategy: str = typer.Option("MultiRecord", "--strategy", help="MultiRecord or SingleRecord."),
    max_payload_mb: float = typer.Option(6.0, "--max-payload-mb"),
    max_records: int = typer.Option(500, "--max-records", help="Records per request at most."),
    concurrency: int = typer.Option(2, "--concurrency", min=1, max=32, help="Worker processes."),
    header: bool = typer.Option(False, "--header", help="The CSV input has a header row."),
    join_source: str = typer.Option("None", "--join-source", help="None or Input."),
    input_filter: str = typer.Option("$", "--input-filter", help="JSONPath, e.g. $[4]."),
    output_filter: str = typer.Option("$", "--output-filter", help="JSONPath on the output."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait for the job to end."),
    json_output: bool = JsonOption,
) -> None:
    """Score lake files with a model as a batch transform job."""
    from sagebox.serving import TransformClient

    with console.status("batch transform"):
        job = TransformClient().run(
            model,
            input,
            output,
            wait=wait,
            content_type=content_type,
            split_type=split_type,
            batch_strategy=strategy,
            max_payload_mb=max_payload_mb,
            max_records_per_request=max_records,
            max_concurrent_transforms=concurrency,
            header=header,
            join_source=join_source,
            input_filter=input_filter,
            output_filter=output_filter,
        )
    if json_output:
        print_json(job)
    else:
        console.print(
            f"job {job.name}: {job.status.value}"
            + (f" ({job.failure_reason})" if job.failure_reason else "")
        )
        for name, uri in job.outputs.items():
            console.print(f"  {name} -> {uri}")
        if job.metrics:
            console.print(
                f"  {int(job.metrics.get('records', 0))} records, "
                f"{job.metrics.get('records_per_second', 0):.0f} records/s"
            )
    # a job that ended without completing is a failed command (as `jobs wait` and `process`)
    if wait and job.status.value != "Completed":
        raise typer.Exit(1)
