"""The plots of the profiler report, as Plotly figures.

Long jobs produce many samples (one system sample per 500 ms is 7,200 an hour), so long
series are averaged into bins before plotting (system metrics into 600, the CPU heat map into
240 columns, step durations and scalars into 3,000 points; outlier steps are always drawn one
by one): the page stays small and fast, and the shape of the curves is kept.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sagebox._html_reports import CHART_COLORS as _COLORS
from sagebox._html_reports import CHART_FONT as _FONT

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "cpu_heatmap",
    "phase_chart",
    "scalar_charts",
    "step_chart",
    "system_timeline",
    "time_unit",
]

PHASE_COLORS = {
    "data": "#d9822b",
    "forward": "#3b6ea8",
    "backward": "#5b8fd0",
    "optimizer": "#3a9d5d",
    "other": "#9aa5b1",
}
MAX_POINTS = 600
MAX_HEATMAP_BINS = 240
MAX_LINE_POINTS = 3000  # step durations and scalars: longer series are averaged per bin
MAX_SCALAR_CHARTS = 8


def time_unit(span_seconds: float) -> tuple[float, str]:
    """The divisor and axis label that keep a time axis readable for a span of seconds."""
    if span_seconds > 3 * 3600:
        return 3600.0, "hours since start"
    if span_seconds > 600:
        return 60.0, "minutes since start"
    return 1.0, "seconds since start"


def _layout(fig: go.Figure, title: str, height: int = 340) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 56, "b": 10},
        font={"family": _FONT, "size": 12, "color": "#2b2f36"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        hovermode="x unified",
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _binned(
    times: list[float], values: list[float], bins: int = MAX_POINTS
) -> tuple[list[float], list[float]]:
    """Average ``values`` over at most ``bins`` equal slices of time (unchanged if few)."""
    if len(times) <= bins:
        return times, values
    lo, hi = times[0], times[-1]
    width = (hi - lo) / bins or 1.0
    sums: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for t, v in zip(times, values, strict=True):
        slot = sums[min(bins - 1, int((t - lo) / width))]
        slot[0] += t
        slot[1] += v
        slot[2] += 1
    keys = sorted(sums)
    return [sums[k][0] / sums[k][2] for k in keys], [sums[k][1] / sums[k][2] for k in keys]


def _series(
    events: list[dict[str, Any]], key: str, t0: float, unit: float
) -> tuple[list[float], list[float]]:
    points = [
        ((e["time"] - t0) / unit, float(e[key]))
        for e in events
        if isinstance(e.get(key), int | float) and isinstance(e.get("time"), int | float)
    ]
    return _binned([p[0] for p in points], [p[1] for p in points])


def system_timeline(
    system: list[dict[str, Any]], t0: float, unit: float, unit_label: str
) -> go.Figure | None:
    """CPU and memory, disk I/O, network I/O (and GPU when present) over time, per host."""
    from plotly.subplots import make_subplots

    if not system:
        return None
    by_host: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in system:
        by_host[str(event.get("host", ""))].append(event)
    has_gpu = any(e.get("gpu") for e in system)
    titles = ["CPU and memory (%)", "Disk I/O (MB/s)", "Network I/O (MB/s)"]
    if has_gpu:
        titles.append("GPU utilisation and memory (%)")
    fig = make_subplots(
        rows=len(titles), cols=1, shared_xaxes=True, subplot_titles=titles, vertical_spacing=0.07
    )
    many = len(by_host) > 1
    rows = [
        (1, "cpu_total", "CPU total", "solid"),
        (1, "memory_percent", "memory", "dot"),
        (2, "disk_read_mb_s", "disk read", "solid"),
        (2, "disk_write_mb_s", "disk write", "dot"),
        (3, "net_recv_mb_s", "network received", "solid"),
        (3, "net_sent_mb_s", "network sent", "dot"),
    ]
    for h, (host, events) in enumerate(sorted(by_host.items())):
        for k, (row, key, label, dash) in enumerate(rows):
            x, y = _series(events, key, t0, unit)
            if not x:
                continue
            name = f"{label} ({host})" if many else label
            color = _COLORS[(2 * h + k % 2) % len(_COLORS)] if many else _COLORS[k % 2]
            fig.add_scatter(
                x=x,
                y=y,
                name=name,
                mode="lines",
                line={"color": color, "dash": dash, "width": 1.6},
                row=row,
                col=1,
                legendgroup=str(row),
            )
        if has_gpu:
            _add_gpu(fig, events, t0, unit, host if many else "", len(titles))
    fig.update_yaxes(rangemode="tozero")
    fig.update_yaxes(range=[0, 105], row=1, col=1)
    fig.update_xaxes(title_text=unit_label, row=len(titles), col=1)
    return _layout(fig, "System utilisation over time", height=230 * len(titles) + 60)


def _add_gpu(
    fig: go.Figure, events: list[dict[str, Any]], t0: float, unit: float, host: str, row: int
) -> None:
    series: dict[tuple[int, str], tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for event in events:
        for gpu in event.get("gpu") or []:
            for key in ("util", "memory_percent"):
                if isinstance(gpu.get(key), int | float):
                    xs, ys = series[(int(gpu.get("index", 0)), key)]
                    xs.append((event["time"] - t0) / unit)
                    ys.append(float(gpu[key]))
    for k, ((index, key), (xs, ys)) in enumerate(sorted(series.items())):
        bx, by = _binned(xs, ys)
        label = f"GPU {index} {'utilisation' if key == 'util' else 'memory'}"
        fig.add_scatter(
            x=bx,
            y=by,
            name=f"{label} ({host})" if host else label,
            mode="lines",
            line={
                "color": _COLORS[(index + 2) % len(_COLORS)],
                "dash": "solid" if k % 2 == 0 else "dot",
            },
            row=row,
            col=1,
            legendgroup=str(row),
        )
    fig.update_yaxes(range=[0, 105], row=row, col=1)


def cpu_heatmap(
    system: list[dict[str, Any]], t0: float, unit: float, unit_label: str, host: str
) -> go.Figure | None:
    """Utilisation of every CPU core over time (cores × time); long runs averaged into bins."""
    import plotly.graph_objects as go

    samples = [e for e in system if isinstance(e.get("cpu"), list) and e["cpu"]]
    if not samples:
        return None
    cores = max(len(e["cpu"]) for e in samples)
    if len(samples) <= MAX_HEATMAP_BINS:  # one column per sample: no empty bins
        z = [[_core(e["cpu"], core) for e in samples] for core in range(cores)]
        x = [(e["time"] - t0) / unit for e in samples]
    else:
        z, x = _binned_cores(samples, cores, t0, unit)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=x,
            y=[f"core {c}" for c in range(cores)],
            zmin=0,
            zmax=100,
            colorscale="YlOrRd",
            colorbar={"title": "%", "thickness": 12},
            hovertemplate="%{y} at %{x:.1f}: %{z:.0f}%<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text=unit_label)
    fig = _layout(fig, f"CPU utilisation per core ({host})", height=max(240, 18 * cores + 130))
    fig.update_layout(hovermode="closest")
    return fig


def _core(values: list[Any], core: int) -> float | None:
    value = values[core] if core < len(values) else None
    return round(float(value), 1) if isinstance(value, int | float) else None


def _binned_cores(
    samples: list[dict[str, Any]], cores: int, t0: float, unit: float
) -> tuple[list[list[float | None]], list[float]]:
    """Mean utilisation per core in MAX_HEATMAP_BINS equal time slices."""
    lo, hi = samples[0]["time"], samples[-1]["time"]
    bins = MAX_HEATMAP_BINS
    width = (hi - lo) / bins or 1.0
    sums = [[0.0] * bins for _ in range(cores)]
    counts = [[0] * bins for _ in range(cores)]
    for event in samples:
        slot = min(bins - 1, int((event["time"] - lo) / width))
        for core, value in enumerate(event["cpu"]):
            if isinstance(value, int | float):
                sums[core][slot] += float(value)
                counts[core][slot] += 1
    z: list[list[float | None]] = [
        [round(s / n, 1) if n else None for s, n in zip(row, count, strict=True)]
        for row, count in zip(sums, counts, strict=True)
    ]
    x = [((lo + (i + 0.5) * width) - t0) / unit for i in range(bins)]
    return z, x


def step_chart(
    durations: list[tuple[int, float]], threshold: float | None, stddev: float
) -> go.Figure | None:
    """Duration of every training step; outliers (above the StepOutlier threshold) in red."""
    import plotly.graph_objects as go

    if not durations:
        return None
    normal = [(s, d) for s, d in durations if threshold is None or d <= threshold]
    outliers = [(s, d) for s, d in durations if threshold is not None and d > threshold]
    xs, ys = _binned([float(s) for s, _ in normal], [d * 1000 for _, d in normal], MAX_LINE_POINTS)
    fig = go.Figure()
    fig.add_scatter(
        x=xs,
        y=ys,
        mode="lines+markers" if len(normal) <= 300 else "lines",
        name="step duration",
        line={"color": _COLORS[0], "width": 1.2},
        marker={"size": 4},
        hovertemplate="step %{x}: %{y:.1f} ms<extra></extra>",
    )
    if outliers:
        fig.add_scatter(
            x=[s for s, _ in outliers],
            y=[d * 1000 for _, d in outliers],
            mode="markers",
            name=f"outlier ({len(outliers)})",
            marker={"color": "#c0504d", "size": 9, "symbol": "x"},
            hovertemplate="step %{x}: %{y:.1f} ms (outlier)<extra></extra>",
        )
    if threshold is not None:
        fig.add_hline(
            y=threshold * 1000,
            line_dash="dash",
            line_color="#c0504d",
            annotation_text=f"mean + {stddev:g}σ",
            annotation_position="top left",
        )
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="ms", rangemode="tozero")
    fig = _layout(fig, "Step duration", height=340)
    fig.update_layout(hovermode="closest")
    return fig


def phase_chart(parts: dict[str, float], steps: int) -> go.Figure | None:
    """Share of the training loop's time spent in each phase (a donut)."""
    import plotly.graph_objects as go

    shown = {k: v for k, v in parts.items() if v > 0}
    if not shown:
        return None
    per_step = [v / max(1, steps) * 1000 for v in shown.values()]
    fig = go.Figure(
        go.Pie(
            labels=list(shown),
            values=list(shown.values()),
            hole=0.5,
            sort=False,
            direction="clockwise",
            marker={"colors": [PHASE_COLORS.get(k, "#9aa5b1") for k in shown]},
            customdata=per_step,
            textinfo="label+percent",
            hovertemplate="%{label}: %{percent} of the time, %{customdata:.1f} ms per step"
            "<extra></extra>",
        )
    )
    fig = _layout(fig, "Where a training step's time goes", height=340)
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig


def scalar_charts(
    scalars: dict[tuple[str, str], list[tuple[int, float]]],
) -> list[tuple[str, go.Figure]]:
    """Losses in one chart (train and eval), each other scalar in its own.

    ``scalars`` maps ``(name, mode)`` to ``(step, value)`` points sorted by step.
    """
    import plotly.graph_objects as go

    names = sorted({name for name, _ in scalars})
    losses = [n for n in names if re.search("loss", n, re.IGNORECASE)]
    groups: list[tuple[str, list[str]]] = []
    if losses:
        groups.append(("loss", losses))
    groups += [(n, [n]) for n in names if n not in losses]
    charts = []
    for title, members in groups[:MAX_SCALAR_CHARTS]:
        fig = go.Figure()
        k = 0
        for name in members:
            for mode in sorted({m for n, m in scalars if n == name}, key=_mode_order):
                points = [(s, v) for s, v in scalars[(name, mode)] if math.isfinite(v)]
                if not points:
                    continue
                label = f"{name} ({mode})" if len(members) > 1 else mode
                xs, ys = _binned(
                    [float(p[0]) for p in points], [p[1] for p in points], MAX_LINE_POINTS
                )
                fig.add_scatter(
                    x=xs,
                    y=ys,
                    name=label,
                    mode="lines+markers" if len(points) <= 60 else "lines",
                    line={
                        "color": _COLORS[k % len(_COLORS)],
                        "dash": "solid" if mode == "train" else "dot",
                    },
                    marker={"size": 4},
                )
                k += 1
        fig.update_xaxes(title_text="step")
        heading = "Loss" if title == "loss" else title
        charts.append((title, _layout(fig, heading, height=320)))
    return charts


def _mode_order(mode: str) -> tuple[int, str]:
    return ({"train": 0, "eval": 1}.get(mode, 2), mode)
