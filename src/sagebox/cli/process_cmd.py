"""``sagebox process``: run a processing script or function over lake inputs on N workers."""

from __future__ import annotations

import typer

from sagebox.cli._output import JsonOption, console, print_json


def _pairs(values: list[str], what: str) -> dict[str, str]:
    from sagebox.errors import InputDataError

    out: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not key or (not sep and what != "--output"):
            raise InputDataError(f"bad {what} {value!r}", hint=f"write {what} NAME=VALUE")
        if key in out:
            raise InputDataError(f"{what} {key!r} given twice", hint="give each name once")
        out[key] = item
    return out


def process(
    code: str = typer.Argument(..., help="Script (.py, .sh) or module:function to run."),
    arguments: list[str] | None = typer.Argument(
        None, help="The script's arguments (after --); /opt/ml/... paths are mapped."
    ),
    input_: list[str] = typer.Option(
        [], "--input", "-i", help="NAME=SOURCE lake location (repeatable)."
    ),
    sharded: list[str] = typer.Option(
        [], "--sharded", help="Input NAME to deal out among workers (ShardedByKey)."
    ),
    input_destination: list[str] = typer.Option(
        [], "--input-destination", help="NAME=/opt/ml/processing/... (default input/NAME)."
    ),
    output: list[str] = typer.Option(
        [], "--output", "-o", help="NAME[=DESTINATION lake prefix] (repeatable)."
    ),
    output_source: list[str] = typer.Option(
        [], "--output-source", help="NAME=/opt/ml/processing/... (default output/NAME)."
    ),
    continuous: list[str] = typer.Option(
        [], "--continuous", help="Output NAME to upload while the job runs."
    ),
    instance_count: int = typer.Option(1, "--instance-count", "-n", min=1, help="Workers."),
    instance_type: str = typer.Option(
        "local",
        "--instance-type",
        help="What each worker reserves on a cluster node (ray://): local (1 CPU), local:N "
        "(N CPUs) or an ml.* type (its CPUs, memory and GPUs, e.g. ml.m5.xlarge); ignored by "
        "the local backend.",
    ),
    env: list[str] = typer.Option([], "--env", "-e", help="KEY=VALUE for the workers."),
    job_name: str | None = typer.Option(None, "--job-name", help="Name of the job."),
    max_runtime: float | None = typer.Option(None, "--max-runtime", help="Seconds before fail."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait for the job to end."),
    json_output: bool = JsonOption,
) -> None:
    """Run a processing job (SageMaker Processing): inputs are copied into each worker at
    /opt/ml/processing/input/NAME, outputs are uploaded from /opt/ml/processing/output/NAME.

    Script arguments go after --, e.g.:
    sagebox process prep.py -i data=raw/ --sharded data -o train -n 2 -- --split 0.9
    """
    from sagebox.errors import InputDataError
    from sagebox.processing import ProcessingInput, ProcessingOutput, Processor

    sources = _pairs(input_, "--input")
    destinations = _pairs(input_destination, "--input-destination")
    targets = _pairs(output, "--output")
    output_sources = _pairs(output_source, "--output-source")
    for name in [*sharded, *destinations]:
        if name not in sources:
            raise InputDataError(f"no --input named {name!r}", hint="give --input NAME=SOURCE")
    for name in [*continuous, *output_sources]:
        if name not in targets:
            raise InputDataError(f"no --output named {name!r}", hint="give --output NAME")
    inputs = [
        ProcessingInput(
            source,
            destination=destinations.get(name, f"/opt/ml/processing/input/{name}"),
            input_name=name,
            distribution="ShardedByKey" if name in sharded else "FullyReplicated",
        )
        for name, source in sources.items()
    ]
    outputs = [
        ProcessingOutput(
            source=output_sources.get(name),
            destination=dest or None,
            output_name=name,
            upload_mode="Continuous" if name in continuous else "EndOfJob",
        )
        for name, dest in targets.items()
    ]
    processor = Processor(
        instance_count=instance_count,
        instance_type=instance_type,
        env=_pairs(env, "--env"),
        max_runtime_in_seconds=max_runtime,
    )
    job = processor.run(
        code,
        inputs=inputs,
        outputs=outputs,
        arguments=list(arguments or []),
        wait=False,
        job_name=job_name,
    )
    if wait:
        if json_output:
            from sagebox.jobs import JobClient

            job = JobClient(processor.session).wait(job.name)
        else:
            job = processor.wait(logs=True)
    if json_output:
        print_json(job)
    elif not wait:
        console.print(f"started {job.name} (sagebox jobs logs -f {job.name})", highlight=False)
    else:
        for name, uri in job.outputs.items():
            console.print(f"{name}: {uri}", highlight=False, soft_wrap=True)
    if wait and job.status.value != "Completed":
        raise typer.Exit(1)
