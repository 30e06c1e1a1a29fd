"""What every offline HTML report shares: plotly charts as divs, a jinja2 template rendered
with plotly.js inlined (the file opens without a network), the generation time and version.

Example:
    >>> chart_div("loss", None) is None
    True
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "CHART_COLORS",
    "CHART_FONT",
    "chart_div",
    "duration_text",
    "render_report",
    "time_text",
    "write_report_file",
]


#: the font and colour cycle of every report's plotly charts
CHART_FONT = "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
CHART_COLORS = ["#3b6ea8", "#d9822b", "#3a9d5d", "#8862c9", "#c0504d", "#2aa1b3", "#a08c2e"]


def chart_div(name: str, fig: Any) -> dict[str, str] | None:
    """``{"id", "html"}`` for a plotly figure drawn in ``<div id="chart-NAME">`` (None: none)."""
    if fig is None:
        return None
    html = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{name}",
        config={"displaylogo": False, "responsive": True, "displayModeBar": False},
    )
    return {"id": name, "html": html}


def render_report(
    package: str,
    template: str,
    filters: dict[str, Callable[..., Any]] | None = None,
    **context: Any,
) -> str:
    """Render ``package``'s ``templates/<template>`` with plotly.js, the time and the version."""
    import jinja2
    import plotly.offline

    from sagebox._version import __version__

    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    env.filters.update(filters or {})
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return env.get_template(template).render(
        plotly_js=plotly.offline.get_plotlyjs(), generated=generated, version=__version__, **context
    )


def duration_text(seconds: float | None) -> str:
    """``1 h 02 min``, ``3 min 05 s`` or ``42 s`` (``—`` for None)."""
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def time_text(moment: datetime | None) -> str:
    """``2026-12-07 12:00:00 UTC`` (naive times are UTC; ``—`` for None)."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def write_report_file(path: Path, text: str) -> None:
    """Write a report so that a reader never sees half of it (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
