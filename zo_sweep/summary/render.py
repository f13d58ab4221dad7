"""Tables to text: a terminal table, csv, markdown, json or latex.

Cells may be numbers, text, or `cells.Measure` / `cells.Delta` (the compare view), which
render themselves per format; `percent` shows those as percentages with one decimal.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from zo_sweep.summary import cells, latex
from zo_sweep.summary.cells import Delta, Measure

FLOAT_FORMAT = "{:.4g}"
EMPTY = ""
RICH_CELLS = (Measure, Delta)


def as_terminal(frame: pd.DataFrame, percent: bool = False) -> str:
    if frame.empty:
        return "(no rows)"
    # Text left, numbers right (tabulate recognises the rounded numbers as numbers).
    table = tabulate(
        _display(frame, cells.PLAIN, percent),
        headers="keys",
        tablefmt="simple",
        showindex=False,
        # Rich cells are text already: "+0.100" must not become 0.1.
        disable_numparse=[i for i, column in enumerate(frame.columns) if _is_rich(frame[column])],
    )
    return table + "".join(f"\n{note}" for note in _notes(frame))


def as_markdown(frame: pd.DataFrame, percent: bool = False) -> str:
    # A `|` inside a cell would end it: escaped, it shows as itself.
    shown = _display(frame, cells.MARKDOWN, percent).map(_escape_pipe)
    shown.columns = [_escape_pipe(str(column)) for column in shown.columns]
    table = shown.to_markdown(index=False, disable_numparse=True, colalign=_align(frame))
    return table + "".join(f"\n\n{note}" for note in _notes(frame))


def as_latex(frame: pd.DataFrame, percent: bool = False) -> str:
    shown = _display(frame, cells.LATEX, percent)
    rich = [_is_rich(frame[column]) for column in frame.columns]
    rows = [
        [
            value if is_rich else latex.escape(value)
            for value, is_rich in zip(row, rich, strict=True)
        ]
        for row in shown.itertuples(index=False)
    ]
    notes = [note.replace("†", cells.STEP_0_MARK[cells.LATEX]) for note in _notes(frame)]
    numeric = [side == "right" for side in _align(frame)]
    return latex.tabular(list(map(str, frame.columns)), rows, numeric, notes)


def as_csv(frame: pd.DataFrame, percent: bool = False) -> str:
    return _numbers_in_columns(frame, percent).to_csv(index=False)


def as_json(frame: pd.DataFrame, percent: bool = False) -> str:
    shown = _with_text_timestamps(frame)
    for column in shown.columns:
        if _is_rich(frame[column]):
            shown[column] = shown[column].map(lambda value: _as_record(value, percent))
    return shown.to_json(orient="records", indent=2)


FORMATS: dict[str, Callable[..., str]] = {
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


def render(frame: pd.DataFrame, fmt: str, percent: bool = False) -> str:
    text = FORMATS[fmt](frame, percent=percent)
    return text if text.endswith("\n") else text + "\n"


def format_for(out: Path | None, fmt: str | None) -> str:
    """The explicit format, else the one the output file's suffix implies, else a table."""
    if fmt:
        return fmt
    if out is not None:
        return SUFFIX_FORMATS.get(out.suffix.lower(), "table")
    return "table"


def _display(frame: pd.DataFrame, style: str, percent: bool) -> pd.DataFrame:
    """Numbers rounded for reading, empty cells blank (not NaN/None)."""
    shown = _with_text_timestamps(frame).astype("object")
    for column in shown.columns:
        shown[column] = shown[column].map(lambda value: _cell(value, style, percent))
    return shown


def _numbers_in_columns(frame: pd.DataFrame, percent: bool) -> pd.DataFrame:
    """Each rich cell's numbers in columns of their own (`<column> mean`, `<column> std`, ...),
    so that a spreadsheet reads numbers, not text."""
    shown = _with_text_timestamps(frame)
    parts = []
    for column in shown.columns:
        if not _is_rich(frame[column]):
            parts.append(shown[[column]])
            continue
        fields = pd.DataFrame(
            [cells.numbers(value, percent) for value in frame[column]], index=frame.index
        )
        counts = [field for field in fields.columns if field in cells.COUNT_FIELDS]
        fields[counts] = fields[counts].astype("Int64")  # 2, not 2.0, beside an empty cell
        parts.append(fields.add_prefix(str(column)))
    return pd.concat(parts, axis=1) if parts else shown


def _is_rich(values: pd.Series) -> bool:
    return any(isinstance(value, RICH_CELLS) for value in values)


def _align(frame: pd.DataFrame) -> list[str]:
    def numeric(values: pd.Series) -> bool:
        return _is_rich(values) or pd.api.types.is_numeric_dtype(values)

    return ["right" if numeric(frame[column]) else "left" for column in frame.columns]


def _notes(frame: pd.DataFrame) -> list[str]:
    measures = [
        value for column in frame.columns for value in frame[column] if isinstance(value, Measure)
    ]
    notes = []
    if any(measure.never_beat_zero_shot for measure in measures):
        notes.append(cells.STEP_0_NOTE)
    if any(measure.some_at_step_0 for measure in measures):
        notes.append(cells.SOME_AT_STEP_0_NOTE)
    return notes


def _escape_pipe(text: str) -> str:
    return text.replace("|", "\\|")


def _as_record(value: object, percent: bool) -> object:
    return value.as_record(percent) if isinstance(value, RICH_CELLS) else None


def _cell(value: object, style: str = cells.PLAIN, percent: bool = False) -> str:
    if isinstance(value, RICH_CELLS):
        return value.text(style, percent)
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
