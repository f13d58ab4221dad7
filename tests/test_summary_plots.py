"""--plot: learning curves per experiment cell and dev metric against lr, as valid PNGs."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from test_summary_support import ok_result, write_job

from zo_sweep.summary import load, plots, views
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
    """Two methods on original and synthetic data, three lrs, two seeds, curves logged."""
    for method, shift in [("zo", 0.0), ("fo_lora", 0.1)]:
        for lr, dev in [(1e-5, 0.6), (1e-6, 0.8), (1e-7, 0.7)]:
            for seed in range(2):
                for data, offset in [("original", 0.0), ("synthetic", -0.05)]:
                    end = dev + shift + offset + 0.01 * seed
                    write_job(
                        root,
                        method=method,
                        data=data,
                        lr=lr,
                        seed=seed,
                        result=ok_result(end, end - 0.02),
                        metrics=curve(end),
                    )


def test_write_plots_draws_one_figure_per_task_and_dev_against_lr(tmp_path: Path) -> None:
    build_sweep(tmp_path / "outputs")
    written = write_plots(load(tmp_path / "outputs"), tmp_path / "plots")
    assert sorted(path.name for path in written) == [
        "curves_llama1b_copa.png",
        "lr_llama1b_copa.png",
    ]
    for path in written:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        height, width, _ = plt.imread(path).shape
        assert width > 600 and height > 400


def test_learning_curves_have_a_panel_per_method_and_a_line_per_data_kind_and_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_sweep(tmp_path / "outputs")
    figures = []
    save = plots._save
    monkeypatch.setattr(
        plots, "_save", lambda figure, path: (figures.append(figure.axes), save(figure, path))
    )
    winners = views.best_configs(load(tmp_path / "outputs"))
    plots.plot_learning_curves(winners, [], tmp_path / "curves.png", title="Llama · COPA")
    axes = figures[0]
    assert [axis.get_title() for axis in axes] == ["MeZO", "LoRA"]
    for axis in axes:
        named = [
            line.get_label() for line in axis.get_lines() if not line.get_label().startswith("_")
        ]
        assert named == [
            "original (lr 1e-06)",
            "synthetic (lr 1e-06)",
            "zero-shot (mean over seeds)",
        ]
        lines = axis.get_lines()
        assert len(lines) == 6  # two seeds of two data kinds, and a zero-shot line for each kind
        assert [line.get_linestyle() for line in lines[-2:]] == ["--", "--"]
        assert all(float(tick).is_integer() for tick in axis.get_xticks())
    assert axes[0].get_shared_y_axes().joined(axes[0], axes[1])


def test_figures_can_be_pdf(tmp_path: Path, capsys) -> None:
    build_sweep(tmp_path / "outputs")
    argv = [str(tmp_path / "outputs"), "--view", "best", "--plot", str(tmp_path / "plots")]
    assert main([*argv, "--plot-format", "pdf"]) == 0
    assert "wrote 2 plots" in capsys.readouterr().err
    pdfs = sorted((tmp_path / "plots").glob("*.pdf"))
    assert [path.name for path in pdfs] == ["curves_llama1b_copa.pdf", "lr_llama1b_copa.pdf"]
    assert all(path.read_bytes()[:5] == b"%PDF-" for path in pdfs)
