"""The command line: views, formats, filters, --out, and one-line errors."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_summary_support import ok_result, write_job

from zo_sweep import records
from zo_sweep.summary.cli import main


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "outputs"
    for seed, dev in enumerate([0.7, 0.8]):
        write_job(root, seed=seed, result=ok_result(dev, dev - 0.1))
        write_job(root, seed=seed, data="synthetic", result=ok_result(dev + 0.05, dev))
    write_job(root, lr=1e-5, method="fo_lora", result=ok_result(0.9, 0.85))
    write_job(root, lr=1e-5, method="fo_lora", seed=1, result={"status": "failed", "error": "OOM"})
    write_job(root, purpose="debug", timestamp="2023-01-01_00-00-00", result=ok_result(0.1, 0.1))
    return root


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_module_entry_point_prints_the_compare_table(archive: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "zo_sweep.summary",
            str(archive),
            "--view",
            "compare",
            "--purpose",
            "paper",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    header, _, row = completed.stdout.splitlines()[:3]
    # The names the figures use (conf/'s `display:`), and what the cells measure.
    assert re.split(r"\s{2,}", header.strip()) == [
        "model",
        "task",
        "metric",
        "MeZO original",
        "MeZO synthetic",
        "MeZO synthetic - original",
        "LoRA original",
    ]
    assert row.split() == [
        "Llama-3.2-1B",
        "COPA",
        "test",
        "accuracy",
        *("0.650", "±", "0.071", "(n=2)"),
        *("0.750", "±", "0.071", "(n=2)"),
        "+0.100",
        *("0.850", "(n=1)"),
    ]


def test_csv_of_the_best_view(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys, str(archive), "--view", "best", "--format", "csv", "--purpose", "paper"
    )
    table = pd.read_csv(io.StringIO(out)).set_index(["method", "data"])
    assert code == 0
    assert table.loc[("MeZO", "original"), "seeds"] == 2
    assert table.loc[("MeZO", "original"), "test_mean"] == pytest.approx(0.65)
    assert table.loc[("LoRA", "original"), "seeds"] == 1
    assert set(table["model"]) == {"Llama-3.2-1B"} and set(table["metric"]) == {"accuracy"}


def test_json_markdown_latex_and_terminal_formats(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run_cli(capsys, str(archive), "--format", "json", "--purpose", "all")
    rows = json.loads(out)
    assert len(rows) == 7 and {"lr", "status", "path", "timestamp"} <= set(rows[0])
    _, out, _ = run_cli(
        capsys, str(archive), "--view", "best", "--format", "markdown", "--purpose", "paper"
    )
    assert out.splitlines()[0].startswith("| model") and "|:--" in out.splitlines()[1]
    _, out, _ = run_cli(
        capsys, str(archive), "--view", "compare", "--format", "latex", "--purpose", "paper"
    )
    assert "\\begin{tabular}" in out and "MeZO synthetic - original" in out
    _, out, _ = run_cli(capsys, str(archive), "--view", "failures", "--purpose", "paper")
    assert out.splitlines()[2].split()[-3:-1] == ["failed", "OOM"]


def test_out_file_takes_its_format_from_the_suffix(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tables" / "best.csv"
    code, stdout, stderr = run_cli(
        capsys, str(archive), "--view", "best", "--out", str(out), "--purpose", "paper"
    )
    assert code == 0 and stdout == "" and "wrote" in stderr
    assert len(pd.read_csv(out)) == 3


def test_several_purposes_are_listed_and_one_must_be_chosen(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, str(archive), "--view", "best")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "paper (6 jobs)" in err and "debug (1 jobs)" in err and "--purpose all" in err
    code, _, err = run_cli(capsys, str(archive), "--view", "best", "--purpose", "all")
    # Purpose is not a training setting: debug's job reruns paper's seed 0, the later one counts.
    assert code == 0 and "note: 1 rerun of an identical configuration and seed left out" in err
    code, out, _ = run_cli(capsys, str(archive), "--view", "runs", "--purpose", "all")
    assert code == 0 and "debug" in out  # ... but every job is listed


def test_filters_narrow_the_rows(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def rows(*filters: str) -> list[dict]:
        return json.loads(run_cli(capsys, str(archive), "--format", "json", *filters)[1])

    assert {row["method"] for row in rows("--method", "fo_lora")} == {"fo_lora"}
    assert {row["purpose"] for row in rows("--purpose", "all")} == {"paper", "debug"}
    assert len(rows("--data", "original,synthetic", "--purpose", "paper")) == 6
    assert [row["status"] for row in rows("--status", "failed")] == ["failed"]
    assert {row["purpose"] for row in rows("--since", "2024-01-01")} == {"paper"}
    assert rows("--model", "nope") == []


def test_mistakes_are_one_line_errors(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, str(archive), "--since", "not-a-date")
    assert code == 2 and err.count("\n") == 1 and "--since" in err
    code, _, err = run_cli(capsys, str(tmp_path / "nowhere"))
    assert code == 2 and err.count("\n") == 1 and "no such directory" in err


def test_corrupt_file_is_a_one_line_warning(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = next(archive.rglob(records.RESULT_FILE)).parent
    (job / records.RESULT_FILE).write_text("{not json")
    code, out, err = run_cli(capsys, str(archive), "--status", "corrupt", "--purpose", "all")
    assert code == 0 and "corrupt" in out
    warning_lines = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warning_lines) == 1 and str(job / records.RESULT_FILE) in warning_lines[0]
