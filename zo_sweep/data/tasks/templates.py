"""The Jinja2 prompt templates of the tasks (`zo_sweep/data/templates/`) and candidate templates."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from zo_sweep.data.tasks.example import RecordError

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
# StrictUndefined: a template that reads a field the record lacks fails loudly, not with "".
_JINJA = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=False,
)


@cache
def prompt_template(name: str) -> jinja2.Template:
    return _JINJA.get_template(name)


@cache
def candidate_template(source: str) -> jinja2.Template:
    return _JINJA.from_string(source)


def render(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    try:
        return template.render(context)
    except jinja2.UndefinedError as err:
        raise RecordError(f"template {template.name or 'candidate'}: {err.message}") from None
