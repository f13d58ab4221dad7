"""A sweep's jobs as a table of one line each, fitted to a width: what the console shows.

    smollm2_135m/sst2_zo_original/  state     step    loss  dev_accuracy      eta
    lr=0.001                        running  12/20  0.6912        0.5000  0:00:41

The folder every job shares heads the first column, and each row names a job by what is left
(its varied keys). Columns no job has a value for are left out. Given a width, no line passes
it: the shared folder heading the job column shortens (from its start), then the dev metric's
name, then the loss and dev columns go, then the job names lose their start
(`…_original/lr=0.001`); an error, last on its line, loses its end.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from zo_sweep.jobdir.progress import JobProgress, format_eta

ELLIPSIS = "…"
SHORTEST_NAME = 12
SHORTEST_ERROR = 8  # an error cut shorter says nothing: the column goes
GAP = "  "


@dataclass(frozen=True)
class Column:
    name: str
    right: bool = False  # numbers align right
    always: bool = False  # shown even when no job has a value


COLUMNS = (
    Column("job", always=True),
    Column("state", always=True),
    Column("step", right=True),
    Column("loss", right=True),
    Column("dev", right=True),
    Column("eta", right=True),
    Column("error"),  # last: cut at the end of the line
)
# Given up in this order when a table is too wide (the job, its state and step stay).
DROPPED_FIRST = ("loss", "dev")


def job_table(
    jobs: Sequence[JobProgress], width: int | None = None, *, eta: bool = True
) -> list[str]:
    """The jobs as a header and one line each, every line at most `width` characters."""
    if not jobs:
        return []
    prefix, names = split_common_folder([job.name for job in jobs])
    rows = [_cells(job, name) for job, name in zip(jobs, names, strict=True)]
    columns = [
        column
        for column in COLUMNS
        if column.always or ((eta or column.name != "eta") and any(r[column.name] for r in rows))
    ]
    headers = {"job": prefix or "job", "dev": _dev_header(jobs)}
    if width is None:
        return _layout(rows, headers, columns)
    for narrower_headers, fewer_columns in _narrower(headers, columns):
        columns = fewer_columns
        headers = _shared_folder_fitted(rows, narrower_headers, columns, width)
        if _table_width(rows, headers, columns) <= width:
            break
    excess = _table_width(rows, headers, columns) - width
    if excess > 0:
        room = max(SHORTEST_NAME, max(len(row["job"]) for row in rows) - excess)
        rows = [{**row, "job": shorten_start(row["job"], room)} for row in rows]
        headers = {**headers, "job": shorten_start(headers["job"], room)}
    if width - _table_width(rows, headers, columns) < len(GAP) + SHORTEST_ERROR:
        columns = [column for column in columns if column.name != "error"]
    return [cut(line, width) for line in _layout(rows, headers, columns)]


def split_common_folder(names: Sequence[str]) -> tuple[str, list[str]]:
    """`("m/cell/", ["lr=1", "lr=2"])` from `["m/cell/lr=1", "m/cell/lr=2"]`: the leading
    folders every name shares, and what is left of each (never nothing)."""
    parts = [PurePosixPath(name).parts for name in names]
    shared = 0
    while all(len(p) > shared + 1 and p[shared] == parts[0][shared] for p in parts):
        shared += 1
    if not shared:
        return "", list(names)
    prefix = "/".join(parts[0][:shared]) + "/"
    return prefix, ["/".join(p[shared:]) for p in parts]


def shorten_start(text: str, width: int) -> str:
    """`…_original/lr=0.001`: the end of a name says which job it is."""
    if len(text) <= width:
        return text
    return ELLIPSIS + text[len(text) - width + 1 :] if width > 1 else text[-width:]


def _cells(job: JobProgress, name: str) -> dict[str, str]:
    step = ""
    if job.step is not None:
        step = f"{job.step}/{job.steps if job.steps is not None else '?'}"
    return {
        "job": name,
        "state": job.state,
        "step": step,
        "loss": "" if job.loss is None else f"{job.loss:.4f}",
        "dev": "" if job.dev is None else f"{job.dev:.4f}",
        "eta": format_eta(job.eta_seconds),
        "error": " ".join((job.error or "").split()),
    }


def _dev_header(jobs: Sequence[JobProgress]) -> str:
    """The dev metric's name when every job that has one has the same (`dev_accuracy`)."""
    names = {job.dev_name for job in jobs if job.dev_name}
    return names.pop() if len(names) == 1 else "dev"


def _narrower(
    headers: dict[str, str], columns: list[Column]
) -> Iterator[tuple[dict[str, str], list[Column]]]:
    """The table as it is, then with a plain `dev` header, then with fewer columns."""
    yield headers, columns
    headers = {**headers, "dev": "dev"}
    yield headers, columns
    for name in DROPPED_FIRST:
        columns = [column for column in columns if column.name != name]
        yield headers, columns


def _shared_folder_fitted(
    rows: list[dict[str, str]], headers: dict[str, str], columns: list[Column], width: int
) -> dict[str, str]:
    """The shared folder heading the job column shortened (from its start) as far as the
    table's width needs, but no shorter than the job names below it."""
    excess = _table_width(rows, headers, columns) - width
    if excess <= 0:
        return headers
    shortest = max(3, *(len(row["job"]) for row in rows))
    room = max(shortest, len(headers["job"]) - excess)
    return {**headers, "job": shorten_start(headers["job"], room)}


def _table_width(rows: list[dict[str, str]], headers: dict[str, str], columns: list[Column]) -> int:
    """The width of the table's lines, but for the error (which is cut at the line's end)."""
    fixed = [column for column in columns if column.name != "error"]
    return max(map(len, _layout(rows, headers, fixed)))


def _layout(
    rows: list[dict[str, str]], headers: dict[str, str], columns: list[Column]
) -> list[str]:
    return layout(
        [headers.get(column.name, column.name) for column in columns],
        [[row[column.name] for column in columns] for row in rows],
        [column.right for column in columns],
    )


def layout(titles: list[str], rows: list[list[str]], right: list[bool]) -> list[str]:
    """Columns two spaces apart, each as wide as its widest cell; numbers aligned right."""
    table = [titles, *rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(titles))]
    return [
        GAP.join(
            cell.rjust(width) if align_right else cell.ljust(width)
            for cell, width, align_right in zip(line, widths, right, strict=True)
        ).rstrip()
        for line in table
    ]


def cut(line: str, width: int) -> str:
    """The line, ending in `…` where it passes `width`."""
    if len(line) <= width:
        return line
    return line[: max(0, width - 1)] + ELLIPSIS if width > 0 else ""
