"""PNG plots: learning curves per experiment cell, and dev metric against learning rate.

- `curves_<model>_<task>_<method>_<data>.png`: dev metric and training loss against step, one
  line per learning rate (the mean over seeds), from each job's metrics.jsonl.
- `lr_<model>_<task>.png`: best dev metric against learning rate (log scale), one line per
  method x data, the mean over seeds with their standard deviation as error bars.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from tqdm import tqdm  # noqa: E402

from zo_sweep import records  # noqa: E402
from zo_sweep.summary import schema, views  # noqa: E402

DPI = 120
# Training loss is noisy step to step (MeZO especially); a rolling mean over this share of
# the logged points shows the trend without hiding its shape.
LOSS_SMOOTHING_SHARE = 0.04
FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def write_plots(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write every plot for the jobs in `frame` to `out_dir`; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    rows = views.usable(frame)
    cells = list(rows.groupby(schema.CELL, sort=True, dropna=False))
    for cell, jobs in tqdm(cells, desc="learning curves", unit="plot", disable=len(cells) < 10):
        cell = _named_parts(cell)
        path = out_dir / _file_name("curves", cell)
        if plot_learning_curves(jobs, path, title=" / ".join(map(str, cell))):
            written.append(path)
    configs = views.per_config(frame)
    for (model, task), table in configs.groupby(["model", "task"], sort=True):
        path = out_dir / _file_name("lr", (model, task))
        plot_dev_vs_lr(table, path, title=f"{model} / {task}")
        written.append(path)
    return written


def plot_learning_curves(jobs: pd.DataFrame, path: Path, *, title: str) -> bool:
    """Dev metric and loss against step, one line per lr. False if no job logged metrics."""
    curves = _mean_curves(jobs)
    if curves.empty:
        return False
    metric = str(jobs["metric"].dropna().iloc[0]) if jobs["metric"].notna().any() else "metric"
    figure, (dev_axis, loss_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for lr, curve in curves.groupby("lr", sort=True):
        label = f"lr={lr:g}"
        dev = curve.dropna(subset=["dev"])
        dev_axis.plot(dev["step"], dev["dev"], marker="o", markersize=3, label=label)
        loss = curve.dropna(subset=["loss"])
        window = max(1, round(len(loss) * LOSS_SMOOTHING_SHARE))
        smoothed = loss["loss"].rolling(window, min_periods=1).mean()
        loss_axis.plot(loss["step"], smoothed, label=label)
    dev_axis.set(xlabel="step", ylabel=f"dev {metric}", title="dev metric")
    loss_axis.set(xlabel="step", ylabel="training loss", title="loss (rolling mean)")
    _finish(figure, [dev_axis, loss_axis], title, path)
    return True


def plot_dev_vs_lr(configs: pd.DataFrame, path: Path, *, title: str) -> None:
    """Mean best dev metric against lr, one line per method x data, seed std as error bars."""
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for (method, data), line in configs.groupby(["method", "data"], sort=True):
        # Other hyperparameters may vary too; at each lr show the best of them.
        line = line.sort_values("dev_mean").drop_duplicates("lr", keep="last").sort_values("lr")
        axis.errorbar(
            line["lr"],
            line["dev_mean"],
            yerr=line["dev_std"].fillna(0),
            marker="o",
            capsize=3,
            label=f"{method} / {data}",
        )
    axis.set_xscale("log")
    metric = configs["metric"].dropna()
    axis.set(xlabel="learning rate", ylabel=f"best dev {metric.iloc[0] if len(metric) else ''}")
    _finish(figure, [axis], title + "  (mean ± std over seeds)", path)


def _mean_curves(jobs: pd.DataFrame) -> pd.DataFrame:
    """Columns lr, step, dev, loss: the seed-mean of each job's metrics.jsonl per lr and step."""
    frames = []
    for lr, job_path, metric in jobs[["lr", "path", "metric"]].itertuples(index=False):
        lines = records.read_metrics(job_path)
        if not lines:
            continue
        log = pd.DataFrame.from_records(lines)
        dev_column = f"dev_{metric}" if f"dev_{metric}" in log else _first_dev_column(log)
        frames.append(
            pd.DataFrame(
                {
                    "lr": lr,
                    "step": log.get("step"),
                    "dev": log.get(dev_column),
                    "loss": log.get("loss"),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["lr", "step", "dev", "loss"])
    curves = pd.concat(frames, ignore_index=True).dropna(subset=["step"])
    curves = curves.apply(pd.to_numeric, errors="coerce")
    return curves.groupby(["lr", "step"], as_index=False).mean()


def _first_dev_column(log: pd.DataFrame) -> str | None:
    return next((column for column in log.columns if str(column).startswith("dev_")), None)


def _finish(figure: plt.Figure, axes: list[plt.Axes], title: str, path: Path) -> None:
    for axis in axes:
        axis.grid(True, alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize="small")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)


def _named_parts(cell: tuple) -> tuple:
    """The parts of a cell that name it: a missing data_id (old results) and a data_id that
    repeats the data kind (`original` on `original`) add nothing."""
    parts: list = []
    for part in cell:
        if pd.notna(part) and (not parts or part != parts[-1]):
            parts.append(part)
    return tuple(parts)


def _file_name(kind: str, parts: tuple) -> str:
    return FILENAME_UNSAFE.sub("-", "_".join([kind, *map(str, parts)])) + ".png"
