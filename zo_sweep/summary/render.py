"""Tables to text: a terminal table, csv, markdown, json or latex."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from tabulate import tabulate

FLOAT_FORMAT = "{:.4g}"
EMPTY = ""


def as_terminal(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(no rows)"
    # Text left, numbers right (tabulate recognises the rounded numbers as numbers).
    return tabulate(
        _display(frame), headers="keys", tablefmt="simple", showindex=False, disable_numparse=False
    )


def as_markdown(frame: pd.DataFrame) -> str:
    return _display(frame).to_markdown(index=False)


def as_latex(frame: pd.DataFrame) -> str:
    return _display(frame).to_latex(index=False)


def as_csv(frame: pd.DataFrame) -> str:
    return _with_text_timestamps(frame).to_csv(index=False)


def as_json(frame: pd.DataFrame) -> str:
    return _with_text_timestamps(frame).to_json(orient="records", indent=2)


FORMATS: dict[str, Callable[[pd.DataFrame], str]] = {
    "table": as_terminal,
    "csv": as_csv,
    "markdown": as_markdown,
    "json": as_json,
    "latex": as_latex,
}
# `--out results.md` picks its format from the file's suffix unless --format says otherwise.
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".md": "markdown",
    ".json": "json",
    ".tex": "latex",
    ".txt": "table",
}


def render(frame: pd.DataFrame, fmt: str) -> str:
    text = FORMATS[fmt](frame)
    return text if text.endswith("\n") else text + "\n"


def format_for(out: Path | None, fmt: str | None) -> str:
    """The explicit format, else the one the output file's suffix implies, else a table."""
    if fmt:
        return fmt
    if out is not None:
        return SUFFIX_FORMATS.get(out.suffix.lower(), "table")
    return "table"


def _display(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers rounded for reading, empty cells blank (not NaN/None)."""
    shown = _with_text_timestamps(frame).astype("object")
    for column in shown.columns:
        shown[column] = shown[column].map(_cell)
    return shown


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return EMPTY
    if isinstance(value, float):
        return (
            str(int(value))
            if value.is_integer() and abs(value) >= 1
            else FLOAT_FORMAT.format(value)
        )
    return str(value)


def _with_text_timestamps(frame: pd.DataFrame) -> pd.DataFrame:
    converted = frame.copy()
    for column in converted.columns:
        if pd.api.types.is_datetime64_any_dtype(converted[column]):
            converted[column] = converted[column].dt.strftime("%Y-%m-%d %H:%M:%S")
    return converted
