"""Task specs: how one raw data record becomes a prompt, its candidate answers and a label.

A task is one YAML file in ``conf/task/`` plus one Jinja2 prompt template in
``zo_sweep/templates/``. The YAML says which record fields the template reads, how the
candidates are formed (a fixed verbalizer, one field per candidate, or a list of choices as in
ARC) and how the label field maps to a candidate index; this module holds no task-specific code.
The schema is described in docs/data.md ("How to add a task").
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

import zo_sweep

log = logging.getLogger(__name__)

TASK_CONF_DIR = zo_sweep.CONF_DIR / "task"
TEMPLATE_DIR = Path(zo_sweep.__file__).resolve().parent / "templates"
TRAIN_OBJECTIVES = ("ce", "lm")
CHOICE_LETTERS = "ABCDEFGHIJ"


class DataError(ValueError):
    """A user-facing problem with task data or a task spec, as one line of text."""


class RecordError(ValueError):
    """A problem with one record; the reader adds the file and line to make it a DataError."""


@dataclass(frozen=True)
class Example:
    """One prompt and its candidate continuations; ``label`` indexes the right candidate."""

    prompt: str
    candidates: list[str]
    label: int

    def __post_init__(self) -> None:
        if not 0 <= self.label < len(self.candidates):
            raise ValueError(
                f"label {self.label} out of range for {len(self.candidates)} candidates"
            )


# --- metrics -------------------------------------------------------------------------------


def accuracy(predictions: Sequence[int], labels: Sequence[int]) -> float:
    return sum(p == g for p, g in zip(predictions, labels, strict=True)) / len(labels)


def macro_f1(predictions: Sequence[int], labels: Sequence[int]) -> float:
    """F1 averaged over every class seen in labels or predictions (scikit-learn's macro F1)."""
    pairs = list(zip(predictions, labels, strict=True))
    scores = []
    for cls in sorted(set(predictions) | set(labels)):
        true_pos = sum(p == cls and g == cls for p, g in pairs)
        predicted = sum(p == cls for p, _ in pairs)
        actual = sum(g == cls for _, g in pairs)
        scores.append(2 * true_pos / (predicted + actual) if predicted + actual else 0.0)
    return sum(scores) / len(scores)


METRICS: dict[str, Callable[[Sequence[int], Sequence[int]], float]] = {
    "accuracy": accuracy,
    "macro_f1": macro_f1,
}


# --- the parts of a spec ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChoiceSpec:
    """How a record's answer options are formed; exactly one of the three sources is set.

    verbalizer: fixed option texts, the same for every record (label = index).
    from_fields: one record field per option (label = index).
    from_list: a record field holding ``{text: [...], label: [...]}`` as in ARC
        (label = one of the option keys).
    """

    verbalizer: tuple[str, ...] = ()
    from_fields: tuple[str, ...] = ()
    list_field: str | None = None
    list_text: str = "text"
    list_key: str = "label"
    min_count: int = 2
    max_count: int = len(CHOICE_LETTERS)

    @property
    def keyed(self) -> bool:
        """Whether the label names an option key rather than an index."""
        return self.list_field is not None

    def source_fields(self) -> tuple[str, ...]:
        return self.from_fields or ((self.list_field,) if self.list_field else ())

    def options(self, record: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The record's options as dicts with text, key, letter and index (the record's
        source fields were checked by TaskSpec before)."""
        if self.verbalizer:
            texts, keys = list(self.verbalizer), [str(i) for i in range(len(self.verbalizer))]
        elif self.from_fields:
            texts = [str(record[name]) for name in self.from_fields]
            keys = [str(i) for i in range(len(texts))]
        else:
            texts, keys = self._listed(record)
        return [
            {"text": text, "key": key, "letter": CHOICE_LETTERS[i], "index": i}
            for i, (text, key) in enumerate(zip(texts, keys, strict=True))
        ]

    def _listed(self, record: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        name = self.list_field
        value = record[name]
        if isinstance(value, str):  # a nested field stored as JSON text, e.g. in a CSV cell
            try:
                value = json.loads(value)
            except json.JSONDecodeError as err:
                raise RecordError(f"field '{name}' is not valid JSON ({err.msg})") from None
        shape = f"field '{name}' must hold '{self.list_text}' and '{self.list_key}' lists"
        if not isinstance(value, Mapping):
            raise RecordError(shape)
        raw_texts, raw_keys = value.get(self.list_text), value.get(self.list_key)
        if not isinstance(raw_texts, list | tuple) or not isinstance(raw_keys, list | tuple):
            raise RecordError(shape)
        texts = [str(text) for text in raw_texts]
        keys = [str(key).strip() for key in raw_keys]
        if len(keys) != len(texts):
            raise RecordError(
                f"field '{name}' has {len(texts)} '{self.list_text}' but {len(keys)} '{self.list_key}'"
            )
        if not self.min_count <= len(texts) <= self.max_count:
            raise RecordError(
                f"field '{name}' has {len(texts)} options, expected {self.min_count} to {self.max_count}"
            )
        return texts, keys


@dataclass(frozen=True)
class LabelSpec:
    """Where the gold label is and which names it may take besides a plain index."""

    field: str = "label"
    names: tuple[str, ...] = ()

    def index(self, record: Mapping[str, Any], options: list[dict[str, Any]], keyed: bool) -> int:
        if self.field not in record or record[self.field] is None:
            raise RecordError(f"missing field '{self.field}'")
        raw = record[self.field]
        if keyed:
            return self._index_by_key(raw, options)
        return self._index_by_position(raw, len(options))

    def _index_by_key(self, raw: Any, options: list[dict[str, Any]]) -> int:
        keys = [option["key"] for option in options]
        wanted = str(raw).strip()
        if wanted in keys:
            return keys.index(wanted)
        raise RecordError(
            f"label {raw!r} in field '{self.field}' is not one of the options {', '.join(keys)}"
        )

    def _index_by_position(self, raw: Any, count: int) -> int:
        index = self._as_int(raw)
        if not 0 <= index < count:
            raise RecordError(f"label {raw!r} in field '{self.field}' out of range 0-{count - 1}")
        return index

    def _as_int(self, raw: Any) -> int:
        if isinstance(raw, bool):  # JSON true/false: bool is an int subclass, so check it first
            return int(raw)
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        text = str(raw).strip()
        lowered = [name.lower() for name in self.names]
        if text.lower() in lowered:
            return lowered.index(text.lower())
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        known = f" (known: {', '.join(self.names)})" if self.names else ""
        raise RecordError(f"unknown label {raw!r} in field '{self.field}'{known}")


# --- the task spec ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskSpec:
    """A task as configured in ``conf/task/<name>.yaml``."""

    name: str
    folder: str
    num_dev: int
    template: str
    candidate: str
    choices: ChoiceSpec
    label: LabelSpec = field(default_factory=LabelSpec)
    fields: tuple[str, ...] = ()
    field_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    file_prefix: str | None = None
    metrics: list[str] = field(default_factory=lambda: ["accuracy"])
    train_objective: str = "ce"
    hub: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def primary_metric(self) -> str:
        return self.metrics[0]

    def compute_metrics(
        self, predictions: Sequence[int], labels: Sequence[int]
    ) -> dict[str, float]:
        """Every metric of the task, e.g. ``{"accuracy": 0.8, "macro_f1": 0.7}``."""
        if len(predictions) != len(labels):
            raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
        if not labels:
            raise ValueError("no examples to score")
        return {name: METRICS[name](predictions, labels) for name in self.metrics}

    def make_example(self, record: Mapping[str, Any]) -> Example:
        """Render one raw record. Raises RecordError naming the offending field."""
        self._check_fields(record)
        options = self.choices.options(record)
        label = self.label.index(record, options, keyed=self.choices.keyed)
        context = {**record, "choices": options}
        prompt = _render(_template(self.template), context)
        candidates = [
            _render(_candidate_template(self.candidate), {**context, **o}) for o in options
        ]
        return Example(prompt=prompt, candidates=candidates, label=label)

    def _check_fields(self, record: Mapping[str, Any]) -> None:
        for name in (*self.fields, *self.choices.source_fields()):
            if name not in record or record[name] is None:
                raise RecordError(f"missing field '{name}'")
        for name, allowed in self.field_values.items():
            if str(record[name]).strip() not in allowed:
                raise RecordError(
                    f"field '{name}' is {record[name]!r}, expected one of {', '.join(allowed)}"
                )


# --- templates -------------------------------------------------------------------------------

# StrictUndefined: a template that reads a field the record lacks fails loudly, not with "".
_JINJA = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=False,
)


@cache
def _template(name: str) -> jinja2.Template:
    return _JINJA.get_template(name)


@cache
def _candidate_template(source: str) -> jinja2.Template:
    return _JINJA.from_string(source)


def _render(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    try:
        return template.render(context)
    except jinja2.UndefinedError as err:
        raise RecordError(f"template {template.name or 'candidate'}: {err.message}") from None


# --- loading specs ---------------------------------------------------------------------------

_SPEC_KEYS = {
    "name", "folder", "num_dev", "template", "candidate", "choices", "label", "fields",
    "field_values", "file_prefix", "metrics", "train_objective", "hub", "description",
}  # fmt: skip


def _normalized(name: str) -> str:
    """Task lookup ignores case and punctuation: 'SST-2', 'sst2' and 'Sst_2' are one task."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def known_task_names() -> list[str]:
    return sorted(path.stem for path in TASK_CONF_DIR.glob("*.yaml"))


def load_task_spec(name: str) -> TaskSpec:
    """The spec of a task, by task name ("copa") or data folder name ("Copa", "SST-2")."""
    wanted = _normalized(name)
    for path in sorted(TASK_CONF_DIR.glob("*.yaml")):
        raw = _read_yaml(path)
        if wanted in {_normalized(path.stem), _normalized(str(raw.get("folder", "")))}:
            return _spec_from_dict(raw, path)
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


def _spec_from_dict(raw: dict[str, Any], path: Path) -> TaskSpec:
    where = f"conf/task/{path.name}"
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
        hub=dict(raw.get("hub") or {}),
        description=str(raw.get("description", "")),
    )
    _validate(spec, where)
    return spec


def _choice_spec(raw: Any, where: str) -> ChoiceSpec:
    if not isinstance(raw, dict):
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
    if not isinstance(raw, dict) or set(raw) - {"field", "names"}:
        raise DataError(f"{where}: 'label' takes only 'field' and 'names'")
    return {
        "field": str(raw.get("field", "label")),
        "names": tuple(map(str, raw.get("names") or ())),
    }


def _validate(spec: TaskSpec, where: str) -> None:
    if not (TEMPLATE_DIR / spec.template).is_file():
        raise DataError(f"{where}: template '{spec.template}' not found in zo_sweep/templates/")
    unknown = [m for m in spec.metrics if m not in METRICS]
    if unknown:
        raise DataError(f"{where}: unknown metric '{unknown[0]}' (known: {', '.join(METRICS)})")
    if spec.train_objective not in TRAIN_OBJECTIVES:
        raise DataError(
            f"{where}: train_objective '{spec.train_objective}' is not one of {', '.join(TRAIN_OBJECTIVES)}"
        )
    missing = [name for name in spec.field_values if name not in spec.fields]
    if missing:
        raise DataError(f"{where}: field_values names '{missing[0]}', which is not in 'fields'")
    try:
        _template(spec.template)
        _candidate_template(spec.candidate)
    except jinja2.TemplateSyntaxError as err:
        raise DataError(
            f"{where}: template syntax error ({err.message}, line {err.lineno})"
        ) from None
