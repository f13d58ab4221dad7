"""Running a command on a pseudo-terminal of a given width, and reading its screen back.

The console draws on a terminal in place (carriage returns, cursor moves, line erases), so its
raw bytes say little: `Screen` plays them back as a terminal would (the few sequences a live
display uses) and tells the widest line ever drawn.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import termios
import time
from dataclasses import dataclass, field

CSI = re.compile(r"\x1b\[([?0-9;]*)([A-Za-z])")


@dataclass
class Screen:
    """A terminal's lines as the bytes left them; `widest`: the longest line ever drawn."""

    lines: list[str] = field(default_factory=lambda: [""])
    row: int = 0
    col: int = 0
    widest: int = 0
    cursor_ups: int = 0

    def feed(self, text: str) -> None:
        position = 0
        for match in CSI.finditer(text):
            self._write(text[position : match.start()])
            self._control(match.group(1), match.group(2))
            position = match.end()
        self._write(text[position:])

    def _control(self, argument: str, command: str) -> None:
        if command == "A":
            self.row = max(0, self.row - int(argument or 1))
            self.cursor_ups += 1
        elif command == "K":
            self.lines[self.row] = ""  # the live display erases whole lines
        elif command == "G":
            self.col = max(0, int(argument or 1) - 1)

    def _write(self, text: str) -> None:
        for char in text:
            if char == "\r":
                self.col = 0
            elif char == "\n":
                self.row += 1
                while len(self.lines) <= self.row:
                    self.lines.append("")
            elif char >= " ":
                line = self.lines[self.row].ljust(self.col)
                self.lines[self.row] = line[: self.col] + char + line[self.col + 1 :]
                self.col += 1
                self.widest = max(self.widest, self.col)

    def text(self) -> list[str]:
        return [line.rstrip() for line in self.lines if line.strip()]


def run_on_terminal(
    argv: list[str], columns: int, env: dict[str, str], cwd: str, timeout: float = 120
) -> tuple[int, str]:
    """Run argv with a terminal of `columns` as its stdout and stderr; its exit code and bytes."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is its stdin, stdout and stderr
        os.chdir(cwd)
        sized = {key: value for key, value in env.items() if key not in ("COLUMNS", "LINES")}
        os.execvpe(argv[0], argv, {**sized, "TERM": "xterm-256color"})
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    output = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")
