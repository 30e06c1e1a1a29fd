"""Draw the search-efficiency curves of ``bench_tuning.py`` into a PNG for the docs.

Left: best validation macro-F1 so far vs trials, Random vs Bayesian; right: vs training epochs
spent, Random vs Hyperband. Each curve is the median over the seeds, the band their min-max;
the dotted line is Random's median best after N trials, the grey lines N/3 trials and 1/3 of
Random's epochs (the goals).

Usage: ``python bench/plot_tuning.py bench/results/tuning_search.json
docs/images/tuning-search-efficiency.png`` (the JSON of ``bench_tuning.py --out``, or its
``search`` part).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

COLORS = {"Random": "#555555", "Bayesian": "#1f77b4", "Hyperband": "#d62728"}
STYLES = {"Random": "--", "Bayesian": "-", "Hyperband": "-"}


def _best_curve(records: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative epochs after each trial, and the best completed objective (nan before)."""
    spent, best = 0, float("nan")
    xs, ys = [], []
    for r in records:
        spent += r["epochs"]
        if r["state"] == "COMPLETE" and not (best >= r["value"]):
            best = r["value"]
        xs.append(spent)
        ys.append(best)
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


def _on_grid(xs: np.ndarray, ys: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The step function "best after x epochs" on ``grid`` (nan before the first value)."""
    idx = np.searchsorted(xs, grid, side="right") - 1
    out = np.full(len(grid), np.nan)
    ok = idx >= 0
    out[ok] = ys[idx[ok]]
    return out


def _band(ax: Any, x: np.ndarray, curves: np.ndarray, name: str, step: bool = True) -> None:
    curves = np.where(np.isnan(curves), 0.0, curves)  # no completed trial yet: the worst
    median = np.median(curves, axis=0)
    low, high = curves.min(axis=0), curves.max(axis=0)
    where = "post" if step else None
    ax.fill_between(x, low, high, color=COLORS[name], alpha=0.18, step=where, linewidth=0)
    if step:
        ax.step(
            x,
            median,
            where="post",
            color=COLORS[name],
            ls=STYLES[name],
            lw=2,
            zorder=3,
            label=f"{name} (median)",
        )
    else:
        ax.plot(
            x, median, color=COLORS[name], ls=STYLES[name], lw=2, zorder=3, label=f"{name} (median)"
        )


def plot(search: dict[str, Any], png: Path) -> Path:
    """Draw the two panels from part A's result; returns ``png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = search["n_trials"]
    runs = search["trials"]
    target = search["median"]["random_best"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True)

    trials = np.arange(1, n + 1)
    for name in ("Random", "Bayesian"):
        curves = np.asarray([_best_curve(runs[s][name][:n])[1] for s in runs])
        _band(left, trials, curves, name)
    left.axhline(target, color="black", ls=":", lw=1, label=f"Random's best after {n} (median)")
    left.axvline(n / 3, color="#999999", ls="--", lw=1, label=f"goal: N/3 = {n / 3:g} trials")
    left.set_xlabel("trials")
    left.set_ylabel("best validation macro-F1 so far")
    left.set_title("Bayesian (TPE) vs Random")
    left.legend(loc="lower right", fontsize=8)

    random_total = max(_best_curve(runs[s]["Random"])[0][-1] for s in runs)
    grid = np.linspace(0, random_total, 400)
    for name in ("Random", "Hyperband"):
        curves = np.asarray([_on_grid(*_best_curve(runs[s][name]), grid) for s in runs])
        _band(right, grid, curves, name, step=False)
    right.axhline(target, color="black", ls=":", lw=1, label=f"Random's best after {n} (median)")
    right.axvline(
        random_total / 3, color="#999999", ls="--", lw=1, label="goal: 1/3 of Random's epochs"
    )
    right.set_xlabel("training epochs spent (Hyperband: every restart counted)")
    right.set_title("Hyperband vs Random")
    right.legend(loc="lower right", fontsize=8)

    for ax in (left, right):
        ax.set_ylim(target - 0.15, None)
        ax.grid(alpha=0.3)
    task = search["task"]
    fig.suptitle(
        f"blazingtext on the reviews ({task['data']['train_used']} training reviews), "
        f"{len(runs)} seeds, band: min-max over seeds",
        fontsize=10,
    )
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return png


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: plot_tuning.py RESULT.json OUT.png", file=sys.stderr)
        return 2
    data = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    print(plot(data.get("search", data), Path(args[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
