"""How a record's answer options are formed: a verbalizer, one field per option, or a list."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zo_sweep.data.tasks.example import RecordError

CHOICE_LETTERS = "ABCDEFGHIJ"


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
