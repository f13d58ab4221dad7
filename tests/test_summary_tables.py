"""Tables for a paper: mean ± std, bold best, percentages, paired bootstrap deltas, LaTeX that
compiles and markdown that survives `|`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_summary_support import ok_result, write_job

from zo_sweep import records
from zo_sweep.summary import bootstrap, load, render, views
from zo_sweep.summary.latex import escape

TEST_SIZE = 200


def write_predicted_job(root: Path, data: str, seed: int, correct: np.ndarray, **config) -> None:
    """A finished job whose predictions.jsonl holds `correct` (one bool per test example)."""
    accuracy = float(correct.mean())
    job = write_job(root, data=data, seed=seed, result=ok_result(0.7, accuracy), **config)
    records.write_predictions(
        job,
        (
            {"id": f"test:{index}", "prediction": 1 if right else 0, "gold": 1}
            for index, right in enumerate(correct)
        ),
    )


def paired_sweep(root: Path, gain: float) -> None:
    """Original and synthetic runs (two seeds each) on the same 200 test examples."""
    generator = np.random.default_rng(1)
    for seed in range(2):
        base = generator.random(TEST_SIZE) < 0.6
        better = base | (generator.random(TEST_SIZE) < gain)
        write_predicted_job(root, "original", seed, base)
        write_predicted_job(root, "synthetic", seed, better)


def test_synthetic_minus_original_has_a_paired_bootstrap_interval(tmp_path: Path) -> None:
    paired_sweep(tmp_path, gain=0.3)
    frame = load(tmp_path)
    delta = views.compare(frame).loc[0, "zo synthetic-original"]
    original = views.compare(frame).loc[0, "zo original"].mean
    synthetic = views.compare(frame).loc[0, "zo synthetic"].mean
    assert delta.value == pytest.approx(synthetic - original)
    assert 0 < delta.low < delta.value < delta.high
    text = delta.text(percent=True)
    assert text.startswith("+") and text.count("[") == 1 and text.endswith("]")
    # Seeded: the same table every time.
    assert views.compare(frame).loc[0, "zo synthetic-original"] == delta


def test_runs_tested_on_different_examples_get_no_interval(tmp_path: Path) -> None:
    paired_sweep(tmp_path, gain=0.3)
    synthetic = next(tmp_path.rglob("*zo_synthetic*/*/predictions.jsonl")).parent
    flipped = [
        {"id": key, "prediction": prediction, "gold": 1 - gold}
        for key, (prediction, gold) in records.read_predictions(synthetic).items()
    ]
    records.write_predictions(synthetic, flipped)
    delta = views.compare(load(tmp_path)).loc[0, "zo synthetic-original"]
    assert delta.low is None and delta.high is None


def test_bootstrap_interval_covers_zero_for_identical_runs_and_is_seeded() -> None:
    correct = np.random.default_rng(0).random(300) < 0.5
    value, low, high = bootstrap.paired_interval(correct, correct)
    assert value == low == high == 0.0
    noisy = np.random.default_rng(1).random(300) < 0.5
    first = bootstrap.paired_interval(correct, noisy, resamples=2000)
    assert first == bootstrap.paired_interval(correct, noisy, resamples=2000)
    assert first[1] < first[0] < first[2]


def test_compare_shows_mean_std_seeds_bold_best_and_percentages(tmp_path: Path) -> None:
    paired_sweep(tmp_path, gain=0.3)
    table = views.compare(load(tmp_path))
    markdown = render.render(table, "markdown", percent=True)
    synthetic = table.loc[0, "zo synthetic"]
    expected = f"**{synthetic.mean * 100:.1f} ± {synthetic.std * 100:.1f}** (n=2)"
    assert expected in markdown
    assert "**" not in markdown.split("|")[3]  # the original column is not the best
    latex = render.render(table, "latex", percent=True)
    assert rf"\textbf{{{synthetic.mean * 100:.1f} $\pm$ {synthetic.std * 100:.1f}}} (n=2)" in latex
    plain = render.render(table, "table")
    assert f"{synthetic.mean:.3f} ± {synthetic.std:.3f} (n=2)" in plain


def test_latex_escapes_special_characters_and_uses_booktabs() -> None:
    assert escape("smollm2_135m") == r"smollm2\_135m"
    assert escape("50% & #1 {x} ~ ^ $ \\") == (
        r"50\% \& \#1 \{x\} \textasciitilde{} \textasciicircum{} \$ \textbackslash{}"
    )
    table = pd.DataFrame({"model": ["smollm2_135m"], "fo_lora original": [0.5], "a|b": ["x|y"]})
    latex = render.render(table, "latex")
    assert r"smollm2\_135m" in latex and r"fo\_lora original" in latex
    assert r"a\textbar{}b" in latex and r"x\textbar{}y" in latex
    lines = latex.splitlines()
    assert lines[0] == r"\begin{tabular}{lrl}"
    assert lines[1] == r"\toprule" and lines[3] == r"\midrule" and lines[-2] == r"\bottomrule"


def test_markdown_cells_never_break_on_a_pipe() -> None:
    table = pd.DataFrame({"model": ["a|b"], "x|y": [1.5]})
    markdown = render.render(table, "markdown")
    header, rule, row = markdown.splitlines()
    assert header.count(" | ") == row.count(" | ") == 1
    assert r"a\|b" in row and r"x\|y" in header


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no TeX engine installed")
def test_latex_compare_table_compiles(tmp_path: Path) -> None:
    paired_sweep(tmp_path / "outputs", gain=0.3)
    write_job(tmp_path / "outputs", data="original", seed=0, method="fo_lora",
              result=ok_result(0.5, 0.5, best_step=0))  # fmt: skip
    table = views.compare(load(tmp_path / "outputs"))
    body = render.render(table, "latex", percent=True)
    assert r"$^\dagger$" in body
    document = "\n".join(
        [r"\documentclass{article}", r"\usepackage{booktabs}", r"\begin{document}", body,
         r"\end{document}"]
    )  # fmt: skip
    (tmp_path / "table.tex").write_text(document)
    completed = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "table.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert (tmp_path / "table.pdf").exists()
