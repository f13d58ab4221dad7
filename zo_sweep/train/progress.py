"""The trainer's progress on stderr: a tqdm bar on a terminal, plain lines anywhere else.

A job's stderr is a file (train.err); a bar redrawn with carriage returns turns it into one
line of megabytes. Off a terminal, a line such as
`zo: step 40/200, loss 0.6931, 0.52 s/step, eta 0:01:23` is written after the first step, then
at most every `every_seconds`, and at the last step. On N ranks only rank 0 shows progress
(`quiet` elsewhere).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm import tqdm

PLAIN_EVERY_SECONDS = 30.0
BAR_MIN_INTERVAL = 2.0


class StepProgress:
    def __init__(
        self,
        total: int,
        label: str,
        stream: TextIO | None = None,
        every_seconds: float = PLAIN_EVERY_SECONDS,
        interactive: bool | None = None,
        quiet: bool = False,
    ) -> None:
        self.total, self.label, self.quiet = total, label, quiet
        self.stream = stream or sys.stderr
        self.every_seconds = every_seconds
        interactive = self.stream.isatty() if interactive is None else interactive
        self.bar = (
            tqdm(
                total=total,
                desc=label,
                file=self.stream,
                dynamic_ncols=True,
                mininterval=BAR_MIN_INTERVAL,
            )
            if interactive and not quiet
            else None
        )
        self.started = time.monotonic()
        self.last_line: float | None = None
        self.loss: float | None = None

    def update(self, step: int, loss: float | None = None) -> None:
        """Step `step` is done; `loss` is the latest logged mean loss, if one was logged."""
        if loss is not None:
            self.loss = loss
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            if loss is not None:
                self.bar.set_postfix(loss=f"{loss:.4f}")
            return
        now = time.monotonic()
        due = self.last_line is None or now - self.last_line >= self.every_seconds
        if due or step == self.total:
            self.last_line = now
            print(self._line(step, now), file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def _line(self, step: int, now: float) -> str:
        per_step = (now - self.started) / step if step else 0.0
        parts = [f"{self.label}: step {step}/{self.total}"]
        if self.loss is not None:
            parts.append(f"loss {self.loss:.4f}")
        parts.append(f"{per_step:.2f} s/step")
        left = int(round(per_step * (self.total - step)))
        parts.append(f"eta {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}")
        return ", ".join(parts)
