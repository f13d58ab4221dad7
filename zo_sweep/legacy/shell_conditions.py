"""Whether a test command of an old script holds: `[ ... ]`, `[[ ... ]]` or `test ...`.

Aggregators use them to skip themselves (`[ "$(basename "$script")" == run_all.sh ] && continue`)
or files that are not scripts (`[ -f "$script" ] || continue`). What is read: strings (`=`,
`==`, `!=`, `-n`, `-z`, a `[[` pattern), integers (`-eq` ... `-ge`), files (`-e -f -d -s -x -r`,
`-ef`) and `!`. Anything else is None: the reader cannot decide it without running it.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path

# The command -> the word that must close it (None: `test` needs none).
TEST_COMMANDS = {"[": "]", "[[": "]]", "test": None}
FILE_TESTS: dict[str, Callable[[Path], bool]] = {
    "-e": Path.exists,
    "-f": Path.is_file,
    "-d": Path.is_dir,
    "-s": lambda path: path.is_file() and path.stat().st_size > 0,
    "-x": lambda path: os.access(path, os.X_OK),
    "-r": lambda path: os.access(path, os.R_OK),
}
INTEGER_TESTS = {"-eq": operator.eq, "-ne": operator.ne, "-lt": operator.lt,
                 "-le": operator.le, "-gt": operator.gt, "-ge": operator.ge}  # fmt: skip


def is_test(words: list[str]) -> bool:
    return bool(words) and words[0] in TEST_COMMANDS


def test_holds(words: list[str], cwd: Path) -> bool | None:
    """Whether the test command `words` (expanded) succeeds; None when it cannot be told."""
    closing = TEST_COMMANDS[words[0]]
    arguments = words[1:]
    if closing is not None:
        if not arguments or arguments[-1] != closing:
            return None
        arguments = arguments[:-1]
    negated = bool(arguments) and arguments[0] == "!"
    if negated:
        arguments = arguments[1:]
    holds = _evaluate(arguments, cwd, patterns=words[0] == "[[")
    return None if holds is None else holds != negated


def _evaluate(arguments: list[str], cwd: Path, patterns: bool) -> bool | None:
    if len(arguments) == 1:
        return arguments[0] != ""
    if len(arguments) == 2:
        test, operand = arguments
        if test in ("-n", "-z"):
            return (operand != "") == (test == "-n")
        if test in FILE_TESTS:
            return FILE_TESTS[test](cwd / operand)
        return None
    if len(arguments) == 3:
        left, test, right = arguments
        if test in ("=", "=="):
            return fnmatchcase(left, right) if patterns else left == right
        if test == "!=":
            return not fnmatchcase(left, right) if patterns else left != right
        if test == "-ef":
            paths = cwd / left, cwd / right
            return all(path.exists() for path in paths) and os.path.samefile(*paths)
        if test in INTEGER_TESTS:
            try:
                return INTEGER_TESTS[test](int(left), int(right))
            except ValueError:
                return None
    return None
