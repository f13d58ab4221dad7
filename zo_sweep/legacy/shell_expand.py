"""Bash's expansion of one word, for the subset old experiment scripts use: `$NAME`, `${NAME}`,
`${NAME:-word}`, `${NAME:=word}`, `${BASH_SOURCE[0]}`, `$0`, the command substitutions that
find a script's own folder (`$(dirname "$0")`, `$(cd ... && pwd)`, `realpath`), and file name
patterns (`"$SCRIPT_DIR"/*.sh`, the words of a for loop). What it cannot evaluate without
running something is reported, and read as empty.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from zo_sweep.legacy.shell_words import (
    GLOB_CHARACTERS,
    LITERAL_GLOB,
    SUBSTITUTION,
    literal,
    split_fragment,
)

SIMPLE_REFERENCE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*|[0-9])")
# `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:=word}`, `${BASH_SOURCE[0]}`.
BRACED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[0\])?(?:(:?[-=])(.*))?$", re.DOTALL)


@dataclass
class ShellState:
    """What bash would know at a point of the script."""

    path: Path
    cwd: Path
    variables: dict[str, str]
    exported: set[str] = field(default_factory=set)
    set_here: set[str] = field(default_factory=set)  # assigned by the script (not inherited)

    def assign(self, values: dict[str, str]) -> None:
        self.variables.update(values)
        self.set_here.update(values)


class Expander:
    """Expands words against a ShellState; `report(line, message)` hears what it cannot do."""

    def __init__(self, substitutions: list[str], report: Callable[[int, str], None]) -> None:
        self.substitutions = substitutions
        self.problem = report

    def expand(self, word: str, state: ShellState, line: int) -> str:
        """A word after parameter expansion and command substitution (quotes already removed)."""
        return literal(self._expanded(word, state, line))

    def expand_files(self, word: str, state: ShellState, line: int) -> list[str]:
        """The word, then the files its pattern matches, sorted, as bash expands a for loop's
        words; a pattern that matches nothing stays as it is (bash's default)."""
        expanded = self._expanded(word, state, line)
        if not any(char in word for char in GLOB_CHARACTERS):  # none outside quotes
            return [literal(expanded)]
        pattern = "".join(_pattern_character(char) for char in expanded)
        if os.path.isabs(pattern):
            matches = glob.glob(pattern)
        else:
            matches = glob.glob(pattern, root_dir=state.cwd)
        return sorted(matches) or [literal(expanded)]

    def _expanded(self, word: str, state: ShellState, line: int) -> str:
        out: list[str] = []
        i = 0
        while i < len(word):
            if word.startswith("${", i):
                end = _closing_brace(word, i + 2)
                if end < 0:
                    self.problem(line, f"unclosed ${{ in {word!r}")
                    out.append(word[i:])
                    break
                out.append(self.braced(word[i + 2 : end], state, line))
                i = end + 1
                continue
            simple = SIMPLE_REFERENCE.match(word, i)
            if simple:
                out.append(self.lookup(simple.group(1), state, line))
                i = simple.end()
                continue
            substitution = SUBSTITUTION.match(word, i)
            if substitution:
                out.append(self.substitute(int(substitution.group(1)), state, line))
                i = substitution.end()
                continue
            out.append(word[i])
            i += 1
        return "".join(out)

    def braced(self, body: str, state: ShellState, line: int) -> str:
        match = BRACED.match(body)
        if not match:
            self.problem(line, f"unsupported parameter expansion ${{{body}}}")
            return ""
        name, index, operator, default = match.groups()
        if index is not None and name != "BASH_SOURCE":
            self.problem(line, f"unsupported array expansion ${{{body}}}")
            return ""
        if name == "BASH_SOURCE":
            return str(state.path)
        value = state.variables.get(name)
        if operator is None:
            return self.lookup(name, state, line)
        unset_or_empty = value is None or (operator.startswith(":") and value == "")
        if not unset_or_empty:
            return value or ""
        replacement = self.expand(default or "", state, line)
        if operator.endswith("="):
            state.assign({name: replacement})
        return replacement

    def lookup(self, name: str, state: ShellState, line: int) -> str:
        if name == "0":
            return str(state.path)
        if name in state.variables:
            return state.variables[name]
        if name == "PWD":
            return str(state.cwd)
        if name == "HOME":
            return str(Path.home())
        self.problem(line, f"${name} is not set in the script; read as empty")
        return ""

    def substitute(self, number: int, state: ShellState, line: int) -> str:
        """The output of `$(...)` for the commands that find paths; others are reported."""
        body = self.substitutions[number]
        local = ShellState(state.path, state.cwd, state.variables, state.exported, state.set_here)
        output = ""
        for command in split_fragment(body, self.substitutions):
            words = [self.expand(word, local, line) for word in command.words]
            if not words:
                continue
            if words[0] == "cd" and len(words) == 2:
                local.cwd = absolute_path(words[1], local.cwd)
            elif words[0] == "pwd" and len(words) == 1:
                output = str(local.cwd)
            elif words[0] == "dirname" and len(words) == 2:
                output = os.path.dirname(words[1].rstrip("/")) or "."
            elif words[0] == "basename" and len(words) == 2:
                output = Path(words[1]).name
            elif words[0] == "realpath" or words[:2] == ["readlink", "-f"]:
                output = str(absolute_path(words[-1], local.cwd))
            else:
                self.problem(line, f"cannot evaluate $({body}) without running it; read as empty")
                return ""
        return output


QUOTED_GLOB = {placeholder: glob.escape(char) for char, placeholder in LITERAL_GLOB.items()}


def _pattern_character(char: str) -> str:
    """A character of a pattern: a quoted glob character matches only itself."""
    return QUOTED_GLOB.get(char, char)


def _closing_brace(word: str, start: int) -> int:
    depth = 1
    for index in range(start, len(word)):
        if word.startswith("${", index):
            depth += 1
        elif word[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def absolute_path(path: str, cwd: Path) -> Path:
    """A path made absolute against cwd and normalised (`..` removed) without touching disk."""
    expanded = os.path.expanduser(path)
    return Path(os.path.normpath(os.path.join(cwd, expanded)))
