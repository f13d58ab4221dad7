"""An old results tree shaped like the group's: every log is a row or a named warning.

results/<Model>/<Task>/<method>/<data kind>/<lr>_<data>.out, with data kinds original,
synthetic, orig_n_syn and rejection_sampling, LoRA logs named <lr>_lora_rk<rank>.out, numpy-2
metric dicts, crashed runs whose .err ends in a traceback, and files that fit no layout.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from zo_sweep.legacy.cli import main
from zo_sweep.legacy.summary_rows import read_results
from zo_sweep.summary import load
from zo_sweep.summary.views import compare, failures, per_config

TRACEBACK = """Traceback (most recent call last):
  File "run.py", line 500, in <module>
    main()
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB
  0%|          | 0/20000 [00:00<?, ?it/s]
"""


def finished(test: float, dev: float) -> str:
    return (
        "step 20000 loss 0.3\n===== Train set 1000 =====\n"
        f"{{'accuracy': np.float64({test}), 'dev_accuracy': np.float64({dev})}}\n"
    )


def log(folder: Path, stem: str, out: str, err: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.out").write_text(out)
    (folder / f"{stem}.err").write_text(err)


def results_tree(root: Path) -> Path:
    results = root / "results"
    copa = results / "Llama-3.2-1B" / "Copa"
    for kind, test in (("original", 0.6), ("synthetic", 0.65), ("rejection_sampling", 0.7),
                       ("orig_n_syn", 0.62)):  # fmt: skip
        log(copa / "zo" / kind, f"1e-6_{kind}", finished(test, test + 0.01))
        log(copa / "zo" / kind, f"5e-7_{kind}", finished(test - 0.1, test - 0.09))
    log(copa / "zo" / "original", "2e-7_original", "step 10 loss 0.7\n", TRACEBACK)
    for rank in (8, 16, 32):
        for lr in ("1e-4", "2e-4"):
            score = 0.7 + rank / 1000 + (0.001 if lr == "2e-4" else 0)
            log(copa / "fo_lora" / "original", f"{lr}_lora_rk{rank}", finished(score, score))
    log(copa / "fo_lora" / "synthetic", "1e-4_rk8n32_synthetic", finished(0.5, 0.5))
    (copa / "zo" / "original" / "notes.out").write_text("to do: rerun 2e-7\n")
    (copa / "zo" / "original" / "run.log").write_text("launcher log\n")
    log(copa / "sweeps" / "original", "1e-6_original", finished(0.6, 0.6))
    (copa / "zo" / "original" / "README.md").write_text("not a log\n")
    return results


def test_every_log_is_a_row_or_a_named_warning(tmp_path: Path) -> None:
    results = results_tree(tmp_path)
    found = read_results(results)
    suffixes = (".out", ".err", ".log")
    logs = {path.with_suffix("") for path in results.rglob("*") if path.suffix in suffixes}
    rows = {Path(row["path"]).with_suffix("") for row in found.rows}
    skipped = {Path(line.split(":")[0]).with_suffix("") for line in found.skipped}
    assert logs == rows | skipped and not rows & skipped
    assert len(found.rows) == 4 * 2 + 1 + 6 + 1
    copa = results / "Llama-3.2-1B" / "Copa"
    assert sorted(found.skipped) == sorted([
        f"{copa / 'sweeps/original/1e-6_original.out'}: not in the layout "
        "<Model>/<Task>/<method>/<data>/<lr>_<tag>.out (unknown method folder 'sweeps'; "
        "known: zo, mezo, zo_lora, fo_full, ft, fo_lora, lora)",
        f"{copa / 'zo/original/notes.out'}: no learning rate at the start of the file name",
        f"{copa / 'zo/original/run.log'}: not an old run's log (.out or .err)",
    ])  # fmt: skip
    assert found.tally() == "16 old runs (1 incomplete, 15 legacy), 3 log files skipped"


def test_lora_ranks_are_configurations_of_their_own(tmp_path: Path) -> None:
    frame = load_quietly(results_tree(tmp_path))
    lora = per_config(frame).query("method == 'fo_lora' and data == 'original'")
    assert sorted(zip(lora["lr"], lora["rank"], lora["alpha"], strict=True)) == [
        (1e-4, 8, 16), (1e-4, 16, 16), (1e-4, 32, 16), (2e-4, 8, 16), (2e-4, 16, 16), (2e-4, 32, 16),
    ]  # fmt: skip
    named_alpha = frame.query("method == 'fo_lora' and data == 'synthetic'")
    assert (named_alpha["rank"].item(), named_alpha["alpha"].item()) == (8, 32)


def test_compare_shows_every_data_kind_side_by_side(tmp_path: Path) -> None:
    table = compare(load_quietly(results_tree(tmp_path))).set_index(["model", "task"])
    row = table.loc[("llama1b", "copa")]
    assert row["zo original"] == pytest.approx(0.6)
    assert row["zo synthetic"] == pytest.approx(0.65)
    assert row["zo rejection_sampling"] == pytest.approx(0.7)
    assert row["zo orig_n_syn"] == pytest.approx(0.62)
    assert row["zo rejection_sampling-original"] == pytest.approx(0.1)
    assert row["fo_lora original"] == pytest.approx(0.733)  # rank 32, lr 2e-4
    frame = load_quietly(results_tree(tmp_path / "again"))
    assert set(frame["data_id"]) == {"original", "synthetic", "rejection_sampling", "orig_n_syn"}


def test_a_crashed_run_shows_its_error_in_the_failures_view(tmp_path: Path) -> None:
    failed = failures(load_quietly(results_tree(tmp_path)))
    assert len(failed) == 1
    assert failed["status"].item() == "incomplete"
    assert failed["error"].item() == (
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (2e-7_original.err)"
    )


def test_import_results_warns_and_ends_with_a_tally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = results_tree(tmp_path)
    assert main(["import-results", str(results), "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1 + 16
    lines = err.splitlines()
    assert sum(line.startswith("warning: skipped ") for line in lines) == 3
    assert lines[-1] == f"{results}: 16 old runs (1 incomplete, 15 legacy), 3 log files skipped"


def load_quietly(results: Path):  # noqa: ANN201 (a DataFrame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(results)
