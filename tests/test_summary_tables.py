"""Tables for a paper: mean ± std, bold best, percentages, paired bootstrap deltas, LaTeX that
compiles and markdown that survives `|`."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_summary_support import ok_result, write_job

from zo_sweep import records
from zo_sweep.summary import bootstrap, cells, load, render, views
from zo_sweep.summary.cli import main
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


def test_csv_keeps_compare_numbers_as_numbers_in_their_own_columns(tmp_path: Path) -> None:
    paired_sweep(tmp_path, gain=0.3)
    write_job(tmp_path, method="fo_lora", seed=0, result=ok_result(0.5, 0.5, best_step=0))
    write_job(tmp_path, method="fo_lora", seed=1, result=ok_result(0.6, 0.6))
    table = views.compare(load(tmp_path))
    csv = pd.read_csv(io.StringIO(render.render(table, "csv", percent=True)))
    synthetic = table.loc[0, "zo synthetic"]
    assert list(csv.columns) == [
        "model", "task", "metric",
        "zo original mean", "zo original std", "zo original n", "zo original n at step 0",
        "zo synthetic mean", "zo synthetic std", "zo synthetic n", "zo synthetic n at step 0",
        "zo synthetic-original", "zo synthetic-original low", "zo synthetic-original high",
        "fo_lora original mean", "fo_lora original std", "fo_lora original n",
        "fo_lora original n at step 0",
    ]  # fmt: skip
    row = csv.iloc[0]
    assert row["zo synthetic mean"] == pytest.approx(synthetic.mean * 100)
    assert row["zo synthetic std"] == pytest.approx(synthetic.std * 100)
    assert row["zo synthetic n"] == 2 and row["fo_lora original n at step 0"] == 1
    assert all(pd.api.types.is_numeric_dtype(csv[c]) for c in csv.columns[3:])


def test_percent_holds_in_every_view(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_job(
        tmp_path, seed=0, result=ok_result(0.7, 0.6), metrics=[{"step": 0, "dev_accuracy": 0.5}]
    )
    write_job(tmp_path, seed=1, result=ok_result(0.8, 0.7))
    wanted = {
        "runs": ("best_dev (%)", [70.0, 80.0]),
        "best": ("dev_mean (%)", [75.0]),
        "progress": ("dev (%)", [50.0, None]),
    }
    for view, (column, values) in wanted.items():
        assert main([str(tmp_path), "--view", view, "--format", "csv", "--percent"]) == 0
        table = pd.read_csv(io.StringIO(capsys.readouterr().out))
        assert [None if pd.isna(v) else v for v in table[column]] == pytest.approx(values)
    assert main([str(tmp_path), "--view", "compare", "--percent"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy (%)" in out and "65.0 ± 7.1 (n=2)" in out
    assert main([str(tmp_path), "--view", "compare", "--format", "json", "--percent"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["MeZO original"]["mean"] == pytest.approx(65.0)
    assert main([str(tmp_path), "--view", "failures", "--percent"]) == 0


def test_some_seeds_at_step_0_are_counted_not_marked(tmp_path: Path) -> None:
    write_job(tmp_path, seed=0, result=ok_result(0.5, 0.5, best_step=0))
    write_job(tmp_path, seed=1, result=ok_result(0.7, 0.7))
    write_job(tmp_path, method="fo_lora", result=ok_result(0.5, 0.5, best_step=0))
    markdown = render.render(views.compare(load(tmp_path)), "markdown")
    assert "**0.600 ± 0.141** (n=2, 1 at step 0)" in markdown and "0.500 (n=1)†" in markdown
    assert cells.STEP_0_NOTE in markdown and cells.SOME_AT_STEP_0_NOTE in markdown


def test_the_papers_tables_use_display_names_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paired_sweep(tmp_path, gain=0.3)
    for fmt in ("latex", "markdown", "csv", "json", "table"):
        assert main([str(tmp_path), "--view", "compare", "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "Llama-3.2-1B" in out and "COPA" in out and "MeZO synthetic - original" in out
        assert "llama1b" not in out and "zo original" not in out
    # The runs view names jobs by the ids that --method and the overrides take.
    assert main([str(tmp_path), "--view", "runs"]) == 0
    assert "llama1b" in capsys.readouterr().out
