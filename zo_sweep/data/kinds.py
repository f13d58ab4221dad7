"""The data kinds of conf/data/ (original, synthetic, orig_n_syn) applied to one task folder.

A sweep composes conf/data/<kind>.yaml with the rest of its config. A run started by an old
script names only its task folder (TASK) and its kind (DATA_KIND); this module reads the same
YAML for it, with data.root the folder above TASK, so both follow one set of rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

import zo_sweep
from zo_sweep.errors import DataError
from zo_sweep.resolvers import register_resolvers


def derived_folders(kind: str, task_dir: Path, keys: Iterable[str]) -> dict[str, str]:
    """data.<key> (synthetic_task, eval_root) of a kind for this task folder, for each of
    `keys` that is not null. Only the keys asked for are resolved: DataError when one of them
    needs a folder that is not there."""
    path = zo_sweep.CONF_DIR / "data" / f"{kind}.yaml"
    if not path.is_file():
        return {}
    register_resolvers()
    config = OmegaConf.create({"data": OmegaConf.load(path), "task": {"folder": task_dir.name}})
    config.data.root = str(task_dir.parent)
    found = {}
    for key in keys:
        try:
            value = OmegaConf.select(config, f"data.{key}")
        except OmegaConfBaseException as err:
            raise (DataError.within(err) or err) from None
        if value is not None:
            found[key] = str(value)
    return found
