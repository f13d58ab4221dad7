"""`python -m zo_sweep.summary [DIR ...]` (or `zo-summary`): job directories to tables and plots."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import NoReturn

import pandas as pd

from zo_sweep.closed_pipe import quiet_on_closed_pipe
from zo_sweep.summary import presentation, progress, render, views
from zo_sweep.summary.load import DEFAULT_DIR, SummaryWarning, load

# --<option> VALUE keeps the rows whose column equals one of the (comma-separated) values.
FILTER_COLUMNS = ("purpose", "model", "task", "method", "data", "status")
# Filters that may keep part of a sweep's jobs: its plan then says nothing of what is shown.
WITHIN_SWEEP_FILTERS = ("model", "task", "method", "data", "status")
PROG = "python -m zo_sweep.summary"
# `--purpose all` looks at every purpose at once; without --purpose there must be only one.
ALL_PURPOSES = "all"
# Views and plots that aggregate runs, and so may leave reruns out.
AGGREGATED_VIEWS = ("best", "compare")
# The tables of views.VIEWS, and how far each job has come (read from its files).
VIEWS = {**views.VIEWS, "progress": progress.progress}


class UsageError(Exception):
    """A mistake on the command line, reported as one line."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake is one line on stderr (exit 2), not the usage block first."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


@quiet_on_closed_pipe
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except UsageError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Summarise sweep job directories: one row per job, best lr, comparisons, failures.",
    )
    parser.add_argument(
        "dirs", nargs="*", type=Path, help=f"where to look (default: {DEFAULT_DIR}/)"
    )
    parser.add_argument("--view", choices=sorted(VIEWS), default="runs", help="which table")
    parser.add_argument(
        "--format", choices=sorted(render.FORMATS), help="default: a terminal table"
    )
    parser.add_argument(
        "--out", type=Path, help="write the table to this file (format from suffix)"
    )
    parser.add_argument(
        "--percent", action="store_true", help="compare: percentages with one decimal"
    )
    parser.add_argument("--plot", type=Path, metavar="DIR", help="also write figures to DIR")
    parser.add_argument(
        "--plot-format", choices=("png", "pdf"), default="png", help="figure file format"
    )
    parser.add_argument(
        "--export",
        nargs=2,
        metavar=("TRACKER", "DEST"),
        help="replay the finished jobs into a tracker instead: tensorboard, mlflow or wandb DIR",
    )
    for column in FILTER_COLUMNS:
        parser.add_argument(
            f"--{column}",
            action="append",
            metavar="NAME",
            help=f"keep only this {column} (repeatable, or a,b)"
            + (f"; '{ALL_PURPOSES}' for every purpose" if column == "purpose" else ""),
        )
    parser.add_argument(
        "--since", metavar="DATE", help="keep jobs started on or after DATE (e.g. 2024-05-01)"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    dirs = args.dirs or [Path(DEFAULT_DIR)]
    missing = [str(d) for d in dirs if not d.exists()]
    if missing:
        raise UsageError(f"no such directory: {', '.join(missing)}")
    files = [str(d) for d in dirs if not d.is_dir()]
    if files:
        raise UsageError(f"not a directory: {', '.join(files)} (give the folder that holds jobs)")
    if args.plot:
        _make_folder(args.plot, "--plot")  # before any table is printed
    frame = filter_rows(load_reporting_warnings(dirs), args)
    if frame.empty:
        print(f"no jobs found under {', '.join(map(str, dirs))} (after filters)", file=sys.stderr)
    if args.export:
        return export(frame, *args.export)
    if not args.purpose and args.view != "progress":
        require_one_purpose(frame)
    if args.view in AGGREGATED_VIEWS or args.plot:
        report_dropped_reruns(frame)
    table = VIEWS[args.view](frame)
    if args.view == "progress":
        whole_sweeps = not any(getattr(args, column) for column in WITHIN_SWEEP_FILTERS)
        print(progress.headline(table, frame, whole_sweeps), file=sys.stderr, flush=True)
    shown = presentation.for_reading(table, args.view, percent=args.percent)
    text = render.render(shown, render.format_for(args.out, args.format), percent=args.percent)
    if args.out:
        _write_table(args.out, text)
        print(f"wrote {args.out} ({len(table)} rows)", file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()  # the table before what follows on stderr
    if args.plot:
        from zo_sweep.summary.plots import write_plots  # matplotlib only when asked for

        try:
            written = write_plots(
                frame, args.plot, file_format=args.plot_format, percent=args.percent
            )
        except OSError as err:
            raise UsageError(f"--plot: cannot write to {args.plot}: {_reason(err)}") from None
        print(f"wrote {len(written)} plots to {args.plot}", file=sys.stderr)
    return 0


def require_one_purpose(frame: pd.DataFrame) -> None:
    """Different purposes are different studies: with several, the user picks one."""
    counts = frame["purpose"].value_counts()
    if len(counts) > 1:
        listed = ", ".join(f"{name} ({count} jobs)" for name, count in counts.items())
        raise UsageError(
            f"jobs of {len(counts)} purposes: {listed}; "
            f"choose one with --purpose NAME (or --purpose {ALL_PURPOSES})"
        )


def report_dropped_reruns(frame: pd.DataFrame) -> None:
    dropped = views.dropped_reruns(frame)
    if dropped:
        print(
            f"note: {dropped} rerun{'s' if dropped != 1 else ''} of an identical configuration "
            "and seed left out (the latest run counts)",
            file=sys.stderr,
        )


def _write_table(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as err:
        raise UsageError(f"cannot write {path}: {_reason(err)}") from None


def _make_folder(path: Path, option: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"{option}: cannot create the folder {path}: {_reason(err)}") from None


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def export(frame: pd.DataFrame, kind: str, dest: str) -> int:
    from zo_sweep.errors import ConfigError
    from zo_sweep.summary.export import KINDS, export_jobs

    if kind not in KINDS:
        raise UsageError(f"--export: unknown tracker {kind!r} (use {' or '.join(KINDS)})")
    try:
        count = export_jobs(frame, kind, Path(dest))
    except ConfigError as err:  # the tracker's package is not installed
        raise UsageError(str(err)) from None
    print(f"exported {count} jobs to {kind} in {dest}", file=sys.stderr)
    return 0


def load_reporting_warnings(dirs: list[Path]) -> pd.DataFrame:
    """load(), with each unreadable file reported as one `warning:` line on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SummaryWarning)
        frame = load(dirs)
    for warning in caught:
        if issubclass(warning.category, SummaryWarning):
            print(f"warning: {warning.message}", file=sys.stderr)
        else:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return frame


def filter_rows(frame: pd.DataFrame, args: argparse.Namespace) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    for column in FILTER_COLUMNS:
        wanted = getattr(args, column)
        if column == "purpose" and wanted and ALL_PURPOSES in wanted:
            continue
        if wanted:
            values = {
                value.strip() for item in wanted for value in item.split(",") if value.strip()
            }
            keep &= frame[column].isin(values)
    if args.since:
        keep &= frame["timestamp"] >= parse_date(args.since)
    return frame[keep].reset_index(drop=True)


def parse_date(text: str) -> pd.Timestamp:
    try:
        date = pd.Timestamp(text)
    except ValueError:
        date = pd.NaT
    if pd.isna(date):
        raise UsageError(f"--since: not a date: {text!r} (use e.g. 2024-05-01)")
    return date
