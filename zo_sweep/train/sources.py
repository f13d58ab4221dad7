"""Where one run's settings come from: a job's train.yaml, else the old env vars; flags on top.

    python -m zo_sweep.train --config outputs/.../train.yaml    (or TRAIN_CONFIG=...)
    LR=1e-6 TASK=Data/original/Copa python -m zo_sweep.train     (the old scripts' interface)
    python -m zo_sweep.train --lr 1e-6 --task Data/original/Copa

All three are read through the one schema in zo_sweep.train.settings: same names, defaults,
types and rules. A flag is the variable's name in lower case (--eval-steps sets EVAL_STEPS).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from zo_sweep.errors import ConfigError
from zo_sweep.train.settings import (
    SETTINGS_ENV,
    TORCHRUN_ENV,
    TrainSettings,
    env_fields,
    setting_fields,
    typed_settings,
)

# A run started without OUTPUT_DIR gets a new folder under here, so it never appends to an
# old run's; OUTPUT_ROOT moves it.
DEFAULT_OUTPUT_ROOT = "outputs"
# conf/data/<kind>.yaml's derived folders, and the setting each fills where a run sets none.
DERIVED_SETTINGS = {"synthetic_task": "syn_task", "eval_root": "eval_root"}


def load_settings(
    argv: list[str] | None = None, environ: Mapping[str, str] | None = None
) -> TrainSettings:
    """The settings of one run, typed and checked; ConfigError (one line) if any is wrong."""
    environ = os.environ if environ is None else environ
    arguments = build_parser().parse_args(argv)
    names = env_fields()
    flags = {name: value for name in names if (value := getattr(arguments, name)) is not None}
    path = arguments.config or environ.get(SETTINGS_ENV)
    if path:
        values, label = {**read_settings_file(path), **flags}, {name: name for name in names}
        # Where to write is the caller's: command.sh rerun by hand writes to its $OUTPUT_DIR.
        if environ.get(names["output_dir"]) and "output_dir" not in flags:
            values["output_dir"] = environ[names["output_dir"]]
    else:
        values, label = {**from_environment(environ, names), **flags}, names
        values.update(data_rules(values))
    settings = typed_settings(values, label)
    if not settings.output_dir:
        settings = replace(settings, output_dir=default_output_dir(settings, environ))
    return settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m zo_sweep.train",
        description="Fine-tune a causal LM on a task with MeZO, first-order or LoRA. "
        "Settings come from --config (a job's train.yaml, or TRAIN_CONFIG), else from the "
        "environment variables named below; a flag wins over both.",
    )
    parser.add_argument(
        "--config", default=None, help=f"a train.yaml to read settings from [env {SETTINGS_ENV}]"
    )
    for spec in setting_fields():
        env = spec.metadata["env"]
        parser.add_argument(
            "--" + env.lower().replace("_", "-"),
            dest=spec.name,
            default=None,
            help=f"{spec.metadata['help']} [env {env}, default {spec.default!r}]",
        )
    return parser


def read_settings_file(path: str | Path) -> dict[str, Any]:
    try:
        loaded = OmegaConf.to_container(OmegaConf.load(Path(path).expanduser()), resolve=True)
    except (OSError, OmegaConfBaseException) as err:
        raise ConfigError(f"{path}: cannot read settings ({err})".splitlines()[0]) from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: settings must be a mapping")
    return loaded


def from_environment(environ: Mapping[str, str], names: Mapping[str, str]) -> dict[str, str]:
    """The settings the environment sets; an empty variable counts as unset, and so does one
    of torchrun's in a process torchrun started."""
    if all(name in environ for name in TORCHRUN_ENV):
        names = {name: env for name, env in names.items() if env not in TORCHRUN_ENV}
    return {name: environ[env] for name, env in names.items() if environ.get(env, "") != ""}


def data_rules(values: Mapping[str, Any]) -> dict[str, str]:
    """The data folders the data kind's config (conf/data/<kind>.yaml) adds to an env-only run.

    A sweep composes these rules itself; a run started by an old script with TASK alone gets
    the same ones (orig_n_syn mixes in the sibling synthetic folder; a synthetic run is tested
    on the sibling original folder where there is one).
    """
    from zo_sweep.data.kinds import derived_folders

    task_dir = Path(str(values.get("task_dir", ""))).expanduser()
    kind = str(values.get("data_kind", "original"))
    if not task_dir.is_dir():
        return {}
    wanted = [key for key, setting in DERIVED_SETTINGS.items() if setting not in values]
    derived = derived_folders(kind, task_dir, wanted)
    added = {}
    if derived.get("synthetic_task"):
        added["syn_task"] = derived["synthetic_task"]
    eval_root = derived.get("eval_root")
    if eval_root and Path(eval_root).is_dir():
        added["eval_root"] = eval_root
    return added


def default_output_dir(settings: TrainSettings, environ: Mapping[str, str]) -> str:
    """A new folder per run: <OUTPUT_ROOT>/train/<model>/<task>/<method>-<data>-lr-seed-<time>."""
    root = environ.get("OUTPUT_ROOT") or DEFAULT_OUTPUT_ROOT
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    leaf = f"{settings.method}-{settings.data_kind}-lr{settings.lr:g}-seed{settings.seed}-{stamp}"
    model = Path(settings.model).name or settings.model
    task = Path(settings.task_dir).name or settings.task_dir
    return str(Path(root) / "train" / model / task / leaf)
