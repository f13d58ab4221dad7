"""Old scripts -> zo_sweep sweeps: `python -m zo_sweep.legacy convert SCRIPT ...`.

Each base-script run of an old script (a `Launch`) becomes the overrides of one zo_sweep job:
the base script picks method and data, MODEL the model, TASK the task (and `data.root` when
its folder is not zo_sweep's default), every other variable the config key the `env:` mapping
reads it from, written only where it differs from the composed default. The runs of a script
are then grouped into `-m` sweeps (the learning rates, and ranks, as comma lists).
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from omegaconf import OmegaConf

from zo_sweep.legacy import zo_config
from zo_sweep.legacy.shell_parse import Launch, Problem, parse_script

GROUPS = ("model", "task", "method", "data")
# Variables a base script reads that zo_sweep sets for every job itself.
SET_BY_ZO_SWEEP = {
    "OUTPUT_DIR": "zo_sweep gives every job its own directory",
    "CUDA_VISIBLE_DEVICES": "zo_sweep assigns GPUs itself (see gpus= and jobs_per_gpu=)",
    "TRAINER": "the base script sets it",
    "DATA_KIND": "the base script sets it",
}
# Variables that pick a config group option rather than a value (MODE helps pick the method,
# and is compared with its mode like any other value).
GROUP_VARIABLES = ("MODEL", "TASK", "TASK_NAME")
DEFAULT_MODE = "ft"  # what the base scripts assume when MODE is unset
# Swept keys listed last: the learning rate is the innermost loop of the old scripts.
INNER_KEYS = ("rank", "alpha", "lr")
# Shown even at their default: the learning rate is what every old script is about.
ALWAYS_SHOWN = ("lr",)
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


@dataclass
class Conversion:
    path: Path
    sweeps: list[Sweep]
    problems: list[Problem]

    @property
    def failed(self) -> bool:
        return any(problem.severity == "error" for problem in self.problems)


def convert_script(
    path: str | Path, *, environ: dict[str, str] | None = None, cwd: str | Path | None = None
) -> Conversion:
    parsed = parse_script(path, environ=environ, cwd=cwd)
    problems = list(parsed.problems)
    jobs = []
    for launch in parsed.launches:
        overrides, launch_problems = launch_overrides(launch)
        problems += launch_problems
        if overrides is not None:
            jobs.append(overrides)
    if not parsed.launches and not any(p.severity == "error" for p in problems):
        problems.append(Problem(parsed.path, 1, "no `bash <base>.sh` run found", "error"))
    # A loop reports the same problem once per pass: each is said once.
    return Conversion(parsed.path, group_sweeps(jobs), list(dict.fromkeys(problems)))


@dataclass
class JobOverrides:
    """The overrides of one job; `at_default` names those equal to zo_sweep's default."""

    values: dict[str, str]
    at_default: set[str] = field(default_factory=set)


def launch_overrides(launch: Launch) -> tuple[JobOverrides | None, list[Problem]]:
    """The zo_sweep overrides of one base-script run, or None if it cannot be mapped."""
    problems: list[Problem] = []

    def problem(message: str, severity: str = "warning") -> None:
        problems.append(Problem(launch.path, launch.line, message, severity))

    env = launch.env
    method_data = method_and_data(launch.script.name, env.get("MODE", DEFAULT_MODE))
    task = task_choice(env, launch.cwd)
    if method_data is None:
        known = ", ".join(sorted({m.file_name for m in zo_config.method_scripts()}))
        problem(f"unknown base script {launch.script.name} (known: {known}); "
                "run a foreign script with method.script=PATH", "error")  # fmt: skip
    if task is None:
        folders = ", ".join(sorted(zo_config.task_names_by_folder()))
        problem(
            f"TASK={env.get('TASK', '')!r}: no task with this folder (known: {folders})", "error"
        )
    if method_data is None or task is None:
        return None, problems

    task_name, task_root = task
    job = JobOverrides({**model_choice(env.get("MODEL")), "task": task_name})
    job.values.update(method=method_data[0], data=method_data[1])
    defaults = composed_defaults(tuple(f"{key}={value}" for key, value in job.values.items()))
    if task_root is not None and not same_value(task_root, defaults.data.root):
        job.values["data.root"] = task_root
    for name, value in env.items():
        if name in GROUP_VARIABLES:
            continue
        key = zo_config.config_key(name)
        if key is not None:
            job.values[key] = value
            if same_value(value, OmegaConf.select(defaults, key)) and key not in ALWAYS_SHOWN:
                job.at_default.add(key)
        elif name in SET_BY_ZO_SWEEP:
            problem(f"{name}={value} not converted: {SET_BY_ZO_SWEEP[name]}")
        else:
            problem(f"unknown variable {name}={value}: passed on as +extra_env.{name}")
            job.values[f"+extra_env.{name}"] = value
    return job, problems


def method_and_data(script_name: str, mode: str) -> tuple[str, str] | None:
    """(method, data) of a base script: the method whose script has this name and mode."""
    matches = []
    for method in zo_config.method_scripts():
        match = method.pattern.match(script_name)
        if match:
            matches.append((method.mode != mode, method.method, match.group("data")))
    if not matches:
        return None
    _, method, data = min(matches)
    return method, data


def model_choice(model: str | None) -> dict[str, str]:
    """model=<name> for a known Hugging Face id; model.id (and a name) for any other."""
    if model is None:
        return {}
    name = zo_config.model_names_by_id().get(model)
    if name is not None:
        return {"model": name}
    short_name = re.sub(r"[^\w.-]+", "_", Path(model.rstrip("/")).name) or "model"
    return {"model.id": model, "model.name": short_name}


def task_choice(env: dict[str, str], cwd: Path) -> tuple[str, str | None] | None:
    """(task name, data root or None) from TASK (a data folder or a task name) and TASK_NAME."""
    task = env.get("TASK", "").rstrip("/")
    folders = zo_config.task_names_by_folder()
    names = set(folders.values())
    folder = Path(task).name
    root = os.path.normpath(cwd / Path(task).parent) if "/" in task else None
    name = env.get("TASK_NAME") or folders.get(folder) or (folder if folder in names else None)
    return (name, root) if name in names else None


@cache
def composed_defaults(overrides: tuple[str, ...]):  # noqa: ANN201 (a DictConfig)
    return zo_config.compose(overrides)


def same_value(script_value: str, config_value: object) -> bool:
    """Equal as numbers (1e-6 == 0.000001), as paths (resolved), or as text."""
    if config_value is None:
        return False
    left, right = str(script_value), str(config_value)
    numbers = _number(left), _number(right)
    if None not in numbers:
        return math.isclose(numbers[0], numbers[1], rel_tol=1e-12)  # type: ignore[arg-type]
    if "/" in left or "/" in right:
        return os.path.realpath(left) == os.path.realpath(right)
    return left == right


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
    lines += ["", f"purpose: {name}"]
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
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _yaml_scalar(value: str) -> str:
    return value if PLAIN_VALUE.match(value) else json.dumps(value)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
