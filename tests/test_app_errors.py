"""Bad input is one clear line on stderr and a non-zero exit, before any job starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.sweep import run_sweep

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
    "empty purpose": (["purpose=''"], "purpose='': must not be empty"),
    "key nothing reads": (["+learning_rate=1e-6"], "unknown key 'learning_rate': nothing reads it"),
    "misspelt key with +": (["+seeds=1"], "unknown key 'seeds': nothing reads it (did you mean seed?"),
    "setting through extra_env": (["+extra_env.WD=0.1"], "extra_env.WD: WD is a trainer setting; set it as wd="),
    "unknown key without +": (["learning_rate=1e-6"], "unknown key 'learning_rate': nothing reads it"),
    "missing data folder": (["data.root=/nonexistent/data"], "data folder not found: /nonexistent/data/SST-2"),
    "missing script": (["method.script=no/such/script.sh"], "no such script 'no/such/script.sh'"),
    "unknown launcher": (["-m", "hydra/launcher=foo"], "unknown hydra/launcher 'foo' (known: basic, joblib"),
    "unknown sweeper": (["-m", "hydra/sweeper=foo"], "unknown hydra/sweeper 'foo' (known: basic"),
    "unknown search": (["-m", "search=foo"], "unknown search 'foo' (known: optuna, optuna_lora)"),
    "misspelt key": (["methd=zo"], "unknown key 'methd': nothing reads it (did you mean method?"),
    "unknown key": (["foo=1"], "unknown key 'foo': nothing reads it"),
    "new env variable": (["extra_env.WD=0.01"], "add + to add one: +extra_env.WD=0.01"),
    "unclosed list": (["lr=[1,2"], "cannot read the override 'lr=[1,2': "),
    "unclosed list in a sweep": (["-m", "lr=[1,2"], "cannot read the override 'lr=[1,2': "),
}  # fmt: skip

# Presets in a folder of the user's own (hydra.searchpath), and the line each gives.
BAD_PRESETS = {
    "bad YAML": ("search", "lr: [1,\n  bar: }\n", "bad YAML in "),
    "experiment with an unknown key": (
        "experiment",
        "hydra:\n  sweeper:\n    paramz:\n      lr: 1,2\n",
        "Key 'paramz' not in 'GridSweeperConf'",
    ),
}


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


@pytest.mark.parametrize("mode", [[], ["-m"]], ids=["single run", "sweep"])
def test_an_output_root_that_cannot_be_created_is_one_line(mode: list[str]) -> None:
    done = run_sweep(*mode, "output_root=/proc/x", "dry_run=true")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: cannot create the output folder /proc/x/"
    )


@pytest.mark.parametrize("group,text,message", BAD_PRESETS.values(), ids=BAD_PRESETS.keys())
def test_a_bad_preset_is_one_line(tmp_path: Path, group: str, text: str, message: str) -> None:
    presets = tmp_path / "conf" / group
    presets.mkdir(parents=True)
    (presets / "mine.yaml").write_text(f"# @package _global_\n{text}")
    done = run_sweep(
        "-m", f"{group}=mine", f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
        f"output_root={tmp_path / 'out'}",
    )  # fmt: skip
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not (tmp_path / "out").exists()


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
