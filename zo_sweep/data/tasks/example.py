"""One rendered example, and the one-line errors of task data and task specs."""

from __future__ import annotations

from dataclasses import dataclass

from zo_sweep.errors import DataError

__all__ = ["DataError", "Example", "RecordError"]


class RecordError(ValueError):
    """A problem with one record; the reader adds the file and line to make it a DataError."""


@dataclass(frozen=True)
class Example:
    """One prompt and its candidate continuations; ``label`` indexes the right candidate."""

    prompt: str
    candidates: list[str]
    label: int
    id: str = ""  # test examples: "<split>:<index in the file>", to pair predictions across runs

    def __post_init__(self) -> None:
        if not 0 <= self.label < len(self.candidates):
            raise ValueError(
                f"label {self.label} out of range for {len(self.candidates)} candidates"
            )
