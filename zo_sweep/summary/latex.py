"""A table as a LaTeX `tabular` with booktabs rules, every text cell escaped.

`\\usepackage{booktabs}` in the preamble; the output goes inside a `table` float as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Every character LaTeX treats specially in text, and how to write it literally.
SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "|": r"\textbar{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}
_SPECIAL_PATTERN = re.compile("|".join(re.escape(char) for char in SPECIAL))


def escape(text: str) -> str:
    """Text as LaTeX typesets it literally: `smollm2_135m` -> `smollm2\\_135m`."""
    return _SPECIAL_PATTERN.sub(lambda match: SPECIAL[match.group()], text)


def tabular(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric: Sequence[bool],
    notes: Sequence[str] = (),
) -> str:
    """Headers are escaped here; row cells arrive as LaTeX already (escaped or formatted)."""
    align = "".join("r" if is_number else "l" for is_number in numeric)
    lines = [rf"\begin{{tabular}}{{{align}}}", r"\toprule"]
    lines.append(" & ".join(escape(str(header)) for header in headers) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [rf"\par{{\footnotesize {note}}}" for note in notes]
    return "\n".join(lines) + "\n"
