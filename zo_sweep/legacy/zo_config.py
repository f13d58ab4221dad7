"""What the conversion needs to know about zo_sweep's configs, read from conf/ itself.

Old names map to config choices through the configs' own fields, so a new model, task or
method file is understood without touching this package:
- a model by its Hugging Face `id` (conf/model/*.yaml),
- a task data folder by its `folder` (conf/task/*.yaml),
- a base script by the `base_script` and `mode` of the methods (conf/method/*.yaml),
- an environment variable by the trainer's schema and conf/config.yaml's `inputs:`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from zo_sweep import CONF_DIR

# Settings a base script sets from its own name (mezo_finetune_synthetic.sh: TRAINER=zo,
# DATA_KIND=synthetic): a converted script's method and data say them, not its variables.
DECIDED_BY_BASE_SCRIPT = ("trainer", "data_kind")
SIMPLE_INTERPOLATION = re.compile(r"^\$\{([A-Za-z_][\w.]*)\}$")
DATA_NAME = "${data.name}"


@dataclass(frozen=True)
class MethodScript:
    """A method and the base-script file names that run it (one per data kind)."""

    method: str
    mode: str
    file_name: str  # as conf/method says, e.g. mezo_finetune_${data.name}.sh
    pattern: re.Pattern[str]  # matches the base script's file name; group "data"


def group_options(group: str) -> dict[str, dict]:
    """Every option of a config group, by name, as plain (unresolved) dicts."""
    options = {}
    for path in sorted((CONF_DIR / group).glob("*.yaml")):
        options[path.stem] = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    return options


@cache
def model_names_by_id() -> dict[str, str]:
    return {str(option["id"]): name for name, option in group_options("model").items()}


@cache
def task_names_by_folder() -> dict[str, str]:
    return {str(option["folder"]): name for name, option in group_options("task").items()}


@cache
def data_kinds() -> tuple[str, ...]:
    return tuple(group_options("data"))


@cache
def method_scripts() -> tuple[MethodScript, ...]:
    scripts = []
    for name, option in group_options("method").items():
        method = option["method"]
        file_name = Path(str(method["base_script"])).name
        before, separator, after = file_name.partition(DATA_NAME)
        data = "(?P<data>" + "|".join(map(re.escape, data_kinds())) + ")"
        pattern = re.escape(before) + data + re.escape(after) if separator else re.escape(file_name)
        scripts.append(
            MethodScript(name, str(method["mode"]), file_name, re.compile(f"^{pattern}$"))
        )
    return tuple(scripts)


@cache
def env_mapping() -> dict[str, str]:
    """Variable name -> the config value it is read from, unresolved: LR -> ${lr}.

    Hyperparameters are top-level keys of their own names; the run inputs are interpolated
    from the groups in conf/config.yaml's `inputs:` (MODEL -> ${model.id}).
    """
    from zo_sweep.sweep.handoff import SWEEP_KEYS
    from zo_sweep.train.settings import env_fields

    config = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "config.yaml"), resolve=False)
    inputs = config.get("inputs") or {}
    mapping = {}
    for name, env in env_fields().items():
        if name in DECIDED_BY_BASE_SCRIPT:
            continue
        key = SWEEP_KEYS[name]
        mapping[env] = (
            str(inputs[name]) if key.startswith("inputs.") and name in inputs else f"${{{key}}}"
        )
    return mapping


def config_key(variable: str) -> str | None:
    """The config key an environment variable is read from (LR -> lr), if it is a plain one."""
    match = SIMPLE_INTERPOLATION.match(env_mapping().get(variable, ""))
    return match.group(1) if match else None


def compose(overrides: Sequence[str]) -> DictConfig:
    """The job config zo_sweep composes for these overrides (no sweep, nothing written)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from zo_sweep.jobdir.schema import register_schema
    from zo_sweep.resolvers import register_resolvers

    register_resolvers()
    register_schema()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides))
