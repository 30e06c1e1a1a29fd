"""The plots of an exploration report, as Plotly figures (the course's seaborn charts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from sagebox._html_reports import CHART_FONT as _FONT

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from sagebox.explore.stats import ColumnProfile, TextSummary

__all__ = [
    "SENTIMENT_COLORS",
    "length_distribution",
    "missing_values",
    "rating_distribution",
    "reviews_per_category",
    "sentiment_distribution",
    "sentiment_per_category",
    "top_terms",
]

SENTIMENT_COLORS = {"negative": "#d64545", "neutral": "#e0a83a", "positive": "#3a9d5d"}
_ORDER = ("negative", "neutral", "positive")
_NAMES = {-1: "negative", 0: "neutral", 1: "positive"}
_ACCENT = "#3b6ea8"


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        font={"family": _FONT, "size": 12, "color": "#2b2f36"},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "xanchor": "right",
            "x": 1,
            "traceorder": "normal",
        },
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def rating_distribution(ratings: pd.Series) -> go.Figure:
    """Reviews per star rating, bars colored by the sentiment each rating maps to."""
    import plotly.graph_objects as go

    values = pd.to_numeric(ratings, errors="coerce")
    counts = values.value_counts().reindex([1, 2, 3, 4, 5], fill_value=0)
    colors = [
        SENTIMENT_COLORS[_NAMES[-1 if r <= 2 else (0 if r == 3 else 1)]] for r in counts.index
    ]
    share = counts / max(1, counts.sum())
    fig = go.Figure(
        go.Bar(
            x=[f"{r} ★" for r in counts.index],
            y=counts.to_numpy(),
            marker_color=colors,
            text=[f"{s:.0%}" for s in share],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: %{y:,} reviews<extra></extra>",
        )
    )
    fig.update_yaxes(title_text="reviews")
    return _layout(fig, "Rating distribution")


def sentiment_distribution(sentiment: pd.Series) -> go.Figure:
    """Reviews per sentiment class."""
    import plotly.graph_objects as go

    counts = sentiment.dropna().astype(int).map(_NAMES).value_counts().reindex(_ORDER, fill_value=0)
    fig = go.Figure(
        go.Bar(
            x=list(counts.index),
            y=counts.to_numpy(),
            marker_color=[SENTIMENT_COLORS[n] for n in counts.index],
            text=[f"{c:,}" for c in counts],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.update_yaxes(title_text="reviews")
    return _layout(fig, "Sentiment distribution")


def reviews_per_category(category: pd.Series, limit: int = 25) -> go.Figure:
    """Reviews per product category, largest first (the ``limit`` largest)."""
    import plotly.graph_objects as go

    counts = category.fillna("(missing)").astype(str).value_counts().head(limit)[::-1]
    fig = go.Figure(
        go.Bar(
            x=counts.to_numpy(),
            y=list(counts.index),
            orientation="h",
            marker_color=_ACCENT,
            hovertemplate="%{y}: %{x:,} reviews<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="reviews")
    return _layout(fig, "Reviews per product category", height=max(380, 22 * len(counts) + 90))


def sentiment_per_category(category: pd.Series, sentiment: pd.Series, limit: int = 25) -> go.Figure:
    """Share of each sentiment per category (100% bars), most negative categories on top."""
    import plotly.graph_objects as go

    frame = pd.DataFrame(
        {"category": category.fillna("(missing)").astype(str), "sentiment": sentiment}
    ).dropna()
    frame["sentiment"] = frame["sentiment"].astype(int).map(_NAMES)
    table = pd.crosstab(frame["category"], frame["sentiment"]).reindex(columns=_ORDER, fill_value=0)
    table = table.loc[table.sum(axis=1).sort_values(ascending=False).index[:limit]]
    shares = table.div(table.sum(axis=1).clip(lower=1), axis=0)
    order = shares.sort_values(["negative", "neutral"], ascending=True).index
    labels = [f"{c} (n={int(table.loc[c].sum()):,})" for c in order]
    fig = go.Figure()
    for name in _ORDER:
        fig.add_trace(
            go.Bar(
                name=name,
                y=labels,
                x=shares.loc[order, name].to_numpy(),
                orientation="h",
                marker_color=SENTIMENT_COLORS[name],
                customdata=table.loc[order, name].to_numpy(),
                hovertemplate="%{y}: %{x:.0%} " + name + " (%{customdata:,})<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(tickformat=".0%", range=[0, 1.02], dtick=0.2, title_text="share of reviews")
    return _layout(fig, "Sentiment mix per category", height=max(380, 22 * len(order) + 110))


def length_distribution(text: pd.Series, sentiment: pd.Series | None) -> go.Figure:
    """Histogram of review lengths in words, stacked by sentiment when it is known."""
    import plotly.graph_objects as go

    words = text.dropna().astype(str).str.split().str.len()
    fig = go.Figure()
    upper = float(words.quantile(0.995)) if len(words) else 1.0
    bins = {"start": 0, "end": upper + 1, "size": max(1.0, round(upper / 40))}
    if sentiment is None:
        fig.add_trace(go.Histogram(x=words, xbins=bins, marker_color=_ACCENT, name="reviews"))
    else:
        labels = sentiment.reindex(words.index)
        for label, name in _NAMES.items():
            subset = words[labels == label]
            if len(subset):
                fig.add_trace(
                    go.Histogram(
                        x=subset, xbins=bins, name=name, marker_color=SENTIMENT_COLORS[name]
                    )
                )
        fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="words per review")
    fig.update_yaxes(title_text="reviews")
    return _layout(fig, "Review length distribution")


def top_terms(summary: TextSummary) -> go.Figure:
    """Top terms of each sentiment, side by side."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    groups = [g for g in (*_ORDER, "all") if g in summary.top_terms]
    if not groups:  # no words at all (empty or non-text reviews): an empty chart, not a crash
        return _layout(go.Figure(), "Top terms")
    fig = make_subplots(rows=1, cols=len(groups), subplot_titles=groups, horizontal_spacing=0.12)
    rows = 1
    for index, group in enumerate(groups, start=1):
        terms = sorted(summary.top_terms[group], key=lambda pair: pair[1])
        rows = max(rows, len(terms))
        fig.add_trace(
            go.Bar(
                x=[n for _, n in terms],
                y=[t for t, _ in terms],
                orientation="h",
                marker_color=SENTIMENT_COLORS.get(group, _ACCENT),
                showlegend=False,
                hovertemplate="%{y}: %{x:,} times<extra></extra>",
            ),
            row=1,
            col=index,
        )
    title = "Top terms per sentiment (frequent, and more common there than elsewhere)"
    if groups == ["all"]:
        title = "Top terms"
    fig = _layout(fig, title, height=max(400, 22 * rows + 130))
    fig.update_layout(margin={"t": 80})
    return fig


def missing_values(profiles: list[ColumnProfile]) -> go.Figure:
    """Share of missing values per column."""
    import plotly.graph_objects as go

    names = [p.name for p in profiles][::-1]
    shares = [p.missing_pct / 100 for p in profiles][::-1]
    fig = go.Figure(
        go.Bar(
            x=shares,
            y=names,
            orientation="h",
            marker_color=["#c0504d" if s > 0 else "#c7cdd6" for s in shares],
            text=[f"{s:.1%}" if s > 0 else "" for s in shares],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.2%} missing<extra></extra>",
        )
    )
    top = max(shares, default=0.0)
    fig.update_xaxes(tickformat=".0%", range=[0, max(0.05, top * 1.25)], title_text="missing")
    return _layout(fig, "Missing values per column", height=max(300, 22 * len(names) + 90))
