"""The trainer's progress in train.err: readable lines off a terminal, a tqdm bar on one."""

from __future__ import annotations

import io

from zo_sweep.train.progress import StepProgress


def test_off_a_terminal_progress_is_a_few_plain_lines() -> None:
    stream = io.StringIO()
    progress = StepProgress(1000, "zo", stream=stream, every_seconds=3600, interactive=False)
    for step in range(1, 1001):
        progress.update(step, loss=0.5 if step % 10 == 0 else None)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    # The first step (to show the pace) and the last; nothing in between within the hour.
    assert len(lines) == 2
    assert lines[0].startswith("zo: step 1/1000, ") and "s/step, eta " in lines[0]
    assert lines[1].startswith("zo: step 1000/1000, loss 0.5000, ")
    assert lines[1].endswith("eta 0:00:00")


def test_off_a_terminal_a_line_comes_every_interval() -> None:
    stream = io.StringIO()
    progress = StepProgress(5, "fo_lora", stream=stream, every_seconds=0, interactive=False)
    for step in range(1, 6):
        progress.update(step, loss=1.0 / step)
    assert [line.split(",")[0] for line in stream.getvalue().splitlines()] == [
        f"fo_lora: step {step}/5" for step in range(1, 6)
    ]


def test_on_a_terminal_progress_is_a_tqdm_bar() -> None:
    stream = io.StringIO()
    progress = StepProgress(20, "zo", stream=stream, interactive=True)
    for step in range(1, 21):
        progress.update(step, loss=0.25)
    progress.close()
    assert "zo: 100%" in stream.getvalue() and "20/20" in stream.getvalue()
