"""``sagebox debug``: rule statuses of a training job, its profiler report, the built-in rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from sagebox.cli._output import JsonOption, console, print_json

app = typer.Typer(
    help="Training debugger and profiler: rule statuses, profiler reports, built-in rules.",
    no_args_is_help=True,
)

#: Rich styles of the rule statuses, shared with ``sagebox jobs watch``.
STATUS_STYLES = {
    "IssuesFound": "bold red",
    "Error": "yellow",
    "InProgress": "cyan",
    "NoIssuesFound": "green",
    "NotEvaluated": "dim",
}


@app.command("rules")
def rules(
    job: str = typer.Argument(..., help="Training job name."), json_output: bool = JsonOption
) -> None:
    """Show the status of every rule watching a job: kind, status, step and message.

    Rules configured on the job that have not been evaluated yet are listed as NotEvaluated.

    Example: ``sagebox debug rules training-20261127-174401-3fa2``
    """
    from sagebox.profiler import rule_evaluations, rule_rows
    from sagebox.session import Session

    session = Session()
    record = session.metadata.get_job(job)
    rows = rule_rows(record, rule_evaluations(session, job))
    if json_output:
        print_json(
            [
                {
                    "rule": r.name,
                    "kind": r.kind,
                    "status": r.status,
                    "step": r.step,
                    "message": r.message,
                    "recommendation": r.recommendation,
                    "parameters": r.parameters,
                    "evidence": r.evidence,
                    "actions": r.actions,
                    "updated_at": r.updated_at,
                }
                for r in rows
            ]
        )
        return
    if not rows:
        console.print(
            f"job {job} has no rules; train with rules (e.g. `sagebox train --rule overfit`) "
            "and see `sagebox debug list-rules`",
            highlight=False,
        )
        return
    console.print(rules_table(rows, title=f"rules of {job} ({record.status.value})"))


def rules_table(rows: list[Any], title: str | None = None) -> Any:
    """A Rich table of rule rows (:class:`sagebox.profiler.RuleRow`)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title)
    for column in ("rule", "kind", "status", "step", "message"):
        table.add_column(column, justify="right" if column == "step" else "left")
    for r in rows:
        table.add_row(
            r.name,
            r.kind,
            Text(r.status, style=STATUS_STYLES.get(r.status, "")),
            "" if r.step is None else str(r.step),
            Text(r.message),
        )
    return table


@app.command("report")
def report(
    job: str = typer.Argument(..., help="Training job name."),
    out: Path = typer.Option(
        Path("profiler-report.html"), "--out", "-o", help="HTML file to write."
    ),
    open_browser: bool = typer.Option(
        False, "--open", help="Open the report in the default web browser."
    ),
    json_output: bool = JsonOption,
) -> None:
    """Write a job's profiler report: summary, rules, utilisation, CPU heat map, step timings.

    The page is self-contained (it works offline). It can be written while the job runs.

    Example: ``sagebox debug report training-20261127-174401-3fa2 --out report.html --open``
    """
    from sagebox.profiler.report import write_profiler_report

    with console.status(f"writing the profiler report of {job}"):
        path = write_profiler_report(job, out)
    if json_output:
        print_json({"job": job, "path": path.resolve()})
    else:
        console.print(f"wrote {path}", highlight=False)
    if open_browser:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


@app.command("list-rules")
def list_rules(
    kind: str | None = typer.Option(
        None, "--kind", help="Only rules of this kind: debugger or profiler."
    ),
    json_output: bool = JsonOption,
) -> None:
    """List the built-in rules with their kind, parameters (and defaults) and description.

    Rules are named as in SageMaker (``Overfit``) or in snake_case (``overfit``).
    """
    from sagebox.debugger.rule import get_rule, rule_names
    from sagebox.errors import InputDataError

    if kind not in (None, "debugger", "profiler"):
        raise InputDataError(f"unknown rule kind {kind!r}", hint="use debugger or profiler")
    classes = [get_rule(name) for name in rule_names()]
    classes = [c for c in classes if kind is None or c.kind == kind]
    classes.sort(key=lambda c: (c.kind != "debugger", c.name))
    if json_output:
        print_json(
            [
                {
                    "name": c.name,
                    "aliases": list(c.aliases),
                    "kind": c.kind,
                    "parameters": c.defaults,
                    "description": c.description,
                    "recommendation": c.recommendation,
                }
                for c in classes
            ]
        )
        return
    from rich.table import Table

    table = Table(title="built-in rules")
    for column in ("rule", "kind", "parameters (defaults)", "description"):
        table.add_column(column)
    for c in classes:
        params = ", ".join(f"{k}={v!r}" for k, v in c.defaults.items()) or "none"
        table.add_row(c.name, c.kind, params, c.description)
    console.print(table)
