"""Table cells that carry more than a number: a metric over seeds, and a delta with its interval.

Each renders itself for a format: plain text (terminal, csv), markdown (bold for the best of a
row) or LaTeX (`$\\pm$`, `\\textbf`), as fractions with 3 decimals or as percentages with 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PLAIN, MARKDOWN, LATEX = "plain", "markdown", "latex"
# The mark of a result whose best dev step was 0: training never beat zero-shot.
STEP_0_MARK = {PLAIN: "†", MARKDOWN: "†", LATEX: r"$^\dagger$"}
STEP_0_NOTE = "† best dev at step 0: training never beat zero-shot"
PLUS_MINUS = {PLAIN: "±", MARKDOWN: "±", LATEX: r"$\pm$"}


def number(value: float, percent: bool) -> str:
    return f"{value * 100:.1f}" if percent else f"{value:.3f}"


def signed(value: float, percent: bool) -> str:
    return f"{value * 100:+.1f}" if percent else f"{value:+.3f}"


@dataclass(frozen=True)
class Measure:
    """The test metric of one configuration over its seeds."""

    mean: float
    std: float | None
    seeds: int
    never_beat_zero_shot: bool = False
    best: bool = False  # the best of its table row

    def text(self, style: str = PLAIN, percent: bool = False) -> str:
        text = number(self.mean, percent)
        if self.std is not None and not math.isnan(self.std):
            text += f" {PLUS_MINUS[style]} {number(self.std, percent)}"
        if self.best and style == MARKDOWN:
            text = f"**{text}**"
        elif self.best and style == LATEX:
            text = rf"\textbf{{{text}}}"
        text += f" (n={self.seeds})"
        if self.never_beat_zero_shot:
            text += STEP_0_MARK[style]
        return text

    def as_record(self) -> dict:
        return {
            "mean": self.mean,
            "std": self.std,
            "seeds": self.seeds,
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

    def as_record(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high}
