"""What the old base scripts did with the variables a calling script passed, or did not pass.

Two kinds of knowledge, each with one home:
- defaults for unset variables: `base_script_defaults.yaml` (beside this module);
- variables a base script forces, whatever its caller set (`MODE=lora ... exec bash
  _run_trainer.sh` in fo_lora_finetune_*.sh): read from zo_sweep's own base script of that
  name, as the prefix assignments of the command it runs.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from zo_sweep import PROJECT_ROOT
from zo_sweep.legacy import zo_config

DEFAULTS_FILE = Path(__file__).with_name("base_script_defaults.yaml")
BASE_SCRIPT_DIR = PROJECT_ROOT / "legacy_scripts"


@cache
def _defaults() -> dict:
    return yaml.safe_load(DEFAULTS_FILE.read_text())


def unset_defaults(task: str) -> dict[str, str]:
    """Variable -> the value a base script used when the caller left it unset, for this task."""
    defaults = _defaults()
    values = {**defaults["unset"], **(defaults.get("by_task") or {}).get(task, {})}
    return {name: str(value) for name, value in values.items()}


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
