"""The data kinds of conf/data/ (original, synthetic, orig_n_syn) applied to one task folder.

A sweep composes conf/data/<kind>.yaml with the rest of its config. A run started by an old
script names only its task folder (TASK) and its kind (DATA_KIND); this module reads the same
YAML for it, with data.root the folder above TASK, so both follow one set of rules.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

import zo_sweep

# The folders a data kind derives from its root; these are what the trainer reads.
DERIVED_KEYS = ("synthetic_task", "eval_root")


def sibling_folder(root: str, name: str) -> str | None:
    """`${sibling:${data.root},original}`: the folder called `name` beside `root`, where there
    is one (null otherwise: a dataset laid out otherwise keeps to its own folder)."""
    folder = Path(root).expanduser().parent / name
    return str(folder) if folder.is_dir() else None


def derived_folders(kind: str, task_dir: Path) -> dict[str, str]:
    """synthetic_task and eval_root of a kind for this task folder (absent when null)."""
    from zo_sweep.sweep.resolvers import register_resolvers

    path = zo_sweep.CONF_DIR / "data" / f"{kind}.yaml"
    if not path.is_file():
        return {}
    register_resolvers()
    config = OmegaConf.create({"data": OmegaConf.load(path), "task": {"folder": task_dir.name}})
    config.data.root = str(task_dir.parent)
    found = {key: OmegaConf.select(config, f"data.{key}") for key in DERIVED_KEYS}
    return {key: str(value) for key, value in found.items() if value is not None}
