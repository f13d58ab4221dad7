"""--plot: learning curves per experiment cell and dev metric against lr, PNG or PDF."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from test_summary_support import ok_result, write_job

from zo_sweep.summary import load, plots, views
from zo_sweep.summary.cli import main
from zo_sweep.summary.plots import write_plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def curve(dev_end: float, steps: int = 40, zero_shot: float = 0.5) -> list[dict]:
    lines = [{"step": 0, "dev_accuracy": zero_shot, "seconds": 0.0}]
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
                        metrics=curve(end, zero_shot=0.5 + 0.01 * seed),
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


def test_learning_curves_draw_a_mean_with_a_band_per_data_kind_and_its_own_zero_shot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_sweep(tmp_path / "outputs")
    figures = []
    save = plots._save
    monkeypatch.setattr(
        plots, "_save", lambda figure, path: (figures.append(figure), save(figure, path))
    )
    winners = views.best_configs(load(tmp_path / "outputs"))
    plots.plot_learning_curves(winners, [], tmp_path / "curves.png")
    figure = figures[0]
    assert figure.get_suptitle() == ""  # the caption is the paper's
    assert [axis.get_title() for axis in figure.axes] == ["MeZO", "LoRA"]
    for number, axis in enumerate(figure.axes):
        legend = [text.get_text() for text in axis.get_legend().get_texts()]
        keys = ["range over seeds", "zero-shot (mean over seeds)"] if number == 0 else []
        assert legend == ["original, lr 1e-06 (2 seeds)", "synthetic, lr 1e-06 (2 seeds)", *keys]
        means = [line for line in axis.get_lines() if line.get_linestyle() == "-"]
        zero_shot = [line for line in axis.get_lines() if line.get_linestyle() == "--"]
        assert len(means) == 2 and len(zero_shot) == 2 and len(axis.collections) == 2
        # The seeds' own step-0 values are 0.50 and 0.51: the line is at their mean.
        assert [line.get_ydata()[0] for line in zero_shot] == pytest.approx([0.505, 0.505])
        assert [line.get_ydata()[0] for line in means] == pytest.approx([0.505, 0.505])
        # Never two identical lines: the seeds are one mean line, the data kinds differ.
        drawn = [(tuple(line.get_ydata()), line.get_color()) for line in means]
        assert len(set(drawn)) == len(drawn)
        assert all(float(tick).is_integer() for tick in axis.get_xticks())
    assert figure.axes[0].get_shared_y_axes().joined(figure.axes[0], figure.axes[1])


def test_percent_figures_say_so_on_their_axis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_sweep(tmp_path / "outputs")
    figures = []
    save = plots._save
    monkeypatch.setattr(
        plots, "_save", lambda figure, path: (figures.append(figure), save(figure, path))
    )
    write_plots(load(tmp_path / "outputs"), tmp_path / "plots", percent=True)
    curves, by_lr = figures
    assert curves.axes[0].get_ylabel() == "dev accuracy (%)"
    assert by_lr.axes[0].get_ylabel() == "best dev accuracy, mean ± std over seeds (%)"
    assert max(max(line.get_ydata()) for line in curves.axes[1].get_lines()) > 80
    assert all(figure.get_suptitle() == "" for figure in figures)


def test_figures_can_be_pdf_with_truetype_fonts(tmp_path: Path, capsys) -> None:
    build_sweep(tmp_path / "outputs")
    argv = [str(tmp_path / "outputs"), "--view", "best", "--plot", str(tmp_path / "plots")]
    assert main([*argv, "--plot-format", "pdf"]) == 0
    assert "wrote 2 plots" in capsys.readouterr().err
    pdfs = sorted((tmp_path / "plots").glob("*.pdf"))
    assert [path.name for path in pdfs] == ["curves_llama1b_copa.pdf", "lr_llama1b_copa.pdf"]
    for path in pdfs:
        data = path.read_bytes()
        assert data[:5] == b"%PDF-"
        # Font dictionaries are plain PDF objects: venues refuse Type 3, take TrueType.
        subtypes = set(re.findall(rb"/Subtype\s*/(\w+)", data))
        assert b"Type3" not in subtypes and b"CIDFontType2" in subtypes
        assert b"/FontFile2" in data  # the TrueType program is embedded


def test_an_unwritable_plot_folder_is_one_line(tmp_path: Path, capsys) -> None:
    build_sweep(tmp_path / "outputs")
    (tmp_path / "file").write_text("")
    for where in ("/proc/nope", str(tmp_path / "file" / "plots")):
        code = main([str(tmp_path / "outputs"), "--plot", where])
        out, err = capsys.readouterr()
        assert code == 2 and out == "" and err.count("\n") == 1
        assert err.startswith("python -m zo_sweep.summary: error: --plot: cannot create")
