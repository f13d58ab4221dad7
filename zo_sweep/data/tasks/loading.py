"""Reading task specs from `conf/task/*.yaml`, by task name or data folder name."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

import zo_sweep
from zo_sweep.data.tasks.choices import CHOICE_LETTERS, ChoiceSpec
from zo_sweep.data.tasks.example import DataError
from zo_sweep.data.tasks.labels import LabelSpec
from zo_sweep.data.tasks.metrics import METRICS
from zo_sweep.data.tasks.spec import EVAL_SPLITS, TRAIN_OBJECTIVES, TaskSpec
from zo_sweep.data.tasks.templates import TEMPLATE_DIR, candidate_template, prompt_template

log = logging.getLogger(__name__)

TASK_CONF_DIR = zo_sweep.CONF_DIR / "task"

_SPEC_KEYS = {
    "name", "folder", "num_dev", "template", "candidate", "choices", "label", "fields",
    "field_values", "file_prefix", "metrics", "train_objective", "eval_split", "aliases", "hub",
    "description",
}  # fmt: skip


def normalized_name(name: str) -> str:
    """Task lookup ignores case and punctuation: 'SST-2', 'sst2' and 'Sst_2' are one task."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def task_spellings(raw: Mapping[str, Any], stem: str) -> set[str]:
    """Every name a task answers to, normalized: its file name, its folder and its `aliases`
    (other folder names such as `BOOLQ`, old folder or script names such as `arccloz`)."""
    aliases = raw.get("aliases") or []
    names = [stem, str(raw.get("folder", "")), *(aliases if isinstance(aliases, list) else [])]
    return {normalized_name(str(name)) for name in names if str(name)}


def known_task_names() -> list[str]:
    return sorted(path.stem for path in TASK_CONF_DIR.glob("*.yaml"))


def load_task_spec(name: str) -> TaskSpec:
    """The spec of a task, by task name ("copa"), data folder name ("Copa", "SST-2") or one of
    the task's `aliases` ("BOOLQ", "SST2"); case and punctuation are ignored."""
    wanted = normalized_name(name)
    for path in sorted(TASK_CONF_DIR.glob("*.yaml")):
        raw = _read_yaml(path)
        if wanted in task_spellings(raw, path.stem):
            return task_spec_from_mapping(raw, f"conf/task/{path.name}")
    raise DataError(f"unknown task '{name}' (known: {', '.join(known_task_names())})")


@cache
def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise DataError(f"{path.name}: not valid YAML ({err})".replace("\n", " ")) from None
    if not isinstance(raw, dict):
        raise DataError(f"{path.name}: a task spec must be a mapping")
    return raw


def task_spec_from_mapping(raw: Mapping[str, Any], where: str) -> TaskSpec:
    """A TaskSpec from a task config mapping (a conf/task/*.yaml file, or the `task` node of a
    composed job config); ``where`` names the source in error messages."""
    for key in sorted(set(raw) - _SPEC_KEYS):
        log.warning("%s: ignoring unknown key '%s'", where, key)
    for key in ("name", "folder", "num_dev", "template", "candidate", "choices"):
        if key not in raw:
            raise DataError(f"{where}: missing key '{key}'")
    spec = TaskSpec(
        name=str(raw["name"]),
        folder=str(raw["folder"]),
        num_dev=int(raw["num_dev"]),
        template=str(raw["template"]),
        candidate=str(raw["candidate"]),
        choices=_choice_spec(raw["choices"], where),
        label=LabelSpec(**_label_kwargs(raw.get("label") or {}, where)),
        fields=tuple(raw.get("fields") or ()),
        field_values={k: tuple(map(str, v)) for k, v in (raw.get("field_values") or {}).items()},
        file_prefix=raw.get("file_prefix"),
        metrics=list(raw.get("metrics") or ["accuracy"]),
        train_objective=str(raw.get("train_objective", "ce")),
        eval_split=str(raw.get("eval_split", "validation")),
        aliases=tuple(str(alias) for alias in raw.get("aliases") or ()),
        hub=dict(raw.get("hub") or {}),
        description=str(raw.get("description", "")),
    )
    _validate(spec, where)
    return spec


def _choice_spec(raw: Any, where: str) -> ChoiceSpec:
    if not isinstance(raw, Mapping):
        raise DataError(f"{where}: 'choices' must be a mapping")
    sources = [key for key in ("verbalizer", "from_fields", "from_list") if key in raw]
    if len(sources) != 1:
        raise DataError(
            f"{where}: 'choices' needs exactly one of verbalizer, from_fields, from_list"
        )
    if "from_list" in raw:
        listed = raw["from_list"]
        if int(listed.get("max", 0)) > len(CHOICE_LETTERS):
            raise DataError(f"{where}: 'choices.from_list.max' is at most {len(CHOICE_LETTERS)}")
        return ChoiceSpec(
            list_field=str(listed["field"]),
            list_text=str(listed.get("text", "text")),
            list_key=str(listed.get("key", "label")),
            min_count=int(listed.get("min", 2)),
            max_count=int(listed.get("max", len(CHOICE_LETTERS))),
        )
    values = tuple(str(v) for v in raw[sources[0]])
    if not 2 <= len(values) <= len(CHOICE_LETTERS):
        raise DataError(f"{where}: 'choices.{sources[0]}' needs 2 to {len(CHOICE_LETTERS)} entries")
    return ChoiceSpec(**{sources[0]: values})


def _label_kwargs(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or set(raw) - {"field", "names"}:
        raise DataError(f"{where}: 'label' takes only 'field' and 'names'")
    return {
        "field": str(raw.get("field", "label")),
        "names": tuple(map(str, raw.get("names") or ())),
    }


def _validate(spec: TaskSpec, where: str) -> None:
    if not (TEMPLATE_DIR / spec.template).is_file():
        raise DataError(
            f"{where}: template '{spec.template}' not found in zo_sweep/data/templates/"
        )
    unknown = [m for m in spec.metrics if m not in METRICS]
    if unknown:
        raise DataError(f"{where}: unknown metric '{unknown[0]}' (known: {', '.join(METRICS)})")
    if spec.train_objective not in TRAIN_OBJECTIVES:
        raise DataError(
            f"{where}: train_objective '{spec.train_objective}' is not one of {', '.join(TRAIN_OBJECTIVES)}"
        )
    if spec.eval_split not in EVAL_SPLITS:
        raise DataError(
            f"{where}: eval_split '{spec.eval_split}' is not one of {', '.join(EVAL_SPLITS)}"
        )
    missing = [name for name in spec.field_values if name not in spec.fields]
    if missing:
        raise DataError(f"{where}: field_values names '{missing[0]}', which is not in 'fields'")
    try:
        prompt_template(spec.template)
        candidate_template(spec.candidate)
    except jinja2.TemplateSyntaxError as err:
        raise DataError(
            f"{where}: template syntax error ({err.message}, line {err.lineno})"
        ) from None
