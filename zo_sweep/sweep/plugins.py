"""The Hydra plugins behind the launcher and sweeper presets, and what to install for each.

Without the plugin a preset needs, Hydra would only say that the config group option is
missing; this check says which extra to install instead, before anything else starts.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

# preset override -> (the plugin's module, the pip extra that installs it)
PRESET_PLUGINS = {
    "hydra/launcher=joblib": ("hydra_plugins.hydra_joblib_launcher", None),
    "hydra/launcher=slurm": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
    "hydra/launcher=slurm_cpu": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
    "hydra/launcher=submitit_slurm": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
    "hydra/launcher=submitit_local": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
    "hydra/sweeper=optuna": ("hydra_plugins.hydra_optuna_sweeper", "optuna"),
    "search=optuna": ("hydra_plugins.hydra_optuna_sweeper", "optuna"),
    "search=optuna_lora": ("hydra_plugins.hydra_optuna_sweeper", "optuna"),
}


def missing_plugin_message(arguments: Sequence[str]) -> str | None:
    """One line naming the install command for the first preset whose plugin is missing."""
    for argument in arguments:
        preset = argument.lstrip("+~").replace(" ", "")
        if preset not in PRESET_PLUGINS:
            continue
        module, extra = PRESET_PLUGINS[preset]
        if importlib.util.find_spec(module) is None:
            install = f'pip install -e ".[{extra}]"' if extra else 'pip install -e "."'
            return f"{preset} needs the Hydra plugin {module.split('.')[-1]}: {install}"
    return None
