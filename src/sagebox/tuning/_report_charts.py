"""The plots of the tuning report, as Plotly figures built from :func:`trial_rows`.

Each function takes the report's trials (:class:`ReportTrial`) and returns a figure, or None
when there is nothing to draw (no trial has an objective value yet, say).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sagebox._html_reports import CHART_COLORS as _COLORS
from sagebox._html_reports import CHART_FONT as _FONT
from sagebox.tuning.parameters import CategoricalParameter, ContinuousParameter

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from sagebox.tuning.spec import Objective, TuningSpec

__all__ = [
    "ReportTrial",
    "learning_curves",
    "objective_over_trials",
    "parallel_coordinates",
    "pareto_scatter",
]

#: how each outcome of a trial is drawn on the objective plot: (legend, colour, marker symbol)
OUTCOME_STYLE = {
    "completed": ("completed", "#3b6ea8", "circle"),
    "infeasible": ("completed, breaks a constraint", "#9aa5b1", "circle-open"),
    "stopped": ("stopped early", "#d9822b", "x"),
    "failed": ("failed", "#c0504d", "diamond-open"),
    "running": ("running", "#2aa1b3", "circle-dot"),
}


@dataclass
class ReportTrial:
    """One trial as the report draws it.

    Attributes:
        number: 1-based position among the tuning job's trials, in the order they started.
        job: its training job's name (None while it has not started).
        outcome: ``completed``, ``infeasible``, ``stopped``, ``failed`` or ``running``.
        objective: the objective value (final, or the last reported of a stopped trial).
        values: every objective's value of a completed multi-objective trial.
        hyperparameters: the tuned hyperparameters' values.
        curve: ``(step, value)`` points of the objective metric while it trained.
    """

    number: int
    job: str | None
    outcome: str
    objective: float | None
    values: dict[str, float] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    curve: list[tuple[float, float]] = field(default_factory=list)


def _layout(fig: go.Figure, title: str, height: int = 360) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 56, "b": 10},
        font={"family": _FONT, "size": 12, "color": "#2b2f36"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def objective_over_trials(
    trials: list[ReportTrial], objective: Objective, best_so_far: bool = True
) -> go.Figure | None:
    """The objective of each trial (marker by outcome) and the best so far (a step line; left
    out with ``best_so_far=False``, for a multi-objective job that has no single best)."""
    import plotly.graph_objects as go

    drawn = [t for t in trials if _finite(t.objective)]
    if not drawn:
        return None
    fig = go.Figure()
    for outcome, (label, colour, symbol) in OUTCOME_STYLE.items():
        mine = [t for t in drawn if t.outcome == outcome]
        if not mine:
            continue
        fig.add_trace(
            go.Scatter(
                x=[t.number for t in mine],
                y=[t.objective for t in mine],
                mode="markers",
                name=label,
                marker={"color": colour, "symbol": symbol, "size": 10, "line": {"width": 2}},
                text=[t.job for t in mine],
                hovertemplate="trial %{x} (%{text})<br>%{y:.4g}<extra>" + label + "</extra>",
            )
        )
    xs, ys, best = [], [], None
    for trial in trials:
        value = trial.objective
        if trial.outcome == "completed" and _finite(value):
            assert value is not None
            if best is None or objective.better(value, best):
                best = value
        if best is not None:
            xs.append(trial.number)
            ys.append(best)
    if xs and best_so_far:
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name="best so far",
                line={"color": "#3a9d5d", "shape": "hv", "width": 2},
                hovertemplate="best after trial %{x}: %{y:.4g}<extra></extra>",
            )
        )
    _layout(fig, f"{objective.metric_name} per trial ({objective.type})")
    fig.update_xaxes(title_text="trial", dtick=1 if len(trials) <= 30 else None)
    fig.update_yaxes(title_text=objective.metric_name)
    return fig


def _log_ticks(low: float, high: float) -> list[float]:
    """Ticks of a log axis labelled with the values themselves: 1, 2, 5 per decade (or only
    the decades when the range spans two or more), always with both bounds."""
    steps = (1.0,) if high / low >= 100 else (1.0, 2.0, 5.0)
    ticks = {low, high}
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for step in steps:
            tick = step * 10.0**exponent
            if low * 1.15 < tick < high / 1.15:
                ticks.add(float(f"{tick:.12g}"))
    return sorted(ticks)


def _dimension(name: str, rng: Any, raw: list[Any]) -> dict[str, Any]:
    """One axis of the parallel-coordinates plot (log10 for Logarithmic ranges)."""
    if isinstance(rng, CategoricalParameter):
        index = {v: i for i, v in enumerate(rng.values)}
        return {
            "label": name,
            "values": [index.get(str(v), math.nan) for v in raw],
            "tickvals": list(range(len(rng.values))),
            "ticktext": list(rng.values),
            "range": [-0.25, len(rng.values) - 0.75] if len(rng.values) > 1 else [-1, 1],
        }
    values = [float(v) if _finite(v) else math.nan for v in raw]
    low, high = (float(b) for b in rng.bounds())
    if isinstance(rng, ContinuousParameter) and rng.resolved_scaling == "Logarithmic":
        ticks = _log_ticks(low, high)
        return {
            "label": f"{name} (log)",
            "values": [math.log10(v) if v > 0 else math.nan for v in values],
            "range": [math.log10(low), math.log10(high)],
            "tickvals": [math.log10(t) for t in ticks],
            "ticktext": [f"{t:g}" for t in ticks],
        }
    return {"label": name, "values": values, "range": [low, high]}


def parallel_coordinates(trials: list[ReportTrial], spec: TuningSpec) -> go.Figure | None:
    """One line per trial with an objective, through its tuned hyperparameters to the objective
    value(s), coloured by the (first) objective."""
    import plotly.graph_objects as go

    drawn = [t for t in trials if _finite(t.objective)]
    if not drawn:
        return None
    dims = [
        _dimension(name, rng, [t.hyperparameters.get(name) for t in drawn])
        for name, rng in spec.ranges.items()
    ]
    objectives = spec.all_objectives
    if len(objectives) > 1:
        for objective in objectives:
            dims.append(
                {
                    "label": objective.metric_name,
                    "values": [t.values.get(objective.metric_name, math.nan) for t in drawn],
                }
            )
    else:
        dims.append({"label": objectives[0].metric_name, "values": [t.objective for t in drawn]})
    first = objectives[0]
    fig = go.Figure(
        go.Parcoords(
            line={
                "color": [t.objective for t in drawn],
                "colorscale": "Viridis",
                "reversescale": first.type == "Minimize",
                "showscale": True,
                "colorbar": {"title": {"text": first.metric_name, "side": "right"}},
            },
            dimensions=dims,
            labelangle=0,
        )
    )
    _layout(fig, "Hyperparameters of each trial, coloured by the objective", height=400)
    fig.update_layout(margin={"l": 60, "r": 40, "t": 90, "b": 30})
    return fig


def learning_curves(trials: list[ReportTrial], metric: str) -> go.Figure | None:
    """The objective metric's per-epoch (or per-step) values of each trial while it trained."""
    import plotly.graph_objects as go

    curved = [t for t in trials if t.curve]
    if not curved:
        return None
    fig = go.Figure()
    for i, trial in enumerate(curved):
        stopped = trial.outcome == "stopped"
        fig.add_trace(
            go.Scatter(
                x=[s for s, _ in trial.curve],
                y=[v for _, v in trial.curve],
                mode="lines+markers",
                name=f"trial {trial.number}" + (" (stopped)" if stopped else ""),
                line={"color": _COLORS[i % len(_COLORS)], "dash": "dot" if stopped else "solid"},
                marker={"size": 6, "symbol": "x" if stopped else "circle"},
                hovertemplate=f"{trial.job}<br>epoch %{{x}}: %{{y:.4g}}<extra></extra>",
            )
        )
    _layout(fig, f"{metric} while each trial trained", height=400)
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0}
    )
    fig.update_xaxes(title_text="epoch / step")
    fig.update_yaxes(title_text=metric)
    return fig


def pareto_scatter(
    trials: list[ReportTrial], objectives: list[Objective], front: set[str]
) -> go.Figure | None:
    """The completed trials on the first two objectives, the Pareto front highlighted."""
    import plotly.graph_objects as go

    x_name, y_name = objectives[0].metric_name, objectives[1].metric_name
    done = [t for t in trials if x_name in t.values and y_name in t.values]
    if not done:
        return None
    fig = go.Figure()
    rest = [t for t in done if t.job not in front]
    best = sorted((t for t in done if t.job in front), key=lambda t: t.values[x_name])
    for mine, label, style, mode in (
        (rest, "dominated", {"color": "#9aa5b1", "size": 9}, "markers"),
        (best, "Pareto front", {"color": "#c0504d", "size": 11}, "lines+markers"),
    ):
        if mine:
            fig.add_trace(
                go.Scatter(
                    x=[t.values[x_name] for t in mine],
                    y=[t.values[y_name] for t in mine],
                    mode=mode,
                    name=label,
                    marker=style,
                    line={"color": "#c0504d", "shape": "hv"},
                    text=[t.job for t in mine],
                    hovertemplate="%{text}<br>%{x:.4g}, %{y:.4g}<extra>" + label + "</extra>",
                )
            )
    _layout(
        fig, f"Pareto front: {x_name} ({objectives[0].type}) vs {y_name} ({objectives[1].type})"
    )
    fig.update_xaxes(title_text=x_name)
    fig.update_yaxes(title_text=y_name)
    return fig
