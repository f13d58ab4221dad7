"""Read an old experiment script without running it: which base scripts it starts, with what.

An old script sets environment variables in front of `bash <base>.sh`, once per learning rate,
often with `&` and a final `wait`, and redirects each run's output to files. This module
follows the script line by line the way bash would for that subset: variable assignments,
`export`, `cd`, `for ... in ...; do ... done` (over words or files: `"$SCRIPT_DIR"/*.sh`),
`if TEST; then ...; else ...; fi`, `&&` and `||`, `continue`, `break` and `exit`, with words
expanded as bash would (zo_sweep.legacy.shell_expand) and tests read by
zo_sweep.legacy.shell_conditions. Every run the script starts is taken to succeed, as in the
runs the conversion stands for: `bash "$script" || exit 1` goes on. Every base-script run
becomes a `Launch`; anything it cannot follow is reported as a `Problem` naming the file and
line, never skipped silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from zo_sweep.legacy.shell_blocks import block_body, if_parts, matching_end
from zo_sweep.legacy.shell_conditions import is_test, test_holds
from zo_sweep.legacy.shell_expand import Expander, ShellState, absolute_path
from zo_sweep.legacy.shell_words import ShellSyntaxError, SimpleCommand, split_script

ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
SHELLS = {"bash", "sh"}
# Words that only change how a command runs, not what it runs.
WRAPPERS = {"nohup", "time", "exec", "command"}
# Commands that start no training run and change nothing a run receives.
HARMLESS = {"wait", "echo", "printf", "mkdir", "set", "sleep", "true", ":", "date", "sync"}
CHAINS = ("&&", "||")  # the next command runs if this one succeeded (&&) or failed (||)


@dataclass(frozen=True)
class Problem:
    """Something in a script that could not be read, with where it is."""

    path: Path
    line: int
    message: str
    severity: str = "warning"  # "error": the script (or this run of it) cannot be converted

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class Launch:
    """One run of a base script: what it receives from the old script, and where its output goes."""

    path: Path  # the old script
    line: int
    script: Path  # the base script, as the old script names it (made absolute)
    env: dict[str, str]  # the variables the old script sets for it (prefix or exported)
    cwd: Path  # where it runs: relative paths in env are relative to this
    stdout: str | None
    stderr: str | None
    background: bool


@dataclass
class ParsedScript:
    path: Path
    launches: list[Launch] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def parse_script(
    path: str | Path,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> ParsedScript:
    """The base-script runs of an old script.

    `environ` is the environment the script would inherit (empty by default, so that a
    `${VAR:-default}` reads its default); `cwd` is where it would be started (default: here).
    """
    path = Path(path).resolve()
    parsed = ParsedScript(path)
    try:
        split = split_script(path.read_text(errors="replace"))
    except ShellSyntaxError as err:
        line = int(re.search(r"line (\d+)", str(err)).group(1))  # type: ignore[union-attr]
        parsed.problems.append(Problem(path, line, f"cannot read: {err}", "error"))
        return parsed
    # Inherited variables are the caller's: a run receives only what the script itself passes
    # (prefix assignments, and variables it assigns or names in `export`).
    state = ShellState(path, Path(cwd or Path.cwd()).resolve(), dict(environ or {}))
    interpreter = _Interpreter(parsed, split.substitutions)
    try:
        interpreter.run(split.commands, state)
    except _Exit:
        pass
    except _LoopControl as control:
        interpreter.problem(control.line, f"{control.word} outside a loop: the script ends here")
    return parsed


class _Exit(Exception):
    """`exit`: the script ends here."""


class _LoopControl(Exception):
    """`continue` or `break` (the word, and the line it is on)."""

    def __init__(self, word: str, line: int) -> None:
        super().__init__(word)
        self.word, self.line = word, line


class _Interpreter:
    def __init__(self, parsed: ParsedScript, substitutions: list[str]) -> None:
        self.parsed = parsed
        self.expander = Expander(substitutions, self.problem)
        self.expand = self.expander.expand

    def problem(self, line: int, message: str) -> None:
        self.parsed.problems.append(Problem(self.parsed.path, line, message))

    def run(self, commands: list[SimpleCommand], state: ShellState) -> bool:
        """Run the commands in turn; whether the last one succeeded."""
        index, succeeded = 0, True
        while index < len(commands):
            index, succeeded = self.run_chain(commands, index, state)
        return succeeded

    def run_chain(
        self, commands: list[SimpleCommand], index: int, state: ShellState
    ) -> tuple[int, bool]:
        """A command and those `&&` and `||` chain to it: the next index, and the status."""
        command = commands[index]
        if command.words[:1] == ["for"]:
            return self.run_for_loop(commands, index, state), True
        if command.words[:1] == ["if"]:
            return self.run_if(commands, index, state), True
        succeeded = self.run_command(command, state)
        index += 1
        # `a && b || c`: a command skipped by its chain passes the status on.
        while command.ended_by in CHAINS and index < len(commands):
            runs = succeeded == (command.ended_by == "&&")
            command = commands[index]
            index += 1
            if runs:
                succeeded = self.run_command(command, state)
        return index, succeeded

    def run_for_loop(self, commands: list[SimpleCommand], start: int, state: ShellState) -> int:
        """`for NAME in WORDS; do BODY; done`: the body once per word. Returns the next index."""
        header = commands[start]
        end = matching_end(commands, start)
        if end is None or len(header.words) < 3 or header.words[2] != "in":
            self.problem(
                header.line, "unsupported for loop (expected: for NAME in WORDS; do ...; done)"
            )
            return len(commands) if end is None else end + 1
        body = block_body(commands[start + 1 : end], "do")
        values = [
            value
            for word in header.words[3:]
            for value in self.expander.expand_files(word, state, header.line)
        ]
        for value in values:
            state.assign({header.words[1]: value})
            try:
                self.run(body, state)
            except _LoopControl as control:
                if control.word == "break":
                    break
        return end + 1

    def run_if(self, commands: list[SimpleCommand], start: int, state: ShellState) -> int:
        """`if CONDITION; then BODY; [else BODY;] fi`. Returns the next index."""
        end = matching_end(commands, start)
        parts = if_parts(commands[start : end + 1] if end is not None else [])
        if end is None or parts is None:
            self.problem(commands[start].line,
                         "unsupported if (expected: if TEST; then ...; [else ...;] fi)")  # fmt: skip
            return len(commands) if end is None else end + 1
        condition, then, otherwise = parts
        self.run(then if self.run(condition, state) else otherwise, state)
        return end + 1

    def run_command(self, command: SimpleCommand, state: ShellState) -> bool:
        """Run one command; whether it succeeded (as far as `&&` and `||` are concerned)."""
        words = list(command.words)
        prefix: dict[str, str] = {}
        while words and ASSIGNMENT.match(words[0]):
            name, value = ASSIGNMENT.match(words.pop(0)).groups()  # type: ignore[union-attr]
            prefix[name] = self.expand(value, state, command.line)
        while words and words[0] in WRAPPERS:
            words.pop(0)
        if words and words[0] == "env":
            words.pop(0)
            while words and ASSIGNMENT.match(words[0]):
                name, value = ASSIGNMENT.match(words.pop(0)).groups()  # type: ignore[union-attr]
                prefix[name] = self.expand(value, state, command.line)
        if not words:
            state.assign(prefix)
            return True
        expanded = [self.expand(word, state, command.line) for word in words]
        return self.run_words(command, expanded, prefix, state)

    def run_words(
        self, command: SimpleCommand, words: list[str], prefix: dict[str, str], state: ShellState
    ) -> bool:
        name = words[0]
        if name in ("continue", "break"):
            raise _LoopControl(name, command.line)
        if name == "exit":
            raise _Exit
        if is_test(words):
            holds = test_holds(words, state.cwd)
            if holds is None:
                self.problem(command.line, f"cannot decide the test {' '.join(words)}; "
                             "taken as true")  # fmt: skip
            return holds is not False
        if name == "export":
            self.export(words[1:], state, command.line)
        elif name == "cd":
            target = words[1] if len(words) > 1 else str(Path.home())
            state.cwd = absolute_path(target, state.cwd)
        elif name in SHELLS and _script_argument(words[1:]):
            self.launch(command, Path(_script_argument(words[1:])), prefix, state)
        elif name.endswith(".sh"):
            self.launch(command, Path(name), prefix, state)
        elif name not in HARMLESS:
            shown = " ".join(words)
            self.problem(command.line, f"unsupported command, not read: {shown}")
        return True

    def export(self, words: list[str], state: ShellState, line: int) -> None:
        for word in words:
            match = ASSIGNMENT.match(word)
            if match:
                # The word was expanded already: the value is final.
                state.assign({match.group(1): match.group(2)})
                state.exported.add(match.group(1))
            elif word.startswith("-"):
                self.problem(line, f"unsupported export option {word}")
            else:
                state.exported.add(word)

    def launch(
        self, command: SimpleCommand, script: Path, prefix: dict[str, str], state: ShellState
    ) -> None:
        exported = {
            name: state.variables[name]
            for name in sorted(state.exported & state.set_here)
            if name in state.variables
        }
        outputs = self.output_files(command, state)
        self.parsed.launches.append(
            Launch(
                path=self.parsed.path,
                line=command.line,
                script=absolute_path(str(script), state.cwd),
                env={**exported, **prefix},
                cwd=state.cwd,
                stdout=outputs.get("1"),
                stderr=outputs.get("2"),
                background=command.background,
            )
        )

    def output_files(self, command: SimpleCommand, state: ShellState) -> dict[str, str]:
        """Where stdout ("1") and stderr ("2") of a command go (absolute paths)."""
        files: dict[str, str] = {}
        for fd, operator, target in command.redirections:
            if operator in (">&", "<&") and target.isdigit():
                if target in files:
                    files[fd or "1"] = files[target]
                continue
            if operator.startswith("<"):
                continue
            path = str(absolute_path(self.expand(target, state, command.line), state.cwd))
            for descriptor in ("1", "2") if operator.startswith("&") else (fd or "1",):
                files[descriptor] = path
        return files


def _script_argument(arguments: list[str]) -> str:
    """The script `bash -x run.sh` runs ('' for `bash -c '...'` or no script at all)."""
    for argument in arguments:
        if argument == "-c":
            return ""
        if not argument.startswith("-"):
            return argument
    return ""
