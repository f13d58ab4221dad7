"""Old scripts and zo_sweep run the same training: same base script, same environment values.

A zo_sweep job runs the trainer on its train.yaml; what the old interface would have run for
it is its method's base script with the settings as variables (method.base_script, and
settings_environment). Every example script is read (its base script and environment per
learning rate) and compared with that of the job zo_sweep builds for the matching config,
named independently of the converter:
model from the script's folder, task, method and data from its file name, the settings of
the method's legacy preset. The base scripts' own defaults (DEV, EVAL_STEPS) and forced
values (MODE=lora) are added to the old side, as the training received them. The presets
conf/experiment/legacy_*_grid.yaml are dry-run and must give exactly the old scripts' commands.
"""

from __future__ import annotations

import functools
import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.legacy import EXAMPLE_SCRIPTS, REPO_ROOT, comparable
from omegaconf import DictConfig, OmegaConf

from zo_sweep.data.tasks import load_task_spec
from zo_sweep.legacy import base_scripts, zo_config
from zo_sweep.legacy.shell_parse import parse_script
from zo_sweep.legacy.zo_config import compose
from zo_sweep.sweep.handoff import job_settings, settings_environment
from zo_sweep.sweep.validation import resolve_script
from zo_sweep.train.sources import load_settings

MODELS = {"Llama-3.2-1B": "llama1b", "Llama-3.2-3B": "llama3b", "Mistral-7B-v0.1": "mistral7b",
          "Mistral-Nemo-Base-2407": "mistral_nemo"}  # fmt: skip
METHODS = {"mezo": "zo", "fo_full": "fo_full", "fo_lora": "fo_lora"}
DATA = {"orig": "original", "syn": "synthetic"}
SCRIPT_NAME = re.compile(
    r"^\d+_\d+_(?P<method>mezo|fo_full|fo_lora)_(?P<data>orig|syn)_(?P<task>[a-z0-9_]+?)"
    r"(_rk[0-9n]+)?\.sh$"
)
PRESETS = ("legacy_zo_grid", "legacy_fo_full_grid", "legacy_fo_lora_grid")


def expected_config(script: Path) -> list[str]:
    match = SCRIPT_NAME.match(script.name)
    assert match, script.name
    return [
        f"model={MODELS[script.parent.name]}",
        f"task={load_task_spec(match.group('task')).name}",  # arccloz: arcc_cloze
        f"method={METHODS[match.group('method')]}",
        f"data={DATA[match.group('data')]}",
        # The study settings the scripts pin (BS 4, STEPS 20000, ...) are the preset's.
        f"experiment=legacy_{METHODS[match.group('method')]}_grid",
    ]


def old_commands(script: Path) -> list[tuple[Path, dict[str, str]]]:
    """(base script, env) of each run, with what the old base script added (its defaults for
    unset variables, what it forces): what the training really received."""
    commands = []
    for launch in parse_script(script).launches:
        task = load_task_spec(Path(launch.env["TASK"]).name).name
        env = {**base_scripts.unset_defaults(task), **launch.env}
        env.update(base_scripts.forced_variables(launch.script.name))
        commands.append((launch.script, env))
    return commands


@functools.cache
def composed(overrides: tuple[str, ...]) -> DictConfig:
    return compose(list(overrides))


def job_command(overrides: list[str], lr: str, job_dir: Path) -> tuple[Path, dict[str, str]]:
    """(base script, env) of the zo_sweep job for these overrides at this learning rate."""
    config = composed(tuple(overrides)).copy()  # one composition serves every lr of a cell
    config.lr = float(lr)
    settings = job_settings(config, job_dir)
    return resolve_script(str(config.method.base_script)), settings_environment(settings, job_dir)


def job_dir_command(job_dir: Path) -> tuple[Path, dict[str, str]]:
    """(base script, env) of a job the sweep wrote: its method's script, its train.yaml."""
    base_script = OmegaConf.load(job_dir / ".hydra" / "config.yaml").method.base_script
    settings = load_settings(["--config", str(job_dir / "train.yaml")], {})
    return resolve_script(str(base_script)), settings_environment(settings, job_dir)


def assert_same_commands(old: list, new: list) -> None:
    """Same base scripts and, for every variable both sides set, the same values."""
    assert len(old) == len(new)
    for (old_script, old_env), (new_script, new_env) in zip(
        sorted(old, key=_key), sorted(new, key=_key), strict=True
    ):
        assert new_script == old_script.resolve()
        both = set(old_env) & set(new_env)
        assert {"MODEL", "TASK", "MODE", "LR", "BS", "STEPS", "SEED", "DEV", "EVAL_STEPS"} <= both
        assert comparable(old_env, both) == comparable(new_env, both)


def _key(command: tuple[Path, dict[str, str]]) -> tuple:
    script, env = command
    task = Path(env["TASK"])
    return (script.name, task.parent.name, task.name, int(env.get("RANK", 0)), float(env["LR"]))


@pytest.mark.parametrize(
    "script", EXAMPLE_SCRIPTS, ids=lambda path: f"{path.parent.name}/{path.name}"
)
def test_zo_sweep_job_runs_what_the_old_script_ran(script: Path, tmp_path: Path) -> None:
    old = old_commands(script)
    new = [
        job_command(
            [*expected_config(script), *([f"rank={env['RANK']}"] if "RANK" in env else [])],
            env["LR"],
            tmp_path,
        )
        for _, env in old
    ]
    assert_same_commands(old, new)


def preset_jobs(preset: str) -> list[list[str]]:
    """The overrides of every job of a preset's sweep (its grid of comma lists)."""
    params = OmegaConf.load(
        zo_config.CONF_DIR / "experiment" / f"{preset}.yaml"
    ).hydra.sweeper.params
    grid = [
        [f"{key}={value}" for value in str(values).split(",")] for key, values in params.items()
    ]
    return [list(job) for job in itertools.product(*grid)]


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_reproduces_the_old_grid_of_a_model(preset: str, tmp_path: Path) -> None:
    method = preset.removeprefix("legacy_").removesuffix("_grid")
    old_scripts = [
        s
        for s in EXAMPLE_SCRIPTS
        if s.parent.name == "Llama-3.2-1B" and expected_config(s)[2] == f"method={method}"
    ]
    old = [command for script in old_scripts for command in old_commands(script)]
    new = []
    for job in preset_jobs(preset):
        lr = job.pop()
        new.append(
            job_command(["model=llama1b", f"experiment={preset}", *job], lr.split("=")[1], tmp_path)
        )
    assert len(new) == 7 * 2 * (3 * 2 if method == "fo_lora" else 4)
    assert_same_commands(old, new)


def test_dry_run_of_a_preset_writes_the_old_commands(tmp_path: Path) -> None:
    """The preset's grid on one task (Hydra composes each job: the whole grid takes a minute)."""
    preset = "legacy_fo_lora_grid"
    command = [sys.executable, "-m", "zo_sweep", "-m", f"experiment={preset}", "model=llama1b",
               "hydra.sweeper.params.task=copa", "dry_run=true", f"output_root={tmp_path}",
               "hydra/hydra_logging=disabled", "hydra/job_logging=disabled"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    new = [job_dir_command(path.parent) for path in sorted(tmp_path.rglob("train.yaml"))]
    old_scripts = [
        s
        for s in EXAMPLE_SCRIPTS
        if s.parent.name == "Llama-3.2-1B" and "_fo_lora_" in s.name and "copa" in s.name.lower()
    ]
    assert old_scripts
    old = [command for script in old_scripts for command in old_commands(script)]
    assert_same_commands(old, new)


def test_presets_sweep_every_task_config() -> None:
    tasks = set(zo_config.task_names_by_folder().values())
    for preset in PRESETS:
        swept = OmegaConf.load(
            zo_config.CONF_DIR / "experiment" / f"{preset}.yaml"
        ).hydra.sweeper.params.task
        assert set(swept.split(",")) == tasks
