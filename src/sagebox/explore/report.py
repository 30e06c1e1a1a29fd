"""Assemble the exploration report: load a table, compute its profile, render one HTML file.

The report is self-contained (Plotly's JavaScript is embedded, nothing is fetched), so it opens
offline and can be mailed or attached as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagebox._html_reports import chart_div, render_report, write_report_file
from sagebox.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd

    from sagebox.session import Session

__all__ = ["ExploreReport", "explore", "load_source"]

_TABLE_NAME = re.compile(r"^[A-Za-z_][\w]*\.[A-Za-z_][\w]*$")


@dataclass
class ExploreReport:
    """Where the report went and what it found.

    Example:
        >>> report = explore("reviews.raw", out="report.html")  # doctest: +SKIP
        >>> report.rows, report.charts  # doctest: +SKIP
        (19964, ['rating_distribution', ...])
    """

    path: Path
    source: str
    rows: int
    columns: int
    charts: list[str] = field(default_factory=list)
    roles: dict[str, Any] = field(default_factory=dict)


def load_source(
    source: str | pd.DataFrame, session: Session | None = None, sample: int | None = None
) -> tuple[pd.DataFrame, str]:
    """The rows to explore and a label: a catalog table (``db.table``), a lake location or a frame.

    Raises:
        InputDataError: an empty table, or a location in no known format.
        NotFoundError: a table that is not in the catalog (close names hinted).
    """
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        frame = source if sample is None else source.head(sample)
        return frame, "DataFrame"
    from sagebox.session import Session

    session = session or Session()
    if _TABLE_NAME.match(source) and "://" not in source:
        from sagebox.sql import SqlEngine, quote_identifier

        database, _, name = source.partition(".")
        table = session.catalog.get_table(database, name)
        limit = f" USING SAMPLE {int(sample)} ROWS (reservoir, 0)" if sample else ""
        query = (
            f"SELECT * FROM {quote_identifier(table.database)}.{quote_identifier(table.name)}"
            f"{limit}"
        )
        frame = SqlEngine(session).execute(query).to_pandas()
        return frame, f"{table.full_name} ({table.location})"
    from sagebox import lake

    location = lake.locate(source, session)
    files = lake.list_files(location, ("csv", "json", "parquet"), session)
    reader: dict[str, Callable[..., Any]] = {
        "csv": lake.read_csv,
        "json": lake.read_json,
        "parquet": lake.read_parquet,
    }
    frame = reader[files[0].format.kind](location, session=session)
    assert isinstance(frame, pd.DataFrame)
    return (frame if sample is None else frame.head(sample)), location.uri


def explore(
    source: str | pd.DataFrame,
    out: str | Path,
    *,
    session: Session | None = None,
    title: str | None = None,
    sample: int | None = None,
) -> ExploreReport:
    """Write an HTML exploration report of a table, a lake location or a DataFrame.

    Args:
        source: ``database.table``, a lake key/URI of data files, or a pandas DataFrame.
        out: the HTML file to write (replaced atomically).
        session: whose catalog and lake to use.
        title: the report's heading (default: the source).
        sample: explore a random sample of this many rows (all rows by default).

    Returns:
        An :class:`ExploreReport`.

    Raises:
        InputDataError: the source has no rows.
    """
    from sagebox.explore import charts
    from sagebox.explore.stats import (
        PERCENTILES,
        find_roles,
        profile_columns,
        sentiment_series,
        text_summary,
    )

    frame, label = load_source(source, session, sample)
    if frame.empty:
        raise InputDataError(f"{label} has no rows to explore", hint="check the table or filter")
    roles = find_roles(frame)
    sentiment = sentiment_series(frame, roles)
    profiles = profile_columns(frame)
    review_charts: list[tuple[str, Any, str]] = []
    if roles.rating is not None:
        review_charts.append(
            ("rating_distribution", charts.rating_distribution(frame[roles.rating]), "")
        )
    if sentiment is not None:
        review_charts.append(
            ("sentiment_distribution", charts.sentiment_distribution(sentiment), "")
        )
    if roles.category is not None:
        review_charts.append(
            ("reviews_per_category", charts.reviews_per_category(frame[roles.category]), "")
        )
        if sentiment is not None:
            review_charts.append(
                (
                    "sentiment_per_category",
                    charts.sentiment_per_category(frame[roles.category], sentiment),
                    "",
                )
            )
    text_charts: list[tuple[str, Any, str]] = []
    text = None
    if roles.text is not None:
        text = text_summary(frame[roles.text], sentiment, roles.text)
        text_charts.append(
            (
                "length_distribution",
                charts.length_distribution(frame[roles.text], sentiment),
                "wide",
            )
        )
        text_charts.append(("top_terms", charts.top_terms(text), "wide"))
    column_charts = [("missing_values", charts.missing_values(profiles), "wide")]
    if len(review_charts) % 2:
        name, fig, _ = review_charts[-1]
        review_charts[-1] = (name, fig, "wide")
    notes = []
    if roles.sentiment_derived:
        notes.append(
            f"Sentiment is derived from the column {roles.rating} as in the course: ratings "
            "1-2 → negative, 3 → neutral, 4-5 → positive."
        )
    if sample:
        notes.append(f"Computed on a random sample of {len(frame):,} rows.")
    duplicates = int(frame.astype(str).duplicated().sum())
    missing_cells = sum(p.missing for p in profiles)
    cards = [
        ("rows", f"{len(frame):,}"),
        ("columns", f"{len(frame.columns)}"),
        ("missing cells", f"{100 * missing_cells / max(1, frame.size):.1f}%"),
        ("duplicate rows", f"{duplicates:,}"),
    ]
    if sentiment is not None:
        shares = sentiment.value_counts(normalize=True)
        cards.append(("positive / negative", f"{shares.get(1, 0):.0%} / {shares.get(-1, 0):.0%}"))
    if roles.category is not None:
        cards.append(("categories", f"{frame[roles.category].nunique():,}"))
    all_charts = {"reviews": review_charts, "text": text_charts, "columns": column_charts}
    html = _render(
        title=title or (label.split(" ")[0] if isinstance(source, str) else "DataFrame"),
        source=label,
        rows=len(frame),
        columns=profiles,
        cards=cards,
        notes=notes,
        text=text,
        percentile_names=[f"p{p}" for p in PERCENTILES] + ["mean", "max"],
        charts={k: [_chart(*c) for c in v] for k, v in all_charts.items()},
    )
    path = Path(out)
    write_report_file(path, html)
    return ExploreReport(
        path=path,
        source=label,
        rows=len(frame),
        columns=len(frame.columns),
        charts=[name for group in all_charts.values() for name, _, _ in group],
        roles={k: v for k, v in roles.__dict__.items() if v},
    )


def _chart(name: str, fig: Any, css: str) -> dict[str, str]:
    div = chart_div(name, fig)
    assert div is not None
    return {**div, "css": css}


def _render(**context: Any) -> str:
    filters = {"thousands": lambda n: f"{int(n):,}", "number": _number}
    return render_report("sagebox.explore", "report.html.j2", filters, **context)


def _number(value: Any) -> str:
    if value == "" or value is None:
        return ""
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:,.2f}"
