"""What makes two jobs the same experiment: one identity, for resume and the summary alike.

A job's settings are the keys of its composed config (flattened to dotted names) whose role
is a training setting or an input (zo_sweep.jobdir.schema); where and how it ran, where it was
logged, and the groups' display names are left out. Its identity is a hash of them: `resume`
skips a job whose identity finished already, and the summary drops a rerun of the same
identity. Leaving the seed out gives a configuration (its seeds are averaged); leaving the
learning rate out too gives the cell in which the best learning rate is chosen.

The config is read as Hydra saved it, interpolations unresolved: `${lr}` is the same text in
every job, and whatever it points at is itself a setting. Values have one spelling each (16,
16.0 and '1.6e1' are one number), so a config read back from YAML has the identity the job
computed from its composed config.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import Any

from zo_sweep.jobdir.schema import keys_with_role
from zo_sweep.train.settings import LOGGING, RUN_CONTROL

SEED_KEYS = ("seed", "env.SEED")  # env.*: jobs of an early layout that set variables only
LR_KEYS = ("lr", "env.LR")
# Names for tables and figures; they never change what a job computes.
DISPLAY_KEYS = ("model.display", "task.display", "method.display", "data.display")
# What a model's option says for the memory plan (its size, the devices it needs), not for training.
PLANNING_KEYS = ("model.params", "model.devices_per_job")
HASH_LENGTH = 16


@cache
def not_settings() -> tuple[str, ...]:
    """The keys that never make a job another experiment: Hydra's own, run control, logging."""
    return ("hydra", *keys_with_role(RUN_CONTROL, LOGGING), *DISPLAY_KEYS, *PLANNING_KEYS)


def training_settings(config: Mapping[str, Any], leave_out: Iterable[str] = ()) -> dict[str, Any]:
    """The flattened config without run control, logging and display names (nor `leave_out`)."""
    left_out = (*not_settings(), *leave_out)
    return {key: value for key, value in _flatten(config) if not _under(key, left_out)}


def settings_hash(settings: Mapping[str, Any], leave_out: Iterable[str] = ()) -> str:
    left_out = tuple(leave_out)
    kept = {key: value for key, value in settings.items() if not _under(key, left_out)}
    text = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def job_identity(config: Mapping[str, Any]) -> str:
    """One job: the same settings and the same seed (what `resume` skips, a rerun)."""
    return settings_hash(training_settings(config))


def config_id(settings: Mapping[str, Any]) -> str:
    """One configuration: the same settings, whatever the seed."""
    return settings_hash(settings, leave_out=SEED_KEYS)


def cell_id(settings: Mapping[str, Any]) -> str:
    """One cell of the learning-rate choice: the same settings, whatever the lr and seed."""
    return settings_hash(settings, leave_out=(*SEED_KEYS, *LR_KEYS))


def normal(value: Any) -> Any:
    """One spelling per value: 16, 16.0 and '1.6e1' are the same number."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, list | tuple):
        return tuple(normal(item) for item in value)  # hashable, for counting distinct values
    return str(value)


def _under(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == prefix or key.startswith(prefix + ".") for prefix in prefixes)


def _flatten(node: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + ".")  # an empty mapping sets nothing
        else:
            yield name, normal(value)
