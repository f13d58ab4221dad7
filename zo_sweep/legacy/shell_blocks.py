"""The blocks of an old script's commands: a for loop's body, an if's condition and branches.

A block's keywords reach the reader as the first word of a command (`do LR=... bash x.sh` is
the first command after `; do`), so a block is found by counting the words that open and
close one, and its commands are taken without those words.
"""

from __future__ import annotations

from zo_sweep.legacy.shell_words import SimpleCommand

BLOCK_STARTS = ("for", "while", "until", "if")
BLOCK_ENDS = ("done", "fi")
# Words that lead the first command of a block's part.
LEADING = ("if", "do", "then", "else")


def matching_end(commands: list[SimpleCommand], start: int) -> int | None:
    """The index of the `done` or `fi` that closes the block opened at `start`."""
    depth = 0
    for index in range(start, len(commands)):
        words = without_first(commands[index], ("do", "then", "else")).words
        if words and words[0] in BLOCK_STARTS:
            depth += 1
        elif words and words[0] in BLOCK_ENDS:
            depth -= 1
            if depth == 0:
                return index
    return None


def block_body(commands: list[SimpleCommand], opener: str) -> list[SimpleCommand]:
    """A block's commands without the `do`, `then` or `else` that opens it, empty ones left out."""
    body = [without_first(command, (opener,)) for command in commands]
    return [command for command in body if command.words or command.redirections]


def if_parts(
    block: list[SimpleCommand],
) -> tuple[list[SimpleCommand], list[SimpleCommand], list[SimpleCommand]] | None:
    """An `if ... fi` block's condition, then-branch and else-branch (None: `elif`, no `then`,
    or a nested block where this reader expects the condition)."""
    body = block[:-1]  # without the closing fi
    then = _first_index(body, "then")
    if then is None or _first_index(body, "elif") is not None:
        return None
    otherwise = _first_index(body, "else")
    otherwise = len(body) if otherwise is None else otherwise
    condition = block_body(body[:then], "if")
    return condition, block_body(body[then:otherwise], "then"), block_body(body[otherwise:], "else")


def without_first(command: SimpleCommand, words: tuple[str, ...] = LEADING) -> SimpleCommand:
    """The command without its leading block keyword (`do LR=... bash x.sh` -> `LR=...`)."""
    if command.words and command.words[0] in words:
        return SimpleCommand(command.line, command.words[1:], command.redirections,
                             command.background, command.ended_by)  # fmt: skip
    return command


def _first_index(commands: list[SimpleCommand], word: str) -> int | None:
    """The first command led by `word` at the block's own level (not inside a nested block)."""
    depth = 0
    for index, command in enumerate(commands):
        words = command.words
        if index > 0 and depth == 0 and words[:1] == [word]:
            return index
        stripped = without_first(command, ("do", "then", "else")).words if index > 0 else []
        if stripped[:1] and stripped[0] in BLOCK_STARTS:
            depth += 1
        elif stripped[:1] and stripped[0] in BLOCK_ENDS:
            depth -= 1
    return None
