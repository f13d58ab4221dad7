"""zo_sweep commands and presets from the jobs an old script (or study file) described.

Each job is a dict of overrides; `group_sweeps` finds the fewest `-m` sweeps whose grids are
exactly those jobs (learning rates, and ranks, as comma lists), and `experiment_yaml` writes
one sweep as a preset in `conf/experiment/`.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

GROUPS = ("model", "task", "method", "data")
# Swept keys listed last: the learning rate is the innermost loop of the old scripts.
INNER_KEYS = ("rank", "alpha", "lr")
PLAIN_VALUE = re.compile(r"^[\w./:@~+-]+$")
COMMAND = "python -m zo_sweep"


@dataclass
class Sweep:
    """One zo_sweep command: fixed overrides and swept ones (key -> values in script order)."""

    fixed: dict[str, str]
    swept: dict[str, list[str]] = field(default_factory=dict)

    def command(self) -> str:
        words = [COMMAND, *(_override(key, [value]) for key, value in self.fixed.items())]
        if self.swept:
            words += ["-m", *(_override(key, values) for key, values in self.swept.items())]
        return " ".join(words)

    def values(self, key: str) -> list[str]:
        """The values this sweep gives a key (one when fixed, none when left at the default)."""
        if key in self.swept:
            return self.swept[key]
        return [self.fixed[key]] if key in self.fixed else []


@dataclass
class JobOverrides:
    """The overrides of one job; `at_default` names those equal to zo_sweep's default."""

    values: dict[str, str]
    at_default: set[str] = field(default_factory=set)


def group_sweeps(jobs: list[JobOverrides]) -> list[Sweep]:
    """The fewest sweeps whose grids are exactly these jobs (in script order).

    Keys every job of a sweep leaves at zo_sweep's default are left out of its command.
    """
    if not jobs:
        return []
    keys = list(dict.fromkeys(key for job in jobs for key in job.values))
    if any(set(job.values) != set(keys) for job in jobs):
        by_keys: dict[tuple[str, ...], list[JobOverrides]] = {}
        for job in jobs:
            by_keys.setdefault(tuple(job.values), []).append(job)
        return [sweep for group in by_keys.values() for sweep in group_sweeps(group)]
    values = {key: list(dict.fromkeys(job.values[key] for job in jobs)) for key in keys}
    varying = sorted(
        (key for key in keys if len(values[key]) > 1),
        key=lambda key: INNER_KEYS.index(key) + 1 if key in INNER_KEYS else 0,
    )
    combinations = {tuple(job.values[key] for key in varying) for job in jobs}
    if len(combinations) == math.prod(len(values[key]) for key in varying):
        at_default = set.intersection(*(job.at_default for job in jobs))
        fixed = {key: values[key][0] for key in keys if key not in varying + list(at_default)}
        return [Sweep(fixed, {key: values[key] for key in varying})]
    # Not a full grid: one sweep per value of the outer keys, the innermost one swept.
    outer: dict[tuple[str, ...], list[JobOverrides]] = {}
    for job in jobs:
        outer.setdefault(tuple(job.values[key] for key in varying[:-1]), []).append(job)
    return [sweep for group in outer.values() for sweep in group_sweeps(group)]


def experiment_yaml(sweep: Sweep, name: str, sources: Iterable[Path]) -> str:
    """A conf/experiment preset that runs this sweep: `python -m zo_sweep -m experiment=NAME`."""
    lines = ["# @package _global_"]
    lines += [f"# Converted from {source}" for source in sources]
    lines += [f"#   {COMMAND} -m experiment={name}", "defaults:"]
    lines += [f"  - override /{key}: {sweep.fixed[key]}" for key in GROUPS if key in sweep.fixed]
    lines += [""]
    if "purpose" not in sweep.fixed:
        lines.append(f"purpose: {name}")
    nested: dict[str, dict[str, str]] = {}
    for key, value in sweep.fixed.items():
        if key in GROUPS:
            continue
        head, _, rest = key.lstrip("+").partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            lines.append(f"{head}: {_yaml_scalar(value)}")
    for head, members in nested.items():
        lines.append(f"{head}:")
        lines += [f"  {member}: {_yaml_scalar(value)}" for member, value in members.items()]
    lines += ["", "hydra:", "  sweeper:", "    params:"]
    lines += [
        f"      {key}: {_yaml_scalar(','.join(map(_hydra_value, values)))}"
        for key, values in sweep.swept.items()
    ]
    return "\n".join(lines) + "\n"


def _override(key: str, values: list[str]) -> str:
    return shlex.quote(f"{key}={','.join(_hydra_value(value) for value in values)}")


def _hydra_value(value: str) -> str:
    """A value as Hydra's override grammar reads it literally (quoted unless plain)."""
    if PLAIN_VALUE.match(value):
        return value
    quote = '"' if '"' not in value else "'"
    return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def _yaml_scalar(value: str) -> str:
    return value if PLAIN_VALUE.match(value) else json.dumps(value)
