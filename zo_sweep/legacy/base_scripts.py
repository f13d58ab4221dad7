"""What the old base scripts did with the variables a calling script passed, or did not pass,
and which scripts are base scripts (nothing to convert: every converted job runs them).

Two kinds of knowledge, each with one home:
- defaults for unset variables: the trainer's own (zo_sweep.train.settings), which is what the
  base scripts run, DEV being the task's num_dev (conf/task/<name>.yaml);
- variables a base script forces, whatever its caller set (`MODE=lora ... exec bash
  _run_trainer.sh` in fo_lora_finetune_*.sh): read from zo_sweep's own base script of that
  name, as the prefix assignments of the command it runs.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache

from zo_sweep import RESOURCE_ROOT
from zo_sweep.data.tasks import DataError, load_task_spec
from zo_sweep.legacy import zo_config
from zo_sweep.train.settings import Hyperparameters

BASE_SCRIPT_DIR = RESOURCE_ROOT / "legacy_scripts"
# The variables of the old interface whose defaults a converted script relies on.
OLD_VARIABLES = ("LR", "BS", "STEPS", "SEED", "EPS", "RANK", "ALPHA", "TRAIN", "DEV", "EVAL",
                 "EVAL_STEPS")  # fmt: skip


def unset_defaults(task: str) -> dict[str, str]:
    """Variable -> the value a base script used when the caller left it unset, for this task."""
    values = {
        spec.metadata["env"]: spec.default
        for spec in fields(Hyperparameters)
        if spec.metadata["env"] in OLD_VARIABLES
    }
    try:
        values["DEV"] = load_task_spec(task).num_dev
    except DataError:
        values.pop("DEV", None)  # an unknown task: its dev size is the trainer's to find
    return {name: f"{value:g}" if isinstance(value, float) else str(value)
            for name, value in values.items()}  # fmt: skip


def is_base_script(script_name: str) -> bool:
    """A method's base script (`mezo_finetune_original.sh`), or a script one of them runs
    (`_run_trainer.sh`, their shared body)."""
    return _is_method_script(script_name) or script_name in shared_bodies()


@cache
def shared_bodies() -> frozenset[str]:
    """The names of the scripts that zo_sweep's own base scripts run."""
    from zo_sweep.legacy.shell_parse import parse_script

    return frozenset(
        launch.script.name
        for path in sorted(BASE_SCRIPT_DIR.glob("*.sh"))
        if _is_method_script(path.name)
        for launch in parse_script(path, cwd=BASE_SCRIPT_DIR).launches
    )


def _is_method_script(script_name: str) -> bool:
    return any(method.pattern.match(script_name) for method in zo_config.method_scripts())


@cache
def forced_variables(script_name: str) -> dict[str, str]:
    """The config-mapped variables zo_sweep's base script of this name sets on its own."""
    from zo_sweep.legacy.shell_parse import parse_script

    path = BASE_SCRIPT_DIR / script_name
    if not path.is_file():
        return {}
    forced: dict[str, str] = {}
    for launch in parse_script(path, cwd=BASE_SCRIPT_DIR).launches:
        forced.update(
            {name: value for name, value in launch.env.items() if zo_config.config_key(name)}
        )
    return forced
