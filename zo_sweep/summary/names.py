"""Display names for tables and figures: the `display` key of a config group's option.

`conf/model/llama1b.yaml` may say `display: Llama-3.2-1B`; an option without one (or one that
is not in this checkout's conf/) is shown by its id.
"""

from __future__ import annotations

import functools

import yaml

from zo_sweep import CONF_DIR


@functools.cache
def display_name(group: str, name: str) -> str:
    """The display name of option `name` of config group `group` (model, task, method, data)."""
    try:
        raw = yaml.safe_load((CONF_DIR / group / f"{name}.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return name
    if not isinstance(raw, dict):
        return name
    # Options of a `@package _global_` group (method) hold their keys under the group's name.
    node = raw.get(group) if isinstance(raw.get(group), dict) else raw
    display = node.get("display")
    return str(display) if display else name
