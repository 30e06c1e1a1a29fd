"""Self-contained HTML reports (jinja2 + plotly, the plotly library embedded for offline use)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sagebox.clarify._results import BiasResultData
from sagebox.clarify.glossary import METRICS, POST_TRAINING, PRE_TRAINING

__all__ = ["figure_html", "metric_table", "render", "render_bias_report"]

TEMPLATES = Path(__file__).parent / "templates"
PALETTE = {"-1": "#d64545", "0": "#f0b429", "1": "#3e9b6f"}
MIN_CHART_ROWS = 30
NEUTRAL_METRICS = {"CI", "GE"}  # their sign says nothing about which group is favoured
FALLBACK_COLORS = ["#486581", "#9fb3c8", "#f0b429", "#d64545", "#3e9b6f", "#8862c9"]


def render(template: str, **context: Any) -> str:
    """Render ``template`` with the plotly library, version and time filled in."""
    import jinja2
    from plotly.offline import get_plotlyjs

    from sagebox._version import __version__

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["j2"])
    )
    return env.get_template(template).render(
        plotly_js=get_plotlyjs(),
        version=__version__,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        **context,
    )


def figure_html(fig: Any, div_id: str) -> str:
    """A plotly figure as a ``<div>`` (the library itself is embedded once, in the page head)."""
    fig.update_layout(
        template="plotly_white",
        font={"family": "-apple-system, Segoe UI, Roboto, Arial, sans-serif", "size": 12},
        margin={"l": 10, "r": 10, "t": 56, "b": 10},
    )
    return fig.to_html(
        full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False}
    )


def _value(entry: dict[str, Any]) -> float | None:
    value = entry["value"]
    if isinstance(value, str):
        return float("inf") if value == "Infinity" else float("-inf")
    return value


def _fmt(entry: dict[str, Any]) -> str:
    value = entry["value"]
    if value is None:
        return f'<td class="err" title="{html.escape(entry.get("error", ""))}">—</td>'
    if isinstance(value, str):
        return f"<td>{'∞' if value == 'Infinity' else '−∞'}</td>"
    return f"<td>{value:+.4f}</td>" if entry["name"] != "DI" else f"<td>{value:.4f}</td>"


def metric_table(
    entries: list[dict[str, Any]], names: tuple[str, ...], rows: dict[str, int]
) -> str:
    """An HTML table: one row per facet value, one column per metric (undefined shown as —)."""
    head = "".join(f'<th title="{html.escape(METRICS[n].description)}">{n}</th>' for n in names)
    body = []
    for entry in entries:
        by_name = {m["name"]: m for m in entry["metrics"]}
        label = html.escape(entry["value_or_threshold"])
        cells = "".join(_fmt(by_name[n]) for n in names if n in by_name)
        body.append(
            f"<tr><td>{label}</td><td>{rows.get(entry['value_or_threshold'], 0):,}</td>{cells}</tr>"
        )
    return (
        f"<table><thead><tr><th>facet value</th><th>rows</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _metric_bars(entries: list[dict[str, Any]], names: tuple[str, ...], div_id: str) -> str:
    import math

    from plotly.subplots import make_subplots

    names = tuple(
        n
        for n in names
        if any(_value(m) is not None for e in entries for m in e["metrics"] if m["name"] == n)
    )
    if not names:
        return '<p class="muted">No metric is defined for this facet.</p>'
    cols = 4
    nrows = math.ceil(len(names) / cols)
    labels = [e["value_or_threshold"] for e in entries]
    fig = make_subplots(
        rows=nrows,
        cols=cols,
        subplot_titles=names,
        shared_yaxes=True,
        horizontal_spacing=0.03,
        vertical_spacing=0.12 / nrows,
    )
    for k, name in enumerate(names):
        values = []
        for e in entries:
            m = next(x for x in e["metrics"] if x["name"] == name)
            v = _value(m)
            values.append(None if v is None or math.isinf(v) else v)
        fig.add_bar(
            x=values,
            y=labels,
            orientation="h",
            row=k // cols + 1,
            col=k % cols + 1,
            marker_color=_colors(name, values),
            hovertemplate=f"{name} %{{y}}: %{{x:.4f}}<extra></extra>",
            showlegend=False,
        )
        fig.add_vline(
            x=0, line_dash="dash", line_color="#9aa5b1", row=k // cols + 1, col=k % cols + 1
        )
    fig.update_yaxes(autorange="reversed", tickfont={"size": 11})
    fig.update_layout(height=max(260, 22 * len(labels) + 80) * nrows, bargap=0.25)
    return figure_html(fig, div_id)


def _colors(name: str, values: list[float | None]) -> list[str] | str:
    if name in NEUTRAL_METRICS:
        return "#829ab1"
    return ["#d9822b" if (v or 0) > 0 else "#486581" for v in values]


def _charted(sizes: dict[str, int]) -> set[str]:
    """Facet values big enough to chart (tiny ones would stretch every axis); all if none is."""
    big = {v for v, n in sizes.items() if n >= MIN_CHART_ROWS}
    return big or set(sizes)


def _distribution(facet: str, result: BiasResultData, div_id: str) -> str:
    import plotly.graph_objects as go

    stats = result.details["data"]["facets"][facet]
    shown = _charted({s["value_or_threshold"]: s["rows"] for s in stats})
    stats = [s for s in stats if s["value_or_threshold"] in shown]
    classes = result.details.get("label_classes")
    if not classes or not all("label_counts" in s for s in stats):
        return ""
    positive = result.details["data"]["label_value_or_threshold"].split(",")
    share = lambda s, c: s["label_counts"][c] / s["rows"] if s["rows"] else 0.0  # noqa: E731
    order = sorted(
        stats, key=lambda s: sum(share(s, c) for c in positive if c in s["label_counts"])
    )
    fig = go.Figure()
    for i, c in enumerate(classes):
        fig.add_bar(
            name=f"label {c}",
            orientation="h",
            y=[f"{s['value_or_threshold']} ({s['rows']})" for s in order],
            x=[share(s, c) for s in order],
            marker_color=PALETTE.get(c, FALLBACK_COLORS[i % len(FALLBACK_COLORS)]),
            hovertemplate=f"%{{y}}: %{{x:.1%}} label {c}<extra></extra>",
        )
    fig.update_layout(
        barmode="stack",
        height=max(240, 24 * len(order) + 90),
        xaxis={"tickformat": ".0%", "range": [0, 1]},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "traceorder": "normal"},
    )
    return figure_html(fig, div_id)


def _matrix(facet: str, result: BiasResultData, div_id: str) -> str:
    import plotly.graph_objects as go

    ovr = result.details.get("one_vs_rest")
    if not ovr:
        return ""
    rows = [r for r in ovr["rows"] if r["facet"] == facet and r["metric"] == "DPL"]
    sizes = {s["value_or_threshold"]: s["rows"] for s in result.details["data"]["facets"][facet]}
    shown = _charted(sizes)
    values = sorted(
        (v for v in dict.fromkeys(r["value_or_threshold"] for r in rows) if v in shown),
        key=lambda v: -sizes[v],
    )
    classes = ovr["label_values"]
    cell = {(r["value_or_threshold"], r["positive_label"]): r for r in rows}
    z, text, hover = [], [], []
    for v in values:
        cells = [cell[v, c] for c in classes]
        z.append([r["value"] for r in cells])
        text.append([_signed(r["value"], 3) for r in cells])
        hover.append([_matrix_hover(v, c, r) for c, r in zip(classes, cells, strict=True)])
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"label {c}" for c in classes],
            y=values,
            text=text,
            texttemplate="%{text}",
            hovertext=hover,
            hoverinfo="text",
            colorscale="RdBu",
            reversescale=True,
            zmid=0,
            colorbar={"title": "DPL"},
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=max(260, 24 * len(values) + 90))
    return figure_html(fig, div_id)


def _signed(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:+.{digits}f}"


def _matrix_hover(value: str, label: str, row: dict[str, Any]) -> str:
    text = f"{value}, label {label} positive: DPL {_signed(row['value'], 4)}"
    if row.get("ci_low") is not None:
        text += f"<br>95% CI [{_signed(row['ci_low'], 4)}, {_signed(row['ci_high'], 4)}]"
    return text


def render_bias_report(result: BiasResultData) -> str:
    """The bias report page of ``result``."""
    config = result.config
    details = result.details
    pre = result.analysis["pre_training_bias_metrics"]["facets"]
    post = result.analysis.get("post_training_bias_metrics", {}).get("facets", {})
    facets = []
    for i, name in enumerate(pre):
        rows = {s["value_or_threshold"]: s["rows"] for s in details["data"]["facets"][name]}
        pre_sorted = sorted(pre[name], key=lambda e: -rows[e["value_or_threshold"]])
        post_sorted = sorted(post.get(name, []), key=lambda e: -rows[e["value_or_threshold"]])
        shown = _charted(rows)
        hidden = [v for v in rows if v not in shown]
        facets.append(
            {
                "name": name,
                "distribution": _distribution(name, result, f"dist-{i}"),
                "hidden": hidden,
                "pre_chart": _metric_bars(
                    [e for e in pre_sorted if e["value_or_threshold"] in shown],
                    PRE_TRAINING,
                    f"pre-{i}",
                ),
                "pre_table": metric_table(pre_sorted, PRE_TRAINING, rows),
                "matrix_chart": _matrix(name, result, f"ovr-{i}"),
                "post_chart": (
                    _metric_bars(
                        [e for e in post_sorted if e["value_or_threshold"] in shown],
                        POST_TRAINING,
                        f"post-{i}",
                    )
                    if post_sorted
                    else ""
                ),
                "post_table": (
                    metric_table(post_sorted, POST_TRAINING, rows) if post_sorted else ""
                ),
            }
        )
    predictions = details["data"].get("predictions") or (
        f"column {config.predicted_label}"
        if config.predicted_label
        else f"column {config.probability} > {config.probability_threshold}"
        if config.probability
        else "none (pre-training metrics only)"
    )
    listed = PRE_TRAINING + (POST_TRAINING if post else ())
    return render(
        "bias_report.html.j2",
        title="Bias report",
        subtitle=(
            f"label {config.label}, facet(s) {', '.join(pre)}, {details['data']['rows']:,} rows"
        ),
        config=config,
        data=details["data"],
        facet_names=list(pre),
        predictions=predictions,
        findings=details["summary"]["flags"],
        facets=facets,
        bootstrap=details.get("one_vs_rest", {}).get("bootstrap", 0),
        min_chart_rows=MIN_CHART_ROWS,
        glossary=[METRICS[n] for n in listed],
    )
