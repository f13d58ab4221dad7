"""The Jinja2 prompt templates of the tasks (`zo_sweep/data/templates/`) and candidate templates."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from zo_sweep.data.tasks.example import RecordError


def lowercase_sentence_start(text: str) -> str:
    """A sentence made to continue another: "The kids went." -> "the kids went.".

    Only an ordinary capitalised first word is lowercased: one capital followed by lower-case
    letters. "I" and its contractions ("I'm", "I'd") keep their capital, and so do words with a
    capital elsewhere ("NASA", "McDonald", "iPhone" is left as is). A name such as "Mary" reads
    like an ordinary word and is lowercased: telling names apart needs a dictionary, and in
    COPA names are rare while "I" starts about one choice in seven.
    """
    word = text.split(maxsplit=1)[0] if text.strip() else ""
    if word == "I" or word.startswith(("I'", "I’")):
        return text
    letters = [char for char in word if char.isalpha()]
    if not letters or not letters[0].isupper() or any(char.isupper() for char in letters[1:]):
        return text
    first = next(index for index, char in enumerate(text) if char.isalpha())
    return text[:first] + text[first].lower() + text[first + 1 :]


TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
# StrictUndefined: a template that reads a field the record lacks fails loudly, not with "".
_JINJA = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=False,
)
_JINJA.filters["lowercase_sentence_start"] = lowercase_sentence_start


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
