"""What the old base scripts fixed, and the old grid, each said once and checked against its twin.

- zo_sweep/legacy/base_script_defaults.yaml (what the converter assumes for unset variables)
  against legacy_scripts/_run_trainer.sh (what the base scripts really export);
- the legacy_*_grid presets against the converter's output on the shipped old scripts.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

import pytest
from legacy_support import EXAMPLE_SCRIPTS, REPO_ROOT
from omegaconf import DictConfig, OmegaConf

from zo_sweep.legacy import base_scripts, zo_config
from zo_sweep.legacy.convert import convert_script, same_value
from zo_sweep.legacy.sweeps import GROUPS, Sweep

PROBE = '#!/bin/sh\nenv > "$ENV_FILE"\n'


def base_script_env(tmp_path: Path, script: str, task: str, **env: str) -> dict[str, str]:
    """The environment a base script hands to the trainer (a probe stands in for python)."""
    probe = tmp_path / "probe.sh"
    probe.write_text(PROBE)
    probe.chmod(0o755)
    dumped = tmp_path / "env.txt"
    run_env = {"PATH": os.environ["PATH"], "PYTHON": str(probe), "ENV_FILE": str(dumped),
               "TASK": str(tmp_path / "Data" / "original" / task), "OUTPUT_DIR": str(tmp_path),
               **env}  # fmt: skip
    done = subprocess.run(
        ["bash", str(REPO_ROOT / "legacy_scripts" / script)], env=run_env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in dumped.read_text().splitlines() if "=" in line)


@pytest.mark.parametrize(("folder", "task"), [("Copa", "copa"), ("CB", "cb"), ("RTE", "rte")])
def test_the_base_scripts_apply_the_defaults_the_converter_assumes(
    tmp_path: Path, folder: str, task: str
) -> None:
    env = base_script_env(tmp_path, "mezo_finetune_original.sh", folder, MODE="lora")
    assumed = base_scripts.unset_defaults(task)
    assert {name: env.get(name) for name in assumed} == assumed
    assert assumed["EVAL_STEPS"] == "500" and assumed["DEV"] == (
        "100" if task in "copacb" else "500"
    )


def test_a_lora_base_script_forces_lora_whatever_the_caller_says(tmp_path: Path) -> None:
    env = base_script_env(tmp_path, "fo_lora_finetune_original.sh", "Copa", MODE="ft")
    assert env["MODE"] == "lora"
    assert base_scripts.forced_variables("fo_lora_finetune_original.sh") == {"MODE": "lora"}
    assert base_scripts.forced_variables("mezo_finetune_original.sh") == {}


@functools.cache
def preset_config(method: str, task: str, data: str) -> DictConfig:
    overrides = [
        f"experiment=legacy_{method}_grid",
        "model=llama1b",
        f"task={task}",
        f"data={data}",
    ]
    return zo_config.compose(overrides)


def normalised(values: list[str]) -> set[object]:
    out: set[object] = set()
    for value in values:
        try:
            out.add(float(value))
        except ValueError:
            out.add(value)
    return out


@functools.cache
def llama1b_sweeps() -> list[Sweep]:
    scripts = [s for s in EXAMPLE_SCRIPTS if s.parent.name == "Llama-3.2-1B"]
    return [sweep for s in scripts for sweep in convert_script(s).sweeps]


@pytest.mark.parametrize("method", ["zo", "fo_full", "fo_lora"])
def test_each_preset_is_the_grid_the_shipped_scripts_convert_to(method: str) -> None:
    preset = OmegaConf.load(zo_config.CONF_DIR / "experiment" / f"legacy_{method}_grid.yaml")
    grid = {key: normalised(str(values).split(",")) for key, values in preset.hydra.sweeper.params.items()}  # fmt: skip
    derived: dict[str, set[object]] = {key: set() for key in grid}
    sweeps = [sweep for sweep in llama1b_sweeps() if sweep.fixed["method"] == method]
    assert sweeps
    for sweep in sweeps:
        for key in grid:
            derived[key] |= normalised(sweep.values(key))
        config = preset_config(method, sweep.fixed["task"], sweep.fixed["data"])
        for key, value in sweep.fixed.items():
            if key not in GROUPS:  # every setting a script pins, the preset pins the same
                assert same_value(value, OmegaConf.select(config, key)), (key, value)
    assert derived == grid
