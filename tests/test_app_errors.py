"""Bad input is one clear line on stderr and a non-zero exit, before any job starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_cli import run_sweep

from zo_sweep.sweep import plugins

BAD_INPUTS = {
    "negative lr in a sweep": (["-m", "lr=1e-4,-1"], "lr=-1.0: must be > 0"),
    "non-numeric lr": (["lr=abc"], "lr: Value 'abc' of type 'str' could not be converted to Float"),
    "rank 0 in a sweep": (["-m", "method=fo_lora", "rank=0,4"], "rank=0: must be >= 1"),
    "batch size 0": (["bs=0"], "bs=0: must be >= 1"),
    "unknown task option": (["-m", "task=copa,foo"], "unknown task 'foo' (known: arcc_cloze"),
    "missing task template": (["task.template=nope.j2"], "task: template 'nope.j2' not found"),
    "infinite lr": (["lr=inf"], "lr=inf: must be a finite number"),
    "gpus not a list": (["gpus=foo"], "gpus=foo: use auto, a list of GPU ids"),
    "empty purpose": (["purpose=''"], "purpose is empty"),
    "key nothing reads": (["+learning_rate=1e-6"], "unknown key 'learning_rate': nothing reads it"),
    "misspelt key": (["+seeds=1"], "unknown key 'seeds': nothing reads it (did you mean seed?"),
    "setting through extra_env": (["+extra_env.WD=0.1"], "extra_env.WD: WD is a trainer setting; set it as wd="),
    "unknown key without +": (["learning_rate=1e-6"], "unknown key 'learning_rate': nothing reads it"),
    "missing data folder": (["data.root=/nonexistent/data"], "data folder not found: /nonexistent/data/SST-2"),
    "missing script": (["method.script=no/such/script.sh"], "no such script 'no/such/script.sh'"),
}  # fmt: skip


@pytest.mark.parametrize("arguments,message", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_one_line_before_any_job(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    done = run_sweep(*arguments, f"output_root={tmp_path}")
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and message in lines[0]
    assert not list(tmp_path.rglob("command.sh")), "no job may start"


def test_minimising_optuna_sweep_is_refused(tmp_path: Path) -> None:
    done = run_sweep("-m", "hydra/sweeper=optuna", f"output_root={tmp_path}")
    assert done.returncode != 0
    assert "use search=optuna or hydra.sweeper.direction=maximize" in done.stderr


def test_missing_launcher_plugin_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugins.importlib.util, "find_spec", lambda name: None)
    message = plugins.missing_plugin_message(["-m", "hydra/launcher=slurm", "lr=1e-6"])
    assert (
        message
        == 'hydra/launcher=slurm needs the Hydra plugin hydra_submitit_launcher: pip install -e ".[slurm]"'
    )
    assert "optuna" in (plugins.missing_plugin_message(["search=optuna"]) or "")
    assert plugins.missing_plugin_message(["lr=1e-6"]) is None
