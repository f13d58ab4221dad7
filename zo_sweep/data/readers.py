"""Reading the records of one data file (jsonl, json, csv, tsv, parquet) with their locations.

Every record comes with where it was read from ("Copa/copa_train.jsonl line 7"), so that a
bad record can be reported as one line naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zo_sweep.data.tasks import DataError

Record = tuple[str, dict[str, Any]]  # (location, fields)


def display_name(path: Path) -> str:
    """The folder and file name, e.g. Copa/copa_train.jsonl: enough to find it, short to read."""
    return f"{path.parent.name}/{path.name}"


def read_records(path: Path) -> list[Record]:
    """All records of a data file; raises DataError on an unknown format or a malformed record."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{display_name(path)}: unknown format (use one of {', '.join(READERS)})")
    try:
        return reader(path)
    except UnicodeDecodeError as err:
        raise DataError(f"{display_name(path)}: not UTF-8 text (byte {err.start})") from None


def read_jsonl(path: Path) -> list[Record]:
    name = display_name(path)
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                records.append(_json_object(line, f"{name} line {number}"))
    return records


def read_json(path: Path) -> list[Record]:
    """A JSON list of records, or JSON lines under a .json name (what `datasets` writes)."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        return read_jsonl(path)
    name = display_name(path)
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{name} line {err.lineno}: malformed JSON ({err.msg})") from None
    if not isinstance(payload, list):
        raise DataError(f"{name}: expected a JSON list of records")
    records = []
    for number, item in enumerate(payload, start=1):
        if not isinstance(item, dict):
            raise DataError(f"{name} record {number}: expected a JSON object")
        records.append((f"{name} record {number}", item))
    return records


def read_csv(path: Path, delimiter: str = ",") -> list[Record]:
    """Cells are text; labels are parsed by the task and nested fields may hold JSON text."""
    name = display_name(path)
    records = []
    # utf-8-sig: spreadsheet programs often start a CSV with a byte-order mark.
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        for row in reader:
            # A short row fills missing cells with None, which the task reports as a missing field.
            fields = {key: value for key, value in row.items() if key is not None}
            records.append((f"{name} line {reader.line_num}", fields))
    return records


def read_tsv(path: Path) -> list[Record]:
    return read_csv(path, delimiter="\t")


def read_parquet(path: Path) -> list[Record]:
    import pyarrow.parquet as pq  # pandas' own parquet engine; read directly for plain Python values

    name = display_name(path)
    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as err:  # pyarrow raises several error types for a damaged file
        raise DataError(f"{name}: not a readable parquet file ({err})") from None
    return [(f"{name} row {number}", row) for number, row in enumerate(rows, start=1)]


def _json_object(line: str, where: str) -> Record:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"{where}: malformed JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(item, dict):
        raise DataError(f"{where}: expected a JSON object")
    return where, item


READERS: dict[str, Callable[[Path], list[Record]]] = {
    ".jsonl": read_jsonl,
    ".json": read_json,
    ".csv": read_csv,
    ".tsv": read_tsv,
    ".parquet": read_parquet,
}
