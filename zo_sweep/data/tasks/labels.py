"""Where a record's gold label is, and how its value (index, name, key, boolean) maps to an option."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zo_sweep.data.tasks.example import RecordError


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
