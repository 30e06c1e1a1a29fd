"""The ``sagebox`` command: mounts each command group and turns user errors into one-liners."""

from __future__ import annotations

import os
import sys

import typer

from sagebox.cli import (
    catalog_cmd,
    clarify_cmd,
    config_cmd,
    crawl_cmd,
    datasets,
    debug_cmd,
    demo_cmd,
    encoders_cmd,
    endpoints_cmd,
    explore_cmd,
    features_cmd,
    jobs_cmd,
    lake_cmd,
    models_cmd,
    process_cmd,
    serve_cmd,
    sql_cmd,
    train_cmd,
    tune_cmd,
)

app = typer.Typer(
    name="sagebox",
    help="sagebox: SageMaker's machine-learning workflow on your laptop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(datasets.app, name="datasets")
app.add_typer(jobs_cmd.app, name="jobs")
app.add_typer(debug_cmd.app, name="debug")
app.add_typer(models_cmd.app, name="models")
app.add_typer(endpoints_cmd.app, name="endpoints")
app.add_typer(encoders_cmd.app, name="encoders")
app.add_typer(clarify_cmd.app, name="clarify")
app.add_typer(lake_cmd.app, name="lake")
app.add_typer(catalog_cmd.app, name="catalog")
app.add_typer(features_cmd.app, name="features")
app.add_typer(tune_cmd.app, name="tune")
app.command("crawl")(crawl_cmd.crawl)
app.command("sql")(sql_cmd.sql)
app.command("explore")(explore_cmd.explore)
app.command("demo")(demo_cmd.demo)
app.command("evaluate")(demo_cmd.evaluate)
app.command("train")(train_cmd.train)
app.command("serve")(serve_cmd.serve)
app.command("transform")(serve_cmd.transform)
app.command("process")(process_cmd.process)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if debug:
        os.environ["SAGEBOX_DEBUG"] = "1"
    if version:
        from importlib.metadata import version as pkg_version

        typer.echo(pkg_version("sagebox"))
        raise typer.Exit()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; print SageboxErrors as ``error: ...`` / ``hint: ...`` and exit 1."""
    from sagebox.errors import SageboxError

    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        app(args=argv, standalone_mode=True)
    except SageboxError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            typer.echo(f"hint: {exc.hint}", err=True)
        return 1
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
