"""One schema from the command line to the optimizer: train.yaml, the env vars and the flags."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import torch
from helpers.sweep import run_sweep
from omegaconf import OmegaConf

from zo_sweep.data.kinds import derived_folders
from zo_sweep.data.layout import example_data_root
from zo_sweep.data.tasks import DataError
from zo_sweep.errors import ConfigError
from zo_sweep.sweep.handoff import job_settings, settings_environment, write_settings
from zo_sweep.train.pipeline import composed_task
from zo_sweep.train.settings import SETTINGS_ENV, TrainSettings, env_fields
from zo_sweep.train.sources import DERIVED_SETTINGS, load_settings
from zo_sweep.train.steppers import make_stepper


def _train_yaml(compose_config, tmp_path: Path, *overrides: str) -> Path:
    settings = job_settings(compose_config(*overrides), tmp_path)
    return write_settings(tmp_path, settings)


def test_lr_from_the_command_line_reaches_the_optimizer_as_one_typed_value(
    compose_config, tmp_path: Path
) -> None:
    path = _train_yaml(compose_config, tmp_path, "method=fo_full", "lr=3e-4")
    assert OmegaConf.load(path).lr == 3e-4  # typed in the file, not a string
    settings = load_settings([], {SETTINGS_ENV: str(path)})
    assert type(settings.lr) is float and settings.lr == 3e-4
    stepper = make_stepper(torch.nn.Linear(2, 1), settings, "ce", pad_id=0)
    assert stepper.optimizer.param_groups[0]["lr"] == 3e-4


def test_env_vars_and_flags_read_through_the_same_schema(compose_config, tmp_path: Path) -> None:
    path = _train_yaml(compose_config, tmp_path, "method=fo_lora", "task=cb", "lr=2e-4")
    from_file = load_settings(["--config", str(path)], {})
    # What an old-interface script sees is the same run, read back through the same schema.
    environ = settings_environment(from_file, tmp_path)
    environ.pop(SETTINGS_ENV)
    from_env = load_settings([], environ)
    assert from_env == TrainSettings(**{**vars(from_file), "task": None, "data": None})
    assert load_settings(["--lr", "5e-5"], environ).lr == 5e-5  # a flag wins


def test_every_setting_has_one_default_and_an_env_var() -> None:
    settings = load_settings([], {"OUTPUT_DIR": "out"})
    for spec in fields(TrainSettings):
        if spec.metadata:
            assert getattr(settings, spec.name) == (
                spec.default if spec.name != "output_dir" else "out"
            )
    assert len(set(env_fields().values())) == len(env_fields())


def test_a_job_exports_every_setting_and_names_its_train_yaml(
    compose_config, tmp_path: Path
) -> None:
    settings = job_settings(compose_config("task=copa", "lr=1e-5", "num_train=32"), tmp_path)
    environ = settings_environment(settings, tmp_path)
    assert environ[SETTINGS_ENV] == str(tmp_path.resolve() / "train.yaml")
    assert environ["LR"] == "1e-05" and environ["TRAIN"] == "32" and environ["TASK_NAME"] == "copa"
    assert environ["OUTPUT_DIR"] == str(tmp_path.resolve())
    assert "SYN_TASK" not in environ  # null settings are left out


def test_a_command_line_task_option_reaches_the_trainer(compose_config, tmp_path: Path) -> None:
    path = _train_yaml(compose_config, tmp_path, "task=boolq", "task.label.field=answer")
    settings = load_settings(["--config", str(path)], {})
    assert composed_task(settings).label.field == "answer"


def test_bad_settings_are_one_line_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"^LR=inf: must be a finite number$"):
        load_settings([], {"LR": "inf"})
    with pytest.raises(ConfigError, match=r"^EVAL_SPLIT='dev': use one of validation, test$"):
        load_settings([], {"EVAL_SPLIT": "dev"})


@pytest.mark.parametrize(
    ("kind", "training", "expected"),
    [
        ("synthetic", "synthetic", {"eval_root": example_data_root("original")}),
        ("orig_n_syn", "original", {"synthetic_task": example_data_root("synthetic") / "Copa"}),
        ("original", "original", {}),
    ],
)
def test_old_scripts_get_the_data_kinds_rules_from_conf_data(kind, training, expected) -> None:
    found = derived_folders(kind, example_data_root(training) / "Copa", DERIVED_SETTINGS)
    assert {key: Path(value) for key, value in found.items()} == expected


def test_orig_n_syn_without_a_synthetic_folder_names_the_folder_it_looked_for(
    tmp_path: Path,
) -> None:
    (tmp_path / "original" / "Copa").mkdir(parents=True)
    with pytest.raises(DataError, match=f"data folder not found: {tmp_path / 'synthetic'} "):
        derived_folders("orig_n_syn", tmp_path / "original" / "Copa", ["synthetic_task"])
    done = run_sweep(
        "data=orig_n_syn", f"data.root={tmp_path / 'original'}", "task=copa", "dry_run=true",
        f"output_root={tmp_path / 'out'}",
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: data folder not found: {tmp_path / 'synthetic'} "
        f"(the 'synthetic' folder beside data.root={tmp_path / 'original'})"
    )


def test_a_synthetic_sweep_job_is_tested_on_the_original_data(compose_config) -> None:
    settings = job_settings(compose_config("data=synthetic", "task=rte"))
    assert Path(settings.task_dir) == example_data_root("synthetic") / "RTE"
    assert Path(settings.eval_root) == example_data_root("original")
