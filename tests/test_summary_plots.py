"""--plot: learning curves per experiment cell and dev metric against lr, as valid PNGs."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from test_summary_support import ok_result, write_job

from zo_sweep.summary import load
from zo_sweep.summary.cli import main
from zo_sweep.summary.plots import write_plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def curve(dev_end: float, steps: int = 40) -> list[dict]:
    lines = [{"step": 0, "dev_accuracy": 0.5, "seconds": 0.0}]
    for step in range(1, steps + 1):
        lines.append({"step": step, "loss": 1.0 - step / (2 * steps), "lr": 1e-6, "seconds": step})
        if step % 10 == 0:
            lines.append({"step": step, "dev_accuracy": 0.5 + (dev_end - 0.5) * step / steps})
    return lines


def build_sweep(root: Path) -> None:
    for lr, dev in [(1e-5, 0.6), (1e-6, 0.8), (1e-7, 0.7)]:
        for seed in range(2):
            result = ok_result(dev + 0.01 * seed, dev)
            write_job(root, lr=lr, seed=seed, result=result, metrics=curve(dev + 0.01 * seed))
            write_job(root, lr=lr, seed=seed, data="synthetic", result=ok_result(dev - 0.05, dev))


def test_write_plots_draws_curves_per_cell_and_dev_against_lr(tmp_path: Path) -> None:
    build_sweep(tmp_path / "outputs")
    written = write_plots(load(tmp_path / "outputs"), tmp_path / "plots")
    # The synthetic jobs logged no metrics: no curves for them, but they are in the lr plot.
    assert sorted(path.name for path in written) == [
        "curves_llama1b_copa_zo_original.png",
        "lr_llama1b_copa.png",
    ]
    for path in written:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        height, width, _ = plt.imread(path).shape
        assert width > 600 and height > 400


def test_cli_plot_option_writes_pngs(tmp_path: Path, capsys) -> None:
    build_sweep(tmp_path / "outputs")
    assert (
        main([str(tmp_path / "outputs"), "--view", "best", "--plot", str(tmp_path / "plots")]) == 0
    )
    assert "wrote 2 plots" in capsys.readouterr().err
    assert len(list((tmp_path / "plots").glob("*.png"))) == 2
