"""The HTML page of a SHAP explanation: top words per class, global importance, local views."""

from __future__ import annotations

import html
from typing import Any

from sagebox.clarify._results import ExplanationData
from sagebox.clarify.report import PALETTE, figure_html, render

__all__ = ["render_explain_report"]

SHOWN_REVIEWS = 12
TOP_FEATURES = 20
AGG_TEXT = {
    "mean_abs": "Mean absolute SHAP value",
    "median": "Median SHAP value",
    "mean_sq": "Mean squared SHAP value",
}


def _label(explanation: ExplanationData, name: str) -> str:
    names = explanation.info.get("label_titles", {})
    return f"{name} ({names[name]})" if name in names else name


def _top_words_chart(explanation: ExplanationData) -> str:
    from plotly.subplots import make_subplots

    labels = [n for n in explanation.label_names if explanation.top_words.get(n)]
    if not labels:
        return ""
    fig = make_subplots(
        rows=1,
        cols=len(labels),
        subplot_titles=[f"towards {_label(explanation, n)}" for n in labels],
        horizontal_spacing=0.12,
    )
    longest = 0
    for k, name in enumerate(labels, start=1):
        words = explanation.top_words[name]
        longest = max(longest, len(words))
        fig.add_bar(
            x=[w["mean_shap"] for w in words],
            y=[w["word"] for w in words],
            orientation="h",
            customdata=[w["count"] for w in words],
            row=1,
            col=k,
            showlegend=False,
            marker_color=PALETTE.get(name, "#486581"),
            hovertemplate="%{y}: %{x:+.4f} (%{customdata} occurrences)<extra></extra>",
        )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=max(320, 22 * longest + 90))
    return figure_html(fig, "top-words")


def _global_chart(explanation: ExplanationData) -> str:
    import plotly.graph_objects as go

    total: dict[str, float] = {}
    for name in explanation.label_names:
        for feature, value in explanation.global_importance[name].items():
            total[feature] = total.get(feature, 0.0) + abs(value)
    features = sorted(total, key=lambda f: -total[f])[:TOP_FEATURES]
    fig = go.Figure()
    for name in explanation.label_names:
        fig.add_bar(
            name=_label(explanation, name),
            orientation="h",
            y=features,
            x=[explanation.global_importance[name].get(f, 0.0) for f in features],
            marker_color=PALETTE.get(name),
        )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        barmode="group",
        height=max(320, 26 * len(features) + 90),
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
    )
    return figure_html(fig, "global-importance")


def _review_html(record: dict[str, Any]) -> str:
    text, label = record["text"], record["predicted_label"]
    scale = max((abs(t["shap"][label]) for t in record["tokens"]), default=0.0) or 1.0
    parts, last = [], 0
    for tok in record["tokens"]:
        parts.append(html.escape(text[last : tok["start"]]))
        value = tok["shap"][label]
        alpha = min(abs(value) / scale, 1.0) * 0.55
        color = f"rgba(0, 128, 96, {alpha:.2f})" if value > 0 else f"rgba(214, 40, 40, {alpha:.2f})"
        title = ", ".join(f"{k}: {v:+.4f}" for k, v in tok["shap"].items())
        parts.append(
            f'<span class="tok" style="background:{color}" title="{html.escape(title)}">'
            f"{html.escape(tok['token'])}</span>"
        )
        last = tok["end"]
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def _local_table(explanation: ExplanationData) -> str:
    rows = explanation.local[:SHOWN_REVIEWS]
    label = explanation.label_names[-1]
    features = list(explanation.global_importance[label])[:8]
    head = "".join(f"<th>{html.escape(f)}</th>" for f in features)
    body = "".join(
        f"<tr><td>{r['index']}</td>"
        + "".join(f"<td>{r['shap_values'][label][f]:+.4f}</td>" for f in features)
        + "</tr>"
        for r in rows
    )
    return (
        f"<p class='muted'>SHAP values towards {html.escape(label)}.</p><table><thead><tr>"
        f"<th>row</th>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def render_explain_report(explanation: ExplanationData) -> str:
    """The explanation report page."""
    reviews = []
    if explanation.kind == "text":
        for record in explanation.local[:SHOWN_REVIEWS]:
            label = record["predicted_label"]
            reviews.append(
                {
                    "index": record["index"],
                    "predicted": _label(explanation, label),
                    "probability": f"{record['probabilities'][label]:.0%}",
                    "html": _review_html(record),
                }
            )
    info = explanation.info
    return render(
        "explain_report.html.j2",
        title="Explanations (SHAP)",
        subtitle=(
            f"{info.get('model', 'a predict function')}: "
            f"{info.get('rows', len(explanation.local))} rows"
        ),
        kind=explanation.kind,
        model=info.get("model", "a predict function"),
        rows=info.get("rows", len(explanation.local)),
        shap_version=info.get("shap_version", ""),
        baseline=info.get("baseline", ""),
        config=explanation.config,
        min_count=info.get("min_count", 1),
        agg_text=AGG_TEXT[explanation.config.agg_method],
        top_chart=_top_words_chart(explanation) if explanation.kind == "text" else "",
        global_chart=_global_chart(explanation),
        reviews=reviews,
        local_table=_local_table(explanation) if explanation.kind == "tabular" else "",
    )
