"""Figures for a paper, one of each kind per model x task (PNG or PDF).

- `curves_<model>_<task>`: dev metric against step, one panel per method (shared y axis),
  per data kind (or cell) the mean over seeds at the best lr of that cell with a band from the
  lowest to the highest seed, and a dashed line at the mean of the seeds' zero-shot (step 0)
  dev metric, in the same colour.
- `lr_<model>_<task>`: best dev metric against learning rate (log axis), one line per
  method x data (x cell), mean over seeds with their standard deviation as error bars.

No figure carries a title: the caption is the paper's, the file name says model and task.
Panel titles and legends use the display names of conf/ (`display:` keys), not ids. PDFs
embed their fonts as TrueType (Type 42): venues refuse Type 3 fonts.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from zo_sweep import records  # noqa: E402
from zo_sweep.summary import identity, views  # noqa: E402
from zo_sweep.summary.compare import DATA_ORDER, METHOD_ORDER  # noqa: E402
from zo_sweep.summary.names import display_name  # noqa: E402

DPI = 150
PANEL_SIZE = (4.2, 3.2)  # inches per method panel
MIN_FIGURE_WIDTH = 5.0  # room for the legend when there is one panel
# Fonts embedded whole as TrueType (Type 42) in PDF and PostScript, never as Type 3.
FONT_EMBEDDING = {"pdf.fonttype": 42, "ps.fonttype": 42}
BAND_ALPHA = 0.2
# Distinct markers keep lines that lie on top of each other visible.
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINE_STYLES = ["-", "--", ":", "-."]
FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def write_plots(
    frame: pd.DataFrame, out_dir: Path, file_format: str = "png", *, percent: bool = False
) -> list[Path]:
    """Write every figure for the jobs in `frame` to `out_dir`; returns the files written.

    `percent` shows metrics in percent (the axis says so).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    winners = views.best_configs(frame)
    configs = views.per_config(frame)
    variants = views.variant_keys(views.usable(frame))
    for (model, task), cells in winners.groupby(["model", "task"], sort=True):
        path = out_dir / _file_name("curves", (model, task), file_format)
        if plot_learning_curves(cells, variants, path, percent=percent):
            written.append(path)
    for (model, task), table in configs.groupby(["model", "task"], sort=True):
        path = out_dir / _file_name("lr", (model, task), file_format)
        plot_dev_vs_lr(table, variants, path, percent=percent)
        written.append(path)
    return written


def plot_learning_curves(
    cells: pd.DataFrame, variants: list[str], path: Path, *, percent: bool = False
) -> bool:
    """One panel per method; in each, the best lr of every cell: the mean over seeds, a band
    from the lowest to the highest seed, and the seeds' mean zero-shot level (dashed).

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
    scale = 100.0 if percent else 1.0
    for panel_number, (axis, method) in enumerate(zip(axes[0], methods, strict=True)):
        panel = cells[cells["method"] == method]
        panel = panel.sort_values("data", key=lambda kinds: kinds.map(_data_rank), kind="stable")
        for number, (_, config) in enumerate(panel.iterrows()):
            seeds = curves[config["cell_id"]]
            _draw_mean_and_band(axis, seeds, config, variants, number, scale)
            _zero_shot_line(axis, _zero_shot_level(seeds, config) * scale, number)
        axis.set_title(display_name("method", method))
        axis.set_xlabel("step")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
        axis.grid(True, alpha=0.3)
        # The band and the dashed line are explained once, in the first panel.
        keys = _key_handles() if panel_number == 0 else []
        axis.legend(handles=[*axis.get_legend_handles_labels()[0], *keys], fontsize="small")
    axes[0][0].set_ylabel(_metric_label("dev", cells, percent))
    _save(figure, path)
    return True


def plot_dev_vs_lr(
    configs: pd.DataFrame, variants: list[str], path: Path, *, percent: bool = False
) -> None:
    """Mean best dev metric against lr, one line per method x data (x cell), std error bars."""
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    scale = 100.0 if percent else 1.0
    # With settings that vary within a method x data, each cell is a line of its own.
    lines = configs.groupby(["method", "data", *(["cell_id"] if variants else [])], sort=False)
    ordered = sorted(lines, key=lambda item: (_method_rank(item[0][0]), _data_rank(item[0][1])))
    methods = _ordered(configs["method"].unique(), METHOD_ORDER)
    for number, (_, line) in enumerate(ordered):
        line = line.sort_values("lr")
        first = line.iloc[0]
        axis.errorbar(
            line["lr"],
            line["dev_mean"] * scale,
            yerr=line["dev_std"].fillna(0) * scale,
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
    unit = " (%)" if percent else ""
    label = f"best {_metric_label('dev', configs)}, mean ± std over seeds{unit}"
    axis.set(xlabel="learning rate", ylabel=label)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize="small")
    _save(figure, path)


def _draw_mean_and_band(
    axis: plt.Axes,
    seeds: list[pd.DataFrame],
    config: pd.Series,
    variants: list[str],
    number: int,
    scale: float,
) -> None:
    """The mean over seeds at each step they logged, and the band between the extreme seeds."""
    if not seeds:
        return
    color = f"C{number}"
    steps = pd.concat(seeds).groupby("step")["dev"].agg(["mean", "min", "max"]) * scale
    count = f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''}"
    axis.plot(
        steps.index,
        steps["mean"],
        color=color,
        marker=MARKERS[number % len(MARKERS)],
        markersize=4,
        label=f"{_line_label(config, variants)}, lr {config['lr']:g} ({count})",
    )
    if len(seeds) > 1:
        axis.fill_between(
            steps.index, steps["min"], steps["max"], color=color, alpha=BAND_ALPHA, linewidth=0
        )


def _zero_shot_level(seeds: list[pd.DataFrame], config: pd.Series) -> float:
    """The mean of the seeds' own step-0 dev metric (each seed may have a dev set of its own);
    the recorded zero-shot mean where the curves do not start at step 0."""
    at_step_0 = [
        float(curve.loc[curve["step"] == 0, "dev"].iloc[0])
        for curve in seeds
        if (curve["step"] == 0).any()
    ]
    if at_step_0 and len(at_step_0) == len(seeds):
        return sum(at_step_0) / len(at_step_0)
    return float(config["zero_shot_dev"])


def _zero_shot_line(axis: plt.Axes, level: float, number: int) -> None:
    """Dashed, in the colour of its data kind: data kinds may have dev sets of their own."""
    if pd.isna(level):
        return
    axis.axhline(level, color=f"C{number}", linestyle="--", linewidth=1, alpha=0.7)


def _key_handles() -> list:
    """Legend entries that explain the band and the dashed line once per panel."""
    return [
        Patch(facecolor="grey", alpha=BAND_ALPHA * 2, label="range over seeds"),
        Line2D(
            [], [], color="grey", linestyle="--", linewidth=1, label="zero-shot (mean over seeds)"
        ),
    ]


def _dev_curves(config: pd.Series) -> list[pd.DataFrame]:
    """Each seed's dev metric by step (step 0 is zero-shot), from its metrics.jsonl."""
    column = f"dev_{config['metric']}"
    curves = []
    for job in config["paths"]:
        points = [
            (line["step"], line[column])
            for line in records.read_metrics(job)
            if _is_number(line.get(column)) and _is_number(line.get("step"))
        ]
        if points:
            curves.append(pd.DataFrame(points, columns=["step", "dev"]))
    return curves


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _line_label(config: pd.Series, variants: list[str]) -> str:
    parts = [display_name("data", str(config["data"]))]
    for key in variants:
        parts.append(f"{key}={identity.setting_text(config['settings'], key)}")
    return ", ".join(parts)


def _metric_label(split: str, rows: pd.DataFrame, percent: bool = False) -> str:
    """`dev accuracy`, `dev accuracy (%)`."""
    metric = rows["metric"].dropna()
    name = str(metric.iloc[0]) if len(metric) else "metric"
    return f"{split} {name}{' (%)' if percent else ''}"


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
    try:
        with plt.rc_context(FONT_EMBEDDING):
            figure.savefig(path, dpi=DPI)
    finally:
        plt.close(figure)


def _file_name(kind: str, parts: tuple, file_format: str) -> str:
    return FILENAME_UNSAFE.sub("-", "_".join([kind, *map(str, parts)])) + f".{file_format}"
