"""Command line: ``python -m zo_sweep.data {export,preview}``.

python -m zo_sweep.data export --task copa --out Data/original
python -m zo_sweep.data export --all --out Data/original
python -m zo_sweep.data preview Data/original/Copa --num 2
"""

from __future__ import annotations

import argparse
import logging
import sys

from zo_sweep.closed_pipe import quiet_on_closed_pipe
from zo_sweep.data.export import export_task
from zo_sweep.data.splits import load_splits
from zo_sweep.data.tasks import DataError, known_task_names, load_task_spec


@quiet_on_closed_pipe
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(message)s", stream=sys.stderr
    )
    logging.getLogger("zo_sweep").setLevel(logging.INFO)
    try:
        args.run(args)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _export(args: argparse.Namespace) -> None:
    names = known_task_names() if args.all else args.task
    for name in names:
        folder = export_task(load_task_spec(name), args.out)
        print(folder)


def _preview(args: argparse.Namespace) -> None:
    splits = load_splits(
        args.folder,
        task_name=args.task,
        synthetic_dir=args.synthetic,
        num_train=args.num_train,
        num_dev=args.num_dev,
        num_eval=args.num_eval,
        seed=args.seed,
    )
    print(f"task {splits.task.name}: {len(splits.train)} train, {len(splits.dev)} dev, "
          f"{len(splits.test)} test; metrics {', '.join(splits.task.metrics)}")  # fmt: skip
    for example in splits.train[: args.num]:
        print("-" * 60)
        print(example.prompt, end="")
        for index, candidate in enumerate(example.candidates):
            mark = "*" if index == example.label else " "
            print(f"\n  {mark} {candidate!r}", end="")
        print()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m zo_sweep.data", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    export = commands.add_parser("export", help="write task folders from the Hugging Face hub")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--task", action="append", help="task name (repeat for several)")
    which.add_argument("--all", action="store_true", help="every task in conf/task/")
    export.add_argument(
        "--out", required=True, help="folder to hold the task folders, e.g. Data/original"
    )
    export.set_defaults(run=_export)

    preview = commands.add_parser(
        "preview", help="sample a task folder and print rendered examples"
    )
    preview.add_argument("folder", help="a task folder, or a task name for its example data")
    preview.add_argument("--task", help="task name, when the folder's name does not say it")
    preview.add_argument("--synthetic", help="a synthetic folder to mix into training")
    preview.add_argument("--num", type=int, default=2, help="examples to print")
    preview.add_argument("--num-train", type=int, default=1000)
    preview.add_argument("--num-dev", type=int, default=100)
    preview.add_argument("--num-eval", type=int, default=1000)
    preview.add_argument("--seed", type=int, default=0)
    preview.set_defaults(run=_preview)
    return parser


if __name__ == "__main__":
    sys.exit(main())
