"""The user-facing errors: each carries one line that says what to fix.

Every part raises these two, from the sweep's command line to the trainer's data files, and
every entry point prints them as `error: <line>` with exit code 2. Kept free of torch, Hydra
and transformers, so that a bad setting is reported before the heavy imports happen.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """An impossible or malformed setting: a sweep's config value or the trainer's own."""


class DataError(ValueError):
    """A problem with task data or a task spec: the message names the file, line and field."""

    @staticmethod
    def within(err: BaseException) -> DataError | None:
        """The DataError behind `err`: a config resolver's (`${sibling:...,true}`), which
        OmegaConf reports inside its own errors about the interpolation."""
        seen: BaseException | None = err
        while seen is not None and not isinstance(seen, DataError):
            seen = seen.__cause__ or seen.__context__
        return seen


def first_line(message: object) -> str:
    """The first line of a message that has several (an exception's text, a tool's output);
    an exception without text is named by its type."""
    lines = str(message).strip().splitlines()
    if lines:
        return lines[0].strip()
    return type(message).__name__ if isinstance(message, BaseException) else ""
