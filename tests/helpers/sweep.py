"""Running `python -m zo_sweep` as a user does, with a probe script standing in for a trainer.

The probe follows the env-var contract of the training scripts and reports what it received
(PROBE_LOG: one JSON line per start and end, with its pid and CUDA_VISIBLE_DEVICES), so tests
can check how jobs were launched without spending time on training. It behaves as the
environment tells it: SLEEP seconds, wait while HOLD_FILE exists (only the job whose LR is
HOLD_LR, if set), write PROBE_STEPS lines of metrics.jsonl STEP_SLEEP seconds apart, fail with exit code 3 at LR >= FAIL_AT_LR or LR < FAIL_BELOW_LR, PROBE_OUTPUT=mezo_log to print
MeZO's closing lines instead of writing result.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers import REPO_ROOT

PROBE = r"""#!/usr/bin/env bash
# A stand-in trainer: reads the env-var contract, writes result.json (or MeZO's closing lines).
exec "{python}" - <<'PY'
import json, os, sys, time

def note(event):
    log = os.environ.get("PROBE_LOG")
    if log:
        with open(log, "a") as handle:
            handle.write(json.dumps({{
                "event": event, "pid": os.getpid(), "lr": os.environ["LR"],
                "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"), "time": time.time(),
                "threads": os.environ.get("OMP_NUM_THREADS"),
            }}) + "\n")

note("start")
hold = os.environ.get("HOLD_FILE")
if os.environ.get("HOLD_LR", os.environ["LR"]) != os.environ["LR"]:
    hold = None  # only the job with this learning rate waits
while hold and os.path.exists(hold):
    time.sleep(0.05)
time.sleep(float(os.environ.get("SLEEP", "0")))
for step in range(1, int(os.environ.get("PROBE_STEPS", "0")) + 1):
    time.sleep(float(os.environ.get("STEP_SLEEP", "0")))
    line = {{"step": step, "loss": 1.0 / step}}
    if step % 2 == 0:
        line["dev_accuracy"] = step / 100
    with open(os.path.join(os.environ["OUTPUT_DIR"], "metrics.jsonl"), "a") as handle:
        handle.write(json.dumps(line) + "\n")
lr = float(os.environ["LR"])
if not float(os.environ.get("FAIL_BELOW_LR", "-inf")) <= lr < float(os.environ.get("FAIL_AT_LR", "inf")):
    print("probe: learning rate too high", file=sys.stderr)
    sys.exit(3)
if os.environ.get("PROBE_OUTPUT") == "mezo_log":
    print("2024-05-01 12:00:00 - INFO - ===== Train set 1000 =====")
    print(repr({{"accuracy": 0.87, "dev_accuracy": 0.9}}))
else:
    with open(os.path.join(os.environ["OUTPUT_DIR"], "result.json"), "w") as handle:
        json.dump({{"status": "ok", "metric": "accuracy", "best_dev": 1 - lr, "best_step": 1}}, handle)
note("end")
PY
"""


def write_probe(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "probe.sh"
    script.write_text(PROBE.format(python=sys.executable))
    return script


def sweep_command(*overrides: str) -> list[str]:
    return [sys.executable, "-m", "zo_sweep", *overrides]


def run_sweep(
    *overrides: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the app to completion from the repository root; returns its exit code and output.

    `env` is added to the app's environment, which the scripts inherit (probe settings).
    """
    return subprocess.run(
        sweep_command(*overrides),
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_sweep(*overrides: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        sweep_command(*overrides),
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def job_results(root: Path) -> dict[str, dict[str, Any]]:
    """result.json of every job under root, keyed by the job folder's name."""
    return {
        path.parent.name: json.loads(path.read_text()) for path in sorted(root.rglob("result.json"))
    }


def probe_events(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout} s"
        time.sleep(0.1)


def run_held_sweep(
    *overrides: str, hold: Path, running: int, env: dict[str, str], timeout: float = 120
) -> tuple[int, str, str]:
    """A sweep whose probes wait while `hold` exists; it is removed once `running` jobs have
    started, which proves they ran at the same time whatever the machine's load."""
    hold.touch()
    log = Path(env["PROBE_LOG"])
    sweep = start_sweep(*overrides, env={**env, "HOLD_FILE": str(hold)})
    try:
        wait_for(lambda: len(probe_events(log)) >= running, f"{running} jobs running at once")
    finally:
        hold.unlink()
    stdout, stderr = sweep.communicate(timeout=timeout)
    return sweep.returncode, stdout, stderr


def wait_for_starts(log: Path, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    """The probes' start events, once at least `count` jobs have started."""
    starts: list[dict[str, Any]] = []

    def started() -> bool:
        starts[:] = [event for event in probe_events(log) if event["event"] == "start"]
        return len(starts) >= count

    wait_for(started, f"{count} jobs starting", timeout)
    return starts
