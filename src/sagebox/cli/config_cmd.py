"""``sagebox config``: show the effective settings and where each came from."""

from __future__ import annotations

import typer

from sagebox.cli._output import JsonOption, print_json, print_table

app = typer.Typer(help="Show sagebox's settings.", no_args_is_help=True)


@app.command("show")
def show(json_output: bool = JsonOption) -> None:
    """Print every setting with its value and source (env, sagebox.toml, a profile or default).

    Passwords, tokens and keys in URIs are shown as ``***``.
    """
    from sagebox.config import load_settings, settings_sources
    from sagebox.errors import redact_uri

    load_settings()  # validate first, so a bad value is reported as an error
    sources = settings_sources()
    rows = [{"setting": k, "value": redact_uri(v), "source": s} for k, (v, s) in sources.items()]
    if json_output:
        print_json({r["setting"]: r["value"] for r in rows})
    else:
        print_table(rows, ["setting", "value", "source"], title="sagebox settings")
