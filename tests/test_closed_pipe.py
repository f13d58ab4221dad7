"""A closed pipe is no error: `python -m zo_sweep --help | head` ends quietly, as Unix tools do."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.sweep import REPO_ROOT, job_results, write_probe

from zo_sweep.closed_pipe import EXIT_CLOSED_PIPE

# Each entry point with a command that writes more than its reader takes.
COMMANDS = {
    "zo_sweep": ["-m", "zo_sweep", "--help"],
    "summary": ["-m", "zo_sweep.summary", "{jobs}", "--purpose", "all"],
    "legacy": [
        "-m",
        "zo_sweep.legacy",
        "convert",
        "legacy_scripts/Llama-3.2-1B/1_0_mezo_orig_copa.sh",
    ],
    "data": ["-m", "zo_sweep.data", "preview", "sst2", "--num", "20"],
}


def _a_finished_job(root: Path) -> Path:
    job = root / "study" / "2024-05-01_10-00-00" / "m" / "sst2_zo_original" / "lr=1"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "config.yaml").write_text(
        "purpose: study\nlr: 1.0\nmodel: {name: m}\ntask: {name: sst2}\n"
        "method: {name: zo}\ndata: {name: original}\n"
    )
    (job / "result.json").write_text(json.dumps({"status": "ok", "best_dev": 0.5}))
    return root


@pytest.mark.parametrize("entry", sorted(COMMANDS))
def test_an_entry_point_ends_quietly_when_its_reader_closes_the_pipe(
    tmp_path: Path, entry: str
) -> None:
    jobs = _a_finished_job(tmp_path / "outputs")
    argv = [arg.format(jobs=jobs) for arg in COMMANDS[entry]]
    process = subprocess.Popen(
        [sys.executable, *argv],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    process.stdout.close()  # the reader is gone before the first line is written
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == EXIT_CLOSED_PIPE, stderr[-2000:]
    assert "Broken pipe" not in stderr and "Traceback" not in stderr, stderr[-2000:]
    assert "error" not in stderr.lower(), stderr[-2000:]


def _entry_modules() -> list[str]:
    """Every module of the package a user runs: a __main__.py, or one with a __main__ block."""
    package = REPO_ROOT / "zo_sweep"
    found = []
    for path in sorted(package.rglob("*.py")):
        text = path.read_text()
        if path.name == "__main__.py" or 'if __name__ == "__main__"' in text:
            found.append(".".join(path.relative_to(REPO_ROOT).with_suffix("").parts))
    return found


def _main_is_wrapped(module_name: str) -> bool | None:
    """Whether the `main` that runs (the module's own, or the one its __main__ imports) is
    decorated with quiet_on_closed_pipe; None for a module without one. Read, not imported:
    the benchmarks import torch."""
    tree = _tree(module_name)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "main":
            return any(_name(d) == "quiet_on_closed_pipe" for d in node.decorator_list)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any(a.name == "main" for a in node.names):
            return _main_is_wrapped(str(node.module))
    return None


def _tree(module_name: str) -> ast.Module:
    return ast.parse((REPO_ROOT / Path(*module_name.split(".")).with_suffix(".py")).read_text())


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")


@pytest.mark.parametrize("module_name", _entry_modules())
def test_every_entry_point_is_quiet_on_a_closed_pipe(module_name: str) -> None:
    wrapped = _main_is_wrapped(module_name)
    if module_name == "zo_sweep.sweep.guard":
        pytest.skip("the job's keeper writes nothing to stdout of its own")
    assert wrapped, f"{module_name}: its main is not wrapped in quiet_on_closed_pipe"


def test_a_sweep_whose_reader_goes_away_runs_on_to_its_end(tmp_path: Path) -> None:
    """`python -m zo_sweep -m ... | head`: the jobs still run, and the exit code is theirs."""
    probe = write_probe(tmp_path / "probe")
    process = subprocess.Popen(
        [sys.executable, "-m", "zo_sweep", "-m", "lr=1e-3,1e-4", f"method.script={probe}",
         f"output_root={tmp_path}", "progress_every_s=1"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PROBE_STEPS": "4", "STEP_SLEEP": "0.3"},
    )  # fmt: skip
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 0, stderr[-2000:]
    assert stderr == ""
    assert [result["status"] for result in job_results(tmp_path).values()] == ["ok", "ok"]
