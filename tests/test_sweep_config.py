"""Hydra's own config loading for the checks: users' config folders, grids."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.sweep import run_sweep

from zo_sweep import CONF_DIR
from zo_sweep.errors import ConfigError
from zo_sweep.sweep.grid_check import check_jobs
from zo_sweep.sweep.job_configs import JobConfigs

USER_MODEL = """\
name: qwen05b
id: Qwen/Qwen2.5-0.5B
dtype: bfloat16
family: qwen2
lora_targets: q_proj,v_proj
"""


def _user_conf(tmp_path: Path) -> Path:
    folder = tmp_path / "my_conf"
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "qwen05b.yaml").write_text(USER_MODEL)
    return folder


@pytest.mark.parametrize("how", ["--config-dir", "hydra.searchpath"])
def test_a_users_own_model_yaml_runs_a_dry_run(tmp_path: Path, how: str) -> None:
    conf = _user_conf(tmp_path)
    where = (
        ["--config-dir", str(conf)]
        if how == "--config-dir"
        else [f"hydra.searchpath=[file://{conf}]"]
    )
    done = run_sweep(
        *where, "model=qwen05b", "-m", "lr=1e-6,1e-7", "dry_run=true", f"output_root={tmp_path}"
    )
    assert done.returncode == 0, done.stderr
    assert "2 jobs: 2 dry_run" in done.stdout
    (train_yaml, *_) = sorted(tmp_path.rglob("qwen05b/*/*/train.yaml"))
    assert "model: Qwen/Qwen2.5-0.5B" in train_yaml.read_text()


def test_an_unknown_option_lists_the_users_options_too(tmp_path: Path) -> None:
    done = run_sweep(
        "--config-dir", str(_user_conf(tmp_path)), "model=qwen", f"output_root={tmp_path}"
    )
    assert done.returncode == 2
    assert "unknown model 'qwen' (known: llama1b" in done.stderr and "qwen05b" in done.stderr


def _check_grid(*overrides: str) -> tuple[int, int]:
    """Hydra's grid of these overrides checked as the grid sweeper checks it: the number of
    jobs, and how often Hydra composed a config (the sweep's own, then each shape's)."""
    from hydra import initialize_config_dir
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.types import RunMode

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration("config", list(overrides), RunMode.MULTIRUN)
        (jobs,) = BasicSweeper.split_arguments(
            OverridesParser.create().parse_overrides(list(overrides)), None
        )
        configs = JobConfigs(loader)
        check_jobs(configs, master, jobs)
    return len(jobs), 1 + configs.compositions


def test_a_grid_is_composed_once_per_choice_of_groups(compose_config) -> None:
    lrs = ",".join(f"{n}e-6" for n in range(1, 26))
    jobs, composed = _check_grid(f"lr={lrs}", "method=zo,fo_full")
    assert jobs == 50
    assert composed == 3  # the base, then method=zo and method=fo_full


def test_a_bad_value_in_a_grid_names_its_job(compose_config) -> None:
    with pytest.raises(ConfigError, match=r"^job lr=0 seed=0: lr=0.0: must be > 0$"):
        _check_grid("lr=1e-6,0", "seed=0,1")
