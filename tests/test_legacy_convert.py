"""`python -m zo_sweep.legacy convert`: old scripts to zo_sweep commands and presets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers.legacy import EXAMPLE_SCRIPTS, REPO_ROOT

from zo_sweep.legacy.cli import main
from zo_sweep.legacy.convert import convert_script

SAME_RUNS_MARK = "# The same runs as a zo_sweep sweep:"


def documented_command(script: Path) -> str:
    """The zo_sweep command each example script names in its header."""
    lines = script.read_text().splitlines()
    return lines[lines.index(SAME_RUNS_MARK) + 1].lstrip("# ").strip()


@pytest.mark.parametrize(
    "script", EXAMPLE_SCRIPTS, ids=lambda path: f"{path.parent.name}/{path.name}"
)
def test_each_example_converts_to_the_command_it_documents(script: Path) -> None:
    conversion = convert_script(script)
    assert conversion.problems == []
    assert [sweep.command() for sweep in conversion.sweeps] == [documented_command(script)]


def test_cli_prints_one_sweep_per_script(capsys: pytest.CaptureFixture[str]) -> None:
    scripts = [
        REPO_ROOT / "legacy_scripts/Llama-3.2-1B/1_0_mezo_orig_copa.sh",
        REPO_ROOT / "legacy_scripts/Llama-3.2-1B/1_2_fo_lora_orig_copa_rk8n16n32.sh",
    ]
    assert main(["convert", *map(str, scripts), "--set", "DATA_ROOT=/data/Data"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"# {scripts[0]}",
        "python -m zo_sweep model=llama1b task=copa method=zo data=original "
        "data.root=/data/Data/original bs=4 -m lr=1e-6,5e-7,2e-7,1e-7",
        f"# {scripts[1]}",
        "python -m zo_sweep model=llama1b task=copa method=fo_lora data=original "
        "data.root=/data/Data/original bs=4 steps=20000 -m rank=8,16,32 lr=1e-4,2e-4",
    ]
    assert err == "2 scripts: 2 converted, 0 with notes, 0 not convertible\n"


HAND_WRITTEN = """#!/bin/bash
cd /home/me/MeZO/large_models
export CUDA_VISIBLE_DEVICES=0
for lr in 1e-6 5e-7; do
  for rk in 4 8; do
    MODEL=meta-llama/Llama-3.2-3B MODE=lora TASK=/data/Data/synthetic/RTE LR=$lr RANK=$rk \\
      MY_FLAG=1 EPS=1e-2 STEPS=5000 bash mezo_finetune_synthetic.sh > out_${lr}_${rk}.log 2>&1 &
  done
done
wait
MODEL=my-org/my-model TASK=/data/Data/original/SST-2 LR=1e-5 bash fo_full_finetune_original.sh
MODEL=x TASK=/data/Data/original/Copa LR=1e-6 bash ./run_mezo.sh
"""


def test_hand_written_script_with_unknown_variable_and_script(tmp_path: Path) -> None:
    script = tmp_path / "old.sh"
    script.write_text(HAND_WRITTEN)
    conversion = convert_script(script)
    assert [sweep.command() for sweep in conversion.sweeps] == [
        # EVAL_STEPS, BS and STEPS left unset: the old base script's 500, 16 and 20000.
        "python -m zo_sweep model=llama3b task=rte method=zo_lora data=synthetic "
        "data.root=/data/Data/synthetic +extra_env.MY_FLAG=1 steps=5000 "
        "-m rank=4,8 lr=1e-6,5e-7",
        "python -m zo_sweep model.id=my-org/my-model model.name=my-model task=sst2 method=fo_full "
        "data=original data.root=/data/Data/original lr=1e-5 bs=16 steps=20000",
    ]
    gpus_note = (
        "note: CUDA_VISIBLE_DEVICES=0: zo_sweep gives each job a GPU of its own; to use only "
        "these GPUs add 'gpus=[0]'"
    )
    assert [str(problem) for problem in conversion.problems] == [
        f"{script}:6: {gpus_note}",
        f"{script}:6: warning: unknown variable MY_FLAG=1: passed on as +extra_env.MY_FLAG",
        f"{script}:11: {gpus_note}",
        f"{script}:12: error: unknown base script run_mezo.sh (known: "
        "fo_full_finetune_${data.name}.sh, fo_lora_finetune_${data.name}.sh, "
        "mezo_finetune_${data.name}.sh); run a foreign script with method.script=PATH",
    ]
    assert conversion.failed


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "old.sh"
    script.write_text(HAND_WRITTEN)
    assert main(["convert", str(script)]) == 1
    assert "unknown variable MY_FLAG=1" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "missing.sh")]) == 2
    assert capsys.readouterr().err.strip().endswith(f"no such script: {tmp_path / 'missing.sh'}")


def test_write_experiment_preset(tmp_path: Path) -> None:
    script = REPO_ROOT / "legacy_scripts/Llama-3.2-1B/3_2_fo_lora_syn_rte_rk8n16n32.sh"
    args = ["convert", str(script), "--write-experiment", "old_rte", "--conf-dir", str(tmp_path)]
    args += ["--set", "DATA_ROOT=/data/Data", "--set", "STEPS=500"]
    assert main(args) == 0
    text = (tmp_path / "experiment" / "old_rte.yaml").read_text()
    assert text.startswith("# @package _global_\n")
    preset = yaml.safe_load(text)
    assert preset["defaults"] == [
        {"override /model": "llama1b"},
        {"override /task": "rte"},
        {"override /method": "fo_lora"},
        {"override /data": "synthetic"},
    ]
    assert preset["data"] == {"root": "/data/Data/synthetic"}
    assert (preset["steps"], preset["bs"]) == (500, 4)
    assert preset["hydra"]["sweeper"]["params"] == {"rank": "8,16,32", "lr": "1e-4,2e-4"}
    assert main(args) == 2  # never overwritten without --force


def test_module_entry_point() -> None:
    script = REPO_ROOT / "legacy_scripts/Mistral-Nemo-Base-2407/1_0_mezo_syn_copa.sh"
    done = subprocess.run(
        [sys.executable, "-m", "zo_sweep.legacy", "convert", str(script)],
        capture_output=True, text=True, cwd=REPO_ROOT, check=True,
    )  # fmt: skip
    assert done.stdout.splitlines()[1] == documented_command(script)


def test_the_large_models_convert_to_their_own_options(tmp_path: Path) -> None:
    """Their options bring the devices a job needs, which model.id=... would not."""
    script = tmp_path / "big.sh"
    script.write_text(
        "MODEL=meta-llama/Meta-Llama-3-70B TASK=/data/Data/original/Copa LR=1e-6 "
        "bash mezo_finetune_original.sh\n"
        "MODEL=allenai/OLMo-2-0325-32B TASK=/data/Data/original/RTE LR=1e-6 "
        "bash mezo_finetune_original.sh\n"
    )
    commands = [sweep.command() for sweep in convert_script(script).sweeps]
    assert [command.split()[3] for command in commands] == ["model=llama70b", "model=olmo2_32b"]
