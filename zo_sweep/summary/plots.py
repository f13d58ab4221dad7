"""Figures for a paper, one of each kind per model x task (PNG or PDF).

- `curves_<model>_<task>`: dev metric against step, one panel per method (shared y axis),
  one line per data kind (or cell) and seed at the best lr of that cell, and a dashed line at
  the zero-shot dev metric.
- `lr_<model>_<task>`: best dev metric against learning rate (log axis), one line per
  method x data (x cell), mean over seeds with their standard deviation as error bars.

Titles use the display names of conf/ (`display:` keys), not ids.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from zo_sweep import records  # noqa: E402
from zo_sweep.summary import identity, views  # noqa: E402
from zo_sweep.summary.compare import DATA_ORDER, METHOD_ORDER  # noqa: E402
from zo_sweep.summary.names import display_name  # noqa: E402

DPI = 150
PANEL_SIZE = (4.2, 3.6)  # inches per method panel
MIN_FIGURE_WIDTH = 6.0  # room for the title when there is one panel
# Distinct markers keep lines that lie on top of each other visible.
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINE_STYLES = ["-", "--", ":", "-."]
FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def write_plots(frame: pd.DataFrame, out_dir: Path, file_format: str = "png") -> list[Path]:
    """Write every figure for the jobs in `frame` to `out_dir`; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    winners = views.best_configs(frame)
    configs = views.per_config(frame)
    variants = views.variant_keys(views.usable(frame))
    for (model, task), cells in winners.groupby(["model", "task"], sort=True):
        path = out_dir / _file_name("curves", (model, task), file_format)
        if plot_learning_curves(cells, variants, path, title=_title(model, task)):
            written.append(path)
    for (model, task), table in configs.groupby(["model", "task"], sort=True):
        path = out_dir / _file_name("lr", (model, task), file_format)
        plot_dev_vs_lr(table, variants, path, title=_title(model, task))
        written.append(path)
    return written


def plot_learning_curves(
    cells: pd.DataFrame, variants: list[str], path: Path, *, title: str
) -> bool:
    """One panel per method; in each, the best lr of every cell, a line per seed.

    False (and no file) if no job of these cells logged a dev metric.
    """
    curves = {
        cell_id: _dev_curves(config) for cell_id, config in cells.set_index("cell_id").iterrows()
    }
    if not any(curves.values()):
        return False
    methods = _ordered(cells["method"].unique(), METHOD_ORDER)
    width, height = PANEL_SIZE
    figure, axes = plt.subplots(
        1,
        len(methods),
        figsize=(max(width * len(methods), MIN_FIGURE_WIDTH), height),
        sharey=True,
        squeeze=False,
    )
    metric = _metric_name(cells)
    for axis, method in zip(axes[0], methods, strict=True):
        panel = cells[cells["method"] == method]
        panel = panel.sort_values("data", key=lambda kinds: kinds.map(_data_rank), kind="stable")
        for number, (_, config) in enumerate(panel.iterrows()):
            _draw_seeds(axis, curves[config["cell_id"]], config, variants, number)
        for number, level in enumerate(panel["zero_shot_dev"]):
            _zero_shot_line(axis, level, number, first=number == 0)
        axis.set_title(display_name("method", method))
        axis.set_xlabel("step")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize="small")
    axes[0][0].set_ylabel(f"dev {metric}")
    figure.suptitle(f"{title}\ndev {metric} during training, at the best lr")
    _save(figure, path)
    return True


def plot_dev_vs_lr(configs: pd.DataFrame, variants: list[str], path: Path, *, title: str) -> None:
    """Mean best dev metric against lr, one line per method x data (x cell), std error bars."""
    figure, axis = plt.subplots(figsize=(6.4, 4.4))
    # With settings that vary within a method x data, each cell is a line of its own.
    lines = configs.groupby(["method", "data", *(["cell_id"] if variants else [])], sort=False)
    ordered = sorted(lines, key=lambda item: (_method_rank(item[0][0]), _data_rank(item[0][1])))
    methods = _ordered(configs["method"].unique(), METHOD_ORDER)
    for number, (_, line) in enumerate(ordered):
        line = line.sort_values("lr")
        first = line.iloc[0]
        axis.errorbar(
            line["lr"],
            line["dev_mean"],
            yerr=line["dev_std"].fillna(0),
            # A colour per method, a line style per data kind, a marker per line.
            color=f"C{methods.index(first['method'])}",
            linestyle=LINE_STYLES[_data_rank(first["data"]) % len(LINE_STYLES)],
            marker=MARKERS[number % len(MARKERS)],
            markersize=7,
            markerfacecolor="none",
            capsize=3,
            alpha=0.9,
            label=f"{display_name('method', first['method'])}, {_line_label(first, variants)}",
        )
    axis.set_xscale("log")
    axis.set(xlabel="learning rate", ylabel=f"best dev {_metric_name(configs)}")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize="small")
    figure.suptitle(f"{title}\nbest dev against lr (mean ± std over seeds)")
    _save(figure, path)


def _draw_seeds(
    axis: plt.Axes, seeds: list[pd.DataFrame], config: pd.Series, variants: list[str], number: int
) -> None:
    color = f"C{number}"
    label = f"{_line_label(config, variants)} (lr {config['lr']:g})"
    for index, curve in enumerate(seeds):
        axis.plot(
            curve["step"],
            curve["dev"],
            color=color,
            marker=MARKERS[number % len(MARKERS)],
            markersize=4,
            alpha=0.85,
            label=label if index == 0 else None,
        )


def _zero_shot_line(axis: plt.Axes, level: float, number: int, *, first: bool) -> None:
    """Dashed, in the colour of its line: data kinds may have dev sets of their own."""
    if pd.isna(level):
        return
    label = "zero-shot (mean over seeds)" if first else None
    axis.axhline(level, color=f"C{number}", linestyle="--", linewidth=1, alpha=0.7, label=label)


def _dev_curves(config: pd.Series) -> list[pd.DataFrame]:
    """Each seed's dev metric by step (step 0 is zero-shot), from its metrics.jsonl."""
    column = f"dev_{config['metric']}"
    curves = []
    for job in config["paths"]:
        points = [
            (line["step"], line[column])
            for line in records.read_metrics(job)
            if line.get(column) is not None and line.get("step") is not None
        ]
        if points:
            curves.append(pd.DataFrame(points, columns=["step", "dev"]))
    return curves


def _line_label(config: pd.Series, variants: list[str]) -> str:
    parts = [display_name("data", str(config["data"]))]
    for key in variants:
        parts.append(f"{key}={identity.setting_text(config['settings'], key)}")
    return ", ".join(parts)


def _metric_name(rows: pd.DataFrame) -> str:
    metric = rows["metric"].dropna()
    return str(metric.iloc[0]) if len(metric) else "metric"


def _title(model: str, task: str) -> str:
    return f"{display_name('model', model)} · {display_name('task', task)}"


def _ordered(names, order: list[str]) -> list[str]:
    return sorted(names, key=lambda name: (_rank(name, order), name))


def _rank(name: str, order: list[str]) -> int:
    return order.index(name) if name in order else len(order)


def _method_rank(name: str) -> int:
    return _rank(name, METHOD_ORDER)


def _data_rank(name: str) -> int:
    return _rank(name, DATA_ORDER)


def _save(figure: plt.Figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)


def _file_name(kind: str, parts: tuple, file_format: str) -> str:
    return FILENAME_UNSAFE.sub("-", "_".join([kind, *map(str, parts)])) + f".{file_format}"
