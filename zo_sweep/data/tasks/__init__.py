"""Task specs: how one raw data record becomes a prompt, its candidate answers and a label.

A task is one YAML file in ``conf/task/`` plus one Jinja2 prompt template in
``zo_sweep/data/templates/``. The YAML says which record fields the template reads, how the
candidates are formed (a fixed verbalizer, one field per candidate, or a list of choices as in
ARC) and how the label field maps to a candidate index; no module here holds task-specific code.
The schema is described in docs/data.md ("How to add a task").
"""

from zo_sweep.data.tasks.choices import CHOICE_LETTERS, ChoiceSpec
from zo_sweep.data.tasks.example import DataError, Example, RecordError
from zo_sweep.data.tasks.labels import LabelSpec
from zo_sweep.data.tasks.loading import (
    TASK_CONF_DIR,
    known_task_names,
    load_task_spec,
    normalized_name,
    task_spec_from_mapping,
)
from zo_sweep.data.tasks.metrics import METRICS, accuracy, macro_f1
from zo_sweep.data.tasks.spec import EVAL_SPLITS, TRAIN_OBJECTIVES, TaskSpec
from zo_sweep.data.tasks.templates import TEMPLATE_DIR

__all__ = [
    "CHOICE_LETTERS",
    "EVAL_SPLITS",
    "METRICS",
    "TASK_CONF_DIR",
    "TEMPLATE_DIR",
    "TRAIN_OBJECTIVES",
    "ChoiceSpec",
    "DataError",
    "Example",
    "LabelSpec",
    "RecordError",
    "TaskSpec",
    "accuracy",
    "known_task_names",
    "load_task_spec",
    "macro_f1",
    "normalized_name",
    "task_spec_from_mapping",
]
