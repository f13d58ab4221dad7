"""Split a shell script into simple commands: words, operators and their line numbers.

Only the part of the shell grammar the old experiment scripts use is read: line
continuations, comments, quotes, `$(...)`, and the operators `;`, `&`, `&&`, `||`, `|` and
redirections. `shlex` does the word splitting and quote removal; two things it cannot see are
handled first, on the raw text:

- `$( ... )` may hold nested quotes, which shlex would split; each is replaced by a
  placeholder word part and kept aside, to be evaluated later.
- a `$` inside single quotes is literal, and so is a glob character (`*`, `?`) inside
  any quotes; each is replaced by a placeholder so that the expansion step, which sees the
  words after quote removal, leaves it alone (`literal` turns them back).

Each command keeps the operator that ended it (`&&`, `||`, `;`, ...), so that the reader can
follow `[ ... ] && continue` and `bash "$script" || exit 1`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

# Private-use characters: they never occur in a script, and shlex treats them as word text.
SUBST_OPEN = "\ue000"
SUBST_CLOSE = "\ue001"
LITERAL_DOLLAR = "\ue002"
# Glob characters inside quotes: matched as themselves, never as a pattern (a `[` stays as
# it is: `${BASH_SOURCE[0]}` reads it).
LITERAL_GLOB = {"*": "\ue003", "?": "\ue004"}
GLOB_CHARACTERS = tuple(LITERAL_GLOB)
SUBSTITUTION = re.compile(f"{SUBST_OPEN}(\\d+){SUBST_CLOSE}")

SEPARATORS = {";", "&", "&&", "||", "|", ";;", "\n"}
REDIRECTIONS = {">", ">>", "<", ">&", "&>", "&>>", ">|", "<&"}
COMMENT_FOLLOWS = set(" \t;&|()")


class ShellSyntaxError(ValueError):
    """A construct this reader cannot split (an unclosed quote or `$(`)."""


@dataclass
class SimpleCommand:
    """One command: its words (quotes removed), redirections, and how it ended."""

    line: int
    words: list[str] = field(default_factory=list)
    redirections: list[tuple[str, str, str]] = field(default_factory=list)  # (fd, op, target)
    background: bool = False
    ended_by: str = ""  # the operator after it: "&&", "||", ";", "&", "|" ("": the line's end)


@dataclass
class SplitScript:
    commands: list[SimpleCommand]
    substitutions: list[str]  # the inner text of each `$(...)`, by placeholder number


def literal(text: str) -> str:
    """Text with its placeholders for quoted characters turned back into the characters."""
    text = text.replace(LITERAL_DOLLAR, "$")
    for char, placeholder in LITERAL_GLOB.items():
        text = text.replace(placeholder, char)
    return text


def split_script(text: str) -> SplitScript:
    """The simple commands of a script, in order (raises ShellSyntaxError on unclosed quotes)."""
    substitutions: list[str] = []
    commands: list[SimpleCommand] = []
    for line_number, logical_line in logical_lines(text):
        masked = mask_line(logical_line, substitutions, line_number)
        commands.extend(_commands_of(masked, line_number))
    return SplitScript(commands, substitutions)


def split_fragment(text: str, substitutions: list[str]) -> list[SimpleCommand]:
    """The commands of a `$(...)` body (its own substitutions are added to `substitutions`)."""
    return _commands_of(mask_line(text, substitutions, 0), 0)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Physical lines joined where a line ends with a backslash, with the first line's number."""
    joined: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 1
    for number, line in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        joined.append((start, " ".join(pending)))
        pending = []
    if pending:
        joined.append((start, " ".join(pending)))
    return joined


def mask_line(line: str, substitutions: list[str], line_number: int) -> str:
    """The line without its comment, with `$(...)` and single-quoted `$` replaced by placeholders."""
    out: list[str] = []
    quote = ""
    i = 0
    while i < len(line):
        char = line[i]
        if quote and char in LITERAL_GLOB:
            out.append(LITERAL_GLOB[char])
        elif quote == "'":
            out.append(LITERAL_DOLLAR if char == "$" else char)
            quote = "" if char == "'" else quote
        elif char == "\\":
            out.append(line[i : i + 2])
            i += 1
        elif line.startswith("$(", i):
            end = _closing_paren(line, i + 2, line_number)
            substitutions.append(line[i + 2 : end])
            out.append(f"{SUBST_OPEN}{len(substitutions) - 1}{SUBST_CLOSE}")
            i = end
        elif char == '"':
            quote = "" if quote == '"' else '"'
            out.append(char)
        elif not quote and char == "'":
            quote = "'"
            out.append(char)
        elif not quote and char == "#" and (i == 0 or line[i - 1] in COMMENT_FOLLOWS):
            break
        else:
            out.append(char)
        i += 1
    if quote:
        raise ShellSyntaxError(f"line {line_number}: unclosed {quote} quote")
    return "".join(out)


def _closing_paren(line: str, start: int, line_number: int) -> int:
    """Index of the `)` that closes a `$(` whose body starts at `start` (quotes respected)."""
    depth = 1
    quote = ""
    i = start
    while i < len(line):
        char = line[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "\\":
            i += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ShellSyntaxError(f"line {line_number}: unclosed $(")


def _commands_of(masked: str, line_number: int) -> list[SimpleCommand]:
    lexer = shlex.shlex(masked, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError as err:
        raise ShellSyntaxError(f"line {line_number}: {err}") from None
    commands: list[SimpleCommand] = []
    current = SimpleCommand(line_number)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in SEPARATORS:
            current.background = token == "&"
            current.ended_by = token
            commands.append(current)
            current = SimpleCommand(line_number)
        elif token in REDIRECTIONS:
            fd = current.words.pop() if _is_fd_before(current.words, tokens, index) else ""
            target = tokens[index + 1] if index + 1 < len(tokens) else ""
            current.redirections.append((fd, token, target))
            index += 1
        else:
            current.words.append(token)
        index += 1
    commands.append(current)
    return [command for command in commands if command.words or command.redirections]


def _is_fd_before(words: list[str], tokens: list[str], index: int) -> bool:
    """`2>err` reaches us as '2', '>': a lone digit right before a redirection is its fd."""
    return bool(words) and tokens[index - 1] == words[-1] and words[-1].isdigit()
