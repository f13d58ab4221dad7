"""`python -m zo_sweep.legacy convert SCRIPT ...` and `python -m zo_sweep.legacy import-results DIR ...`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from zo_sweep import CONF_DIR
from zo_sweep.closed_pipe import quiet_on_closed_pipe
from zo_sweep.legacy.batch import Batch, convert_inputs, header
from zo_sweep.legacy.sweeps import experiment_yaml

PROG = "python -m zo_sweep.legacy"
EXIT_UNCONVERTED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A mistake on the command line, reported as one line."""


@quiet_on_closed_pipe
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UsageError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Convert old scripts, import old results."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    convert = commands.add_parser(
        "convert",
        help="print the zo_sweep command equivalent to each old script (or study YAML file)",
    )
    convert.add_argument(
        "scripts", nargs="+", type=Path, metavar="SCRIPT",
        help="an old script, a folder of them, or a study YAML file of the old automation",
    )  # fmt: skip
    convert.add_argument(
        "--write-experiment", metavar="NAME", help="write conf/experiment/NAME.yaml instead"
    )
    convert.add_argument(
        "--conf-dir", type=Path, default=CONF_DIR, help="where conf/ is (for --write-experiment)"
    )
    convert.add_argument("--force", action="store_true", help="replace an existing preset")
    convert.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="a variable the script would inherit, e.g. --set DATA_ROOT=/data/Data (repeatable)",
    )  # fmt: skip
    convert.add_argument(
        "--cwd", type=Path, help="the folder the script is started from (default: here)"
    )
    convert.add_argument(
        "--map-root", action="append", default=[], metavar="OLD=NEW",
        help="rewrite paths starting with OLD to start with NEW, e.g. "
        "--map-root /grand/proj/Data=/data/Data (repeatable)",
    )  # fmt: skip
    convert.set_defaults(run=run_convert)

    results = commands.add_parser(
        "import-results", help="read old results/<Model>/<Task>/<method>/<data>/<lr>_*.out files"
    )
    results.add_argument("dirs", nargs="+", type=Path, metavar="DIR")
    results.add_argument(
        "--out", type=Path, help="write the rows to this file (csv, json, md, ...)"
    )
    results.add_argument("--format", help="table (default), csv, json, markdown or latex")
    results.set_defaults(run=run_import)
    return parser


def run_convert(args: argparse.Namespace) -> int:
    missing = [str(script) for script in args.scripts if not script.exists()]
    if missing:
        raise UsageError(f"no such script: {', '.join(missing)}")
    environ = dict(_assignment(text, "--set") for text in args.set)
    map_roots = [_assignment(text, "--map-root") for text in args.map_root]
    batch = convert_inputs(args.scripts, environ=environ, cwd=args.cwd, map_roots=map_roots)
    for conversion in batch.each():
        for problem in conversion.problems:
            print(problem, file=sys.stderr)
    if args.write_experiment:
        write_experiment(batch, args.write_experiment, args.conf_dir, force=args.force)
    else:
        for conversion in batch.each():
            print(header(conversion))
            for sweep in conversion.sweeps:
                print(sweep.command())
    for line in [*batch.not_convertible(), batch.tally()]:
        print(line, file=sys.stderr)
    return EXIT_UNCONVERTED if any(c.failed for c in batch.each()) else 0


def write_experiment(batch: Batch, name: str, conf_dir: Path, *, force: bool) -> None:
    conversions = list(batch.each())
    sweeps = [sweep for conversion in conversions for sweep in conversion.sweeps]
    if len(sweeps) != 1:
        raise UsageError(
            f"--write-experiment needs the scripts to make exactly one sweep; they make {len(sweeps)} "
            "(convert them one by one)"
        )
    path = conf_dir / "experiment" / f"{name}.yaml"
    if path.exists() and not force:
        raise UsageError(f"{path} exists (add --force to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    sources = [c.path for c in conversions if c.sweeps]
    path.write_text(experiment_yaml(sweeps[0], name, sources))
    print(f"wrote {path}; run it with: python -m zo_sweep -m experiment={name}", file=sys.stderr)


def run_import(args: argparse.Namespace) -> int:
    from zo_sweep.legacy.summary_rows import read_results
    from zo_sweep.summary import rows_to_frame
    from zo_sweep.summary.render import FORMATS, format_for, render

    missing = [str(folder) for folder in args.dirs if not folder.is_dir()]
    if missing:
        raise UsageError(f"no such directory: {', '.join(missing)}")
    if args.format and args.format not in FORMATS:
        raise UsageError(f"--format: one of {', '.join(sorted(FORMATS))}")
    imports = [read_results(folder) for folder in args.dirs]
    for skipped in (line for found in imports for line in found.skipped):
        print(f"warning: skipped {skipped}", file=sys.stderr)
    frame = rows_to_frame([row for found in imports for row in found.rows])
    text = render(frame, format_for(args.out, args.format))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out} ({len(frame)} rows)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    for folder, found in zip(args.dirs, imports, strict=True):
        print(f"{folder}: {found.tally()}", file=sys.stderr)
    return 0


def _assignment(text: str, option: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise UsageError(f"{option}: expected NAME=VALUE, got {text!r}")
    return name, value
