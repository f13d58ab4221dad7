"""Table cells that carry more than a number: a metric over seeds, and a delta with its interval.

Each renders itself for a format: plain text (terminal, csv), markdown (bold for the best of a
row) or LaTeX (`$\\pm$`, `\\textbf`), as fractions with 3 decimals or as percentages with 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PLAIN, MARKDOWN, LATEX = "plain", "markdown", "latex"
# The mark of a result whose best dev step was 0 in every seed: training never beat zero-shot.
STEP_0_MARK = {PLAIN: "†", MARKDOWN: "†", LATEX: r"$^\dagger$"}
STEP_0_NOTE = "† best dev at step 0 in every seed: training never beat zero-shot"
# Where only some seeds never beat zero-shot, the cell says how many: (n=3, 1 at step 0).
SOME_AT_STEP_0_NOTE = "k at step 0: k of the n seeds had their best dev at step 0 (zero-shot)"
PLUS_MINUS = {PLAIN: "±", MARKDOWN: "±", LATEX: r"$\pm$"}


def number(value: float, percent: bool) -> str:
    return f"{value * 100:.1f}" if percent else f"{value:.3f}"


def signed(value: float, percent: bool) -> str:
    return f"{value * 100:+.1f}" if percent else f"{value:+.3f}"


# The fields of `numbers` that count seeds (integers).
COUNT_FIELDS = (" n", " n at step 0")


def numbers(cell: object, percent: bool = False) -> dict[str, float | int | None]:
    """A rich cell's numbers by column suffix (csv), metrics in percent when asked for;
    an empty cell gives empty fields."""
    if isinstance(cell, Measure):
        record = cell.as_record(percent)
        return {
            " mean": record["mean"],
            " std": record["std"],
            " n": record["seeds"],
            " n at step 0": record["seeds_at_step_0"],
        }
    if isinstance(cell, Delta):
        record = cell.as_record(percent)
        return {"": record["value"], " low": record["low"], " high": record["high"]}
    return {}


@dataclass(frozen=True)
class Measure:
    """The test metric of one configuration over its seeds."""

    mean: float
    std: float | None
    seeds: int
    seeds_at_step_0: int = 0  # seeds whose best dev step was 0
    best: bool = False  # the best of its table row

    @property
    def never_beat_zero_shot(self) -> bool:
        """Every seed was best at step 0 (one seed that learned is a gain, if a shaky one)."""
        return self.seeds > 0 and self.seeds_at_step_0 == self.seeds

    @property
    def some_at_step_0(self) -> bool:
        return 0 < self.seeds_at_step_0 < self.seeds

    def text(self, style: str = PLAIN, percent: bool = False) -> str:
        text = number(self.mean, percent)
        if self.std is not None and not math.isnan(self.std):
            text += f" {PLUS_MINUS[style]} {number(self.std, percent)}"
        if self.best and style == MARKDOWN:
            text = f"**{text}**"
        elif self.best and style == LATEX:
            text = rf"\textbf{{{text}}}"
        at_step_0 = f", {self.seeds_at_step_0} at step 0" if self.some_at_step_0 else ""
        text += f" (n={self.seeds}{at_step_0})"
        if self.never_beat_zero_shot:
            text += STEP_0_MARK[style]
        return text

    def as_record(self, percent: bool = False) -> dict:
        scale = 100.0 if percent else 1.0
        return {
            "mean": self.mean * scale,
            "std": None if self.std is None else self.std * scale,
            "seeds": self.seeds,
            "seeds_at_step_0": self.seeds_at_step_0,
            "never_beat_zero_shot": self.never_beat_zero_shot,
        }


@dataclass(frozen=True)
class Delta:
    """A difference of two measures, with a confidence interval where one could be computed."""

    value: float
    low: float | None = None
    high: float | None = None

    def text(self, style: str = PLAIN, percent: bool = False) -> str:
        text = signed(self.value, percent)
        if self.low is not None and self.high is not None:
            text += f" [{number(self.low, percent)}, {number(self.high, percent)}]"
        return text

    def as_record(self, percent: bool = False) -> dict:
        scale = 100.0 if percent else 1.0
        return {
            key: None if value is None else value * scale
            for key, value in (("value", self.value), ("low", self.low), ("high", self.high))
        }
