"""Old scripts -> zo_sweep sweeps: `python -m zo_sweep.legacy convert SCRIPT ...`.

Each base-script run of an old script (a `Launch`) becomes the overrides of one zo_sweep job:
the base script picks method and data, MODEL the model, TASK the task (and `data.root` when
its folder is not zo_sweep's default), every other variable the config key the `env:` mapping
reads it from, written only where it differs from the composed default. A variable the script
leaves unset gets the value the old base script used (`base_scripts`). A script that runs
other scripts (`run_all.sh`: `bash 1_0_mezo_orig_copa.sh` lines) is followed: each script it
runs is converted in turn. The runs of a script are grouped into `-m` sweeps (`sweeps`).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from omegaconf import OmegaConf

from zo_sweep.data.tasks import DataError, known_task_names, load_task_spec
from zo_sweep.legacy import base_scripts, zo_config
from zo_sweep.legacy.shell_parse import Launch, Problem, parse_script
from zo_sweep.legacy.sweeps import JobOverrides, Sweep, group_sweeps

# Variables a base script reads that zo_sweep sets for every job itself.
SET_BY_ZO_SWEEP = {
    "OUTPUT_DIR": "zo_sweep gives every job its own directory",
    "TRAINER": "the base script sets it",
    "DATA_KIND": "the base script sets it",
}
GPU_VARIABLE = "CUDA_VISIBLE_DEVICES"
# Variables that pick a config group option rather than a value (MODE helps pick the method,
# and is compared with its mode like any other value).
GROUP_VARIABLES = ("MODEL", "TASK", "TASK_NAME")
DEFAULT_MODE = "ft"  # what the base scripts assume when MODE is unset
# Shown even at their default: the learning rate is what every old script is about.
ALWAYS_SHOWN = ("lr",)
MAX_FOLLOW_DEPTH = 8

RootMap = Sequence[tuple[str, str]]  # (old prefix, new prefix), first match wins


@dataclass
class Conversion:
    """One script: its sweeps, what could not be read, and the scripts it ran (aggregators)."""

    path: Path
    sweeps: list[Sweep] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    followed: list[Conversion] = field(default_factory=list)
    run_by: Path | None = None  # the aggregator that ran this script
    nothing: str | None = None  # why there is nothing to convert (an empty file, a base script)

    @property
    def failed(self) -> bool:
        return any(problem.severity == "error" for problem in self.problems)

    def all(self) -> list[Conversion]:
        """This conversion and, depth first, those of the scripts it ran."""
        return [self, *(done for child in self.followed for done in child.all())]


def convert_script(
    path: str | Path,
    *,
    environ: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    map_roots: RootMap = (),
    run_by: Path | None = None,
    _runners: tuple[Path, ...] = (),
) -> Conversion:
    path = Path(path).resolve()
    conversion = Conversion(path, run_by=run_by)
    reason = unreadable(path)
    if reason == EMPTY or base_scripts.is_base_script(path.name):
        conversion.nothing = reason or BASE_SCRIPT
        return conversion
    if reason is not None:
        conversion.problems.append(Problem(path, 1, reason, "error"))
        return conversion
    parsed = parse_script(path, environ=environ, cwd=cwd)
    problems = list(parsed.problems)
    jobs = []
    for launch in parsed.launches:
        child = followed_script(launch, map_roots)
        if child is not None and child.resolve() in (path, *_runners):
            problems.append(Problem(path, launch.line, f"runs {child.name}, which runs this "
                                    "script: not followed (bash would never end)", "error"))  # fmt: skip
            continue
        if child is not None and len(_runners) < MAX_FOLLOW_DEPTH:
            inherited = {**(environ or {}), **launch.env}
            conversion.followed.append(
                convert_script(child, environ=inherited, cwd=_child_cwd(launch, child),
                               map_roots=map_roots, run_by=path, _runners=(*_runners, path))
            )  # fmt: skip
            continue
        overrides, launch_problems = launch_overrides(launch, map_roots)
        problems += launch_problems
        if overrides is not None:
            jobs.append(overrides)
    if not parsed.launches and not any(p.severity == "error" for p in problems):
        problems.append(Problem(path, 1, "no `bash <base>.sh` run found", "error"))
    # A loop reports the same problem once per pass: each is said once.
    conversion.sweeps = group_sweeps(jobs)
    conversion.problems = list(dict.fromkeys(problems))
    return conversion


EMPTY = "an empty file"
BASE_SCRIPT = "a base script, which every converted job runs"


def unreadable(path: Path) -> str | None:
    """Why a path cannot be read as a shell script (EMPTY for a 0-byte file), else None."""
    if path.is_dir():
        return "a directory, not a script"
    try:
        data = path.read_bytes()
    except OSError as err:
        return f"cannot read: {err.strerror or err}"
    if not data.strip():
        return EMPTY
    if b"\0" in data[:8192]:
        return "not a text file (binary data)"
    return None


def followed_script(launch: Launch, map_roots: RootMap) -> Path | None:
    """The script a `bash X.sh` runs when X is not a base script but a script on disk.

    Tried in turn: the path as the script names it, with its root mapped, and relative to the
    directory of the script that runs it (aggregators are started from their own folder).
    """
    if method_and_data(launch.script.name, DEFAULT_MODE) is not None:
        return None
    candidates = [launch.script, Path(map_root(str(launch.script), map_roots))]
    if launch.script.is_relative_to(launch.cwd):
        candidates.append(launch.path.parent / launch.script.relative_to(launch.cwd))
    candidates.append(launch.path.parent / launch.script.name)
    return next((path for path in candidates if path.is_file()), None)


def _child_cwd(launch: Launch, child: Path) -> Path:
    return launch.cwd if launch.cwd.is_dir() and child == launch.script else child.parent


def launch_overrides(
    launch: Launch, map_roots: RootMap = ()
) -> tuple[JobOverrides | None, list[Problem]]:
    """The zo_sweep overrides of one base-script run, or None if it cannot be mapped."""
    problems: list[Problem] = []

    def problem(message: str, severity: str = "warning") -> None:
        problems.append(Problem(launch.path, launch.line, message, severity))

    env = {name: map_root(value, map_roots) for name, value in launch.env.items()}
    env.update(base_scripts.forced_variables(launch.script.name))
    method_data = method_and_data(launch.script.name, env.get("MODE", DEFAULT_MODE))
    task = task_choice(env, launch.cwd)
    if method_data is None:
        known = ", ".join(sorted({m.file_name for m in zo_config.method_scripts()}))
        problem(f"unknown base script {launch.script.name} (known: {known}); "
                "run a foreign script with method.script=PATH", "error")  # fmt: skip
    if task is None:
        problem(f"TASK={env.get('TASK', '')!r}: no task with this folder name "
                f"(known: {', '.join(known_task_names())})", "error")  # fmt: skip
    if method_data is None or task is None:
        return None, problems

    task_name, task_root = task
    mismatch = model_folder_mismatch(launch.path, env.get("MODEL"))
    if mismatch:
        problem(mismatch)
    for name, value in base_scripts.unset_defaults(task_name).items():
        env.setdefault(name, value)
    job = JobOverrides({**model_choice(env.get("MODEL")), "task": task_name})
    job.values.update(method=method_data[0], data=method_data[1])
    defaults = composed_defaults(tuple(f"{key}={value}" for key, value in job.values.items()))
    if task_root is not None:
        task_root = map_root(task_root, map_roots)
        if not same_value(task_root, defaults.data.root):
            job.values["data.root"] = task_root
    for name, value in env.items():
        if name in GROUP_VARIABLES:
            continue
        key = zo_config.config_key(name)
        if key is not None:
            job.values[key] = value
            if same_value(value, OmegaConf.select(defaults, key)) and key not in ALWAYS_SHOWN:
                job.at_default.add(key)
        elif name == GPU_VARIABLE:
            problem(f"{name}={value}: zo_sweep gives each job a GPU of its own; to use only "
                    f"these GPUs add 'gpus=[{value}]'", "note")  # fmt: skip
        elif name in SET_BY_ZO_SWEEP:
            problem(f"{name}={value} not converted: {SET_BY_ZO_SWEEP[name]}")
        else:
            problem(f"unknown variable {name}={value}: passed on as +extra_env.{name}")
            job.values[f"+extra_env.{name}"] = value
    return job, problems


def map_root(value: str, map_roots: RootMap) -> str:
    """`value` with the first matching OLD path prefix replaced by NEW (whole path parts only)."""
    for old, new in map_roots:
        old = old.rstrip("/") or "/"
        if value == old or value.startswith(old.rstrip("/") + "/"):
            return new.rstrip("/") + value[len(old.rstrip("/")) :]
    return value


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


def model_folder_mismatch(script: Path, model: str | None) -> str | None:
    """A warning when a script sits in a known model's folder but sets another MODEL."""
    folder = script.parent.name
    known_folders = {_plain(Path(model_id).name) for model_id in zo_config.model_names_by_id()}
    if model is None or _plain(folder) not in known_folders:
        return None
    if _plain(Path(model.rstrip("/")).name) == _plain(folder):
        return None
    return f"MODEL={model} but the script is in the folder {folder}/: converted as MODEL says"


def task_choice(env: dict[str, str], cwd: Path) -> tuple[str, str | None] | None:
    """(task name, data root or None) from TASK (a data folder or a task name) and TASK_NAME.

    A folder is recognised by every spelling the task loader accepts (case, punctuation,
    the task's `aliases`), so `Data/original/BOOLQ` is boolq.
    """
    task = env.get("TASK", "").rstrip("/")
    root = os.path.normpath(cwd / Path(task).parent) if "/" in task else None
    for name in (env.get("TASK_NAME"), Path(task).name):
        if not name:
            continue
        try:
            return load_task_spec(name).name, root
        except DataError:
            continue
    return None


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


def _plain(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
