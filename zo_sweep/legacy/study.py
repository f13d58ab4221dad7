"""The group's first automation: one YAML file per study, read as a zo_sweep sweep.

    experiment: {purpose: synthetic_vs_original, description: "..."}
    model: meta-llama/Llama-3.2-1B
    task: Copa
    method: zo                       # zo | fo_full | fo_lora
    data: {path: Data_v2/synthetic/prompt_engineering/copa_mezo_v1/Copa}
    # or data: {type: original | synthetic_<method>_<model>_<version> | mixed_<...>}
    hyperparameters: {learning_rate: [1e-6, 5e-7], batch_size: 16, steps: 20000, seed: [0, 1],
                      zo_eps: 1e-3, lora_rank: 8, lora_alpha: 16}
    cuda_devices: "0,1"

The same file is saved as `experiment_config.yaml` beside each run of that automation, so the
results importer (`results_v2`) reads it with `read_study` too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf

from zo_sweep.data.tasks import DataError, load_task_spec
from zo_sweep.legacy import zo_config
from zo_sweep.legacy.convert import (
    Conversion,
    RootMap,
    composed_defaults,
    map_root,
    model_choice,
)
from zo_sweep.legacy.shell_parse import Problem
from zo_sweep.legacy.sweeps import INNER_KEYS, Sweep

# The study file's hyperparameter names -> zo_sweep's config keys.
HYPERPARAMETERS = {
    "learning_rate": "lr",
    "batch_size": "bs",
    "steps": "steps",
    "seed": "seed",
    "zo_eps": "eps",
    "lora_rank": "rank",
    "lora_alpha": "alpha",
}
# Words of a data path or type -> zo_sweep's data option.
DATA_KINDS = {"original": "original", "synthetic": "synthetic", "mixed": "orig_n_syn",
              "orig_n_syn": "orig_n_syn"}  # fmt: skip
REQUIRED = ("model", "task", "method")


class StudyError(ValueError):
    """A study file that cannot be read as one; the message is one line."""


@dataclass
class Study:
    """What a study file says, in zo_sweep's terms."""

    model: str  # hub id
    task: str  # zo_sweep task name
    method: str
    data: str  # zo_sweep data option
    data_root: str | None = None
    data_id: str | None = None  # the dataset's own name (copa_mezo_v1), the run's data identity
    purpose: str | None = None
    description: str | None = None
    hparams: dict[str, list[str]] = field(default_factory=dict)  # config key -> values
    cuda_devices: str | None = None
    unknown: list[str] = field(default_factory=list)  # hyperparameters with no zo_sweep key


def is_study_file(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml")


def load_study(path: Path) -> Study:
    try:
        raw = yaml.safe_load(path.read_text(errors="replace"))
    except yaml.YAMLError as err:
        raise StudyError(f"not valid YAML ({err})".replace("\n", " ")) from None
    return read_study(raw)


def read_study(raw: Any) -> Study:
    if not isinstance(raw, dict) or any(key not in raw for key in REQUIRED):
        raise StudyError(f"not a study file (it needs {', '.join(REQUIRED)})")
    try:
        task = load_task_spec(str(raw["task"])).name
    except DataError as err:
        raise StudyError(f"task: {err}") from None
    method = str(raw["method"])
    if method not in zo_config.group_options("method"):
        known = ", ".join(zo_config.group_options("method"))
        raise StudyError(f"method: unknown method {method!r} (known: {known})")
    experiment = raw.get("experiment") if isinstance(raw.get("experiment"), dict) else {}
    study = Study(
        model=str(raw["model"]),
        task=task,
        method=method,
        data="original",
        purpose=_text(experiment.get("purpose")),
        description=_text(experiment.get("description")),
        cuda_devices=_text(
            raw.get("cuda_devices", _dict(raw.get("hyperparameters")).get("cuda_devices"))
        ),
    )
    read_data(study, _dict(raw.get("data")))
    for name, values in _dict(raw.get("hyperparameters")).items():
        if name in HYPERPARAMETERS:
            listed = values if isinstance(values, list) else [values]
            study.hparams[HYPERPARAMETERS[name]] = [_text(value) or "" for value in listed]
        elif name != "cuda_devices":
            study.unknown.append(f"{name}={values}")
    return study


def read_data(study: Study, data: dict[str, Any]) -> None:
    """Data option, folder and identity from `data.path` (a task folder) or `data.type`."""
    if data.get("path"):
        folder = Path(str(data["path"]).rstrip("/"))
        parts = [part.lower() for part in folder.parts[:-1]]
        kinds = [DATA_KINDS[part] for part in parts if part in DATA_KINDS]
        study.data = kinds[0] if kinds else "original"
        study.data_root = str(folder.parent)
        dataset = folder.parent.name
        if dataset.lower() not in DATA_KINDS and study.data != "original":
            study.data_id = dataset
    elif data.get("type"):
        kind = str(data["type"])
        study.data = DATA_KINDS.get(kind.split("_")[0].lower(), "original")
        if kind != "original":
            study.data_id = kind


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def convert_study(path: Path, *, cwd: Path | None = None, map_roots: RootMap = ()) -> Conversion:
    """The zo_sweep sweep of a study file (a Conversion like a script's)."""
    path = path.resolve()
    conversion = Conversion(path)

    def problem(message: str, severity: str = "warning") -> None:
        conversion.problems.append(Problem(path, 1, message, severity))

    try:
        study = load_study(path)
    except (StudyError, OSError) as err:
        problem(str(err), "error")
        return conversion
    fixed = {**model_choice(study.model), "task": study.task, "method": study.method}
    fixed["data"] = study.data
    if study.data_root is not None:
        root = os.path.normpath(Path(cwd or Path.cwd()) / study.data_root)
        fixed["data.root"] = map_root(root, map_roots)
    if study.data_id is not None:
        fixed[config_key_for("data.tag")] = study.data_id
    if study.data != "original" and study.data_root is None:
        problem(f"data.type {study.data_id}: add data.root=<the folder holding its {study.task}/>")
    for key in ("purpose", "description"):
        if getattr(study, key):
            fixed[config_key_for(key)] = getattr(study, key)
    swept = {}
    for key in sorted(
        study.hparams, key=lambda key: INNER_KEYS.index(key) + 1 if key in INNER_KEYS else 0
    ):
        values = list(dict.fromkeys(study.hparams[key]))
        if len(values) == 1:
            fixed[key] = values[0]
        else:
            swept[key] = values
    conversion.sweeps = [Sweep(fixed, swept)]
    if study.cuda_devices:
        problem(f"cuda_devices {study.cuda_devices}: zo_sweep gives each job a GPU of its own; "
                f"to use only these GPUs add 'gpus=[{study.cuda_devices}]'", "note")  # fmt: skip
    for unknown in study.unknown:
        problem(f"hyperparameter {unknown} has no zo_sweep setting: not converted")
    return conversion


def config_key_for(key: str) -> str:
    """`key`, or `+key` to add it where the composed config does not have it yet."""
    return (
        key
        if OmegaConf.select(composed_defaults(()), key, default=_ABSENT) is not _ABSENT
        else f"+{key}"
    )


_ABSENT = object()
