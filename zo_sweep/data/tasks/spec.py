"""A task as configured in `conf/task/<name>.yaml`: fields, choices, label, template, metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zo_sweep.data.tasks.choices import ChoiceSpec
from zo_sweep.data.tasks.example import Example, RecordError
from zo_sweep.data.tasks.labels import LabelSpec
from zo_sweep.data.tasks.metrics import METRICS
from zo_sweep.data.tasks.templates import candidate_template, prompt_template, render

TRAIN_OBJECTIVES = ("ce", "lm")
# Label values of records that have no gold answer (the hub's GLUE and SuperGLUE test files).
UNLABELED = (-1, "-1", None, "")
# Where the reported test metric comes from. MeZO's protocol (the default) never reads a test
# file: dev is drawn from train and "test" examples from the validation file.
EVAL_SPLITS = ("validation", "test")


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
    eval_split: str = "validation"
    aliases: tuple[str, ...] = ()
    hub: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def primary_metric(self) -> str:
        return self.metrics[0]

    @property
    def spellings(self) -> tuple[str, ...]:
        """Every name a data folder of this task may have (matched ignoring case)."""
        return (self.folder, self.name, *self.aliases)

    def is_unlabeled(self, record: Mapping[str, Any]) -> bool:
        """A record without a gold answer: the hub's test files carry label -1 (or none)."""
        return record.get(self.label.field) in UNLABELED

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
        prompt = render(prompt_template(self.template), context)
        candidates = [render(candidate_template(self.candidate), {**context, **o}) for o in options]
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
