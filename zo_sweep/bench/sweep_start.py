"""How soon a sweep's first job starts, and what a dry run costs per job.

    python -m zo_sweep.bench.sweep_start [--jobs 200] [--rounds 3]

Runs `python -m zo_sweep -m ... dry_run=true` as a user does, a one-job sweep and an N-job
grid (two methods, N/2 learning rates each) in turn, ROUNDS times: the two sizes share every
moment of the machine's load. Each job records when it started (process.json), so a round
gives how much later the first job of the grid starts than the one job of the small sweep,
and the grid's extra seconds per job, in wall time and in CPU time (what a busy machine's
load does not change). Prints the median of the rounds with their range, and
the goals (docs/performance.md): the first job within 2 s of a one-job sweep's, a dry run
under 0.05 s a job.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from zo_sweep import records
from zo_sweep.closed_pipe import quiet_on_closed_pipe

FIRST_JOB_GOAL_S = 2.0
PER_JOB_GOAL_S = 0.05


@dataclass(frozen=True)
class Sweep:
    """One dry-run sweep, timed from the moment its process was started."""

    jobs: int
    first_job_s: float  # until the first job started
    wall_s: float  # until the process ended
    cpu_s: float  # the CPU time it took, user and system: the part the machine's load hides


def run_dry_sweep(overrides: list[str], folder: Path) -> Sweep:
    """Start `python -m zo_sweep -m <overrides> dry_run=true` and time it."""
    command = [sys.executable, "-m", "zo_sweep", "-m", *overrides, "dry_run=true"]
    cpu_before = _children_cpu()
    started = time.time()
    done = subprocess.run(
        [*command, f"output_root={folder}"], capture_output=True, text=True, check=False
    )
    wall = time.time() - started
    cpu = _children_cpu() - cpu_before
    if done.returncode != 0:
        raise SystemExit(f"the sweep failed: {done.stderr.strip()[-2000:]}")
    starts = [
        float(json.loads(path.read_text())["started"])
        for path in folder.rglob(records.PROCESS_FILE)
    ]
    return Sweep(len(starts), min(starts) - started, wall, cpu)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def grid(jobs: int) -> list[str]:
    """Two methods (two shapes of config) times jobs/2 learning rates."""
    lrs = ",".join(f"{index + 1}e-7" for index in range(max(1, jobs // 2)))
    return ["method=zo,fo_lora", f"lr={lrs}"]


def measure(jobs: int, rounds: int) -> dict[str, list[float]]:
    """Per round: the grid's first job after the single job's, and its cost per extra job."""
    found: dict[str, list[float]] = {
        "first_job_delay_s": [],
        "dry_run_s_per_job": [],
        "dry_run_cpu_s_per_job": [],
    }
    with tempfile.TemporaryDirectory(prefix="sweep_start_") as tmp:
        for index in range(rounds):
            # Alternate which size goes first, so a trend in the load favours neither.
            sizes = [(1, ["method=zo", "lr=1e-7"]), (jobs, grid(jobs))]
            timed = {}
            for size, overrides in sizes if index % 2 == 0 else sizes[::-1]:
                timed[size] = run_dry_sweep(overrides, Path(tmp) / f"{index}_{size}")
                print(f"[bench] round {index + 1}: {timed[size]}", file=sys.stderr, flush=True)
            one, many = timed[1], timed[jobs]
            found["first_job_delay_s"].append(many.first_job_s - one.first_job_s)
            found["dry_run_s_per_job"].append((many.wall_s - one.wall_s) / (many.jobs - 1))
            found["dry_run_cpu_s_per_job"].append((many.cpu_s - one.cpu_s) / (many.jobs - 1))
    return found


def report(found: dict[str, list[float]], jobs: int) -> list[str]:
    delay, per_job = found["first_job_delay_s"], found["dry_run_s_per_job"]
    return [
        f"first job of a {jobs}-job grid starts {_spread(delay)} s after a one-job sweep's "
        f"(goal <= {FIRST_JOB_GOAL_S} s)",
        f"dry run: {_spread(per_job)} s per job (goal < {PER_JOB_GOAL_S} s), "
        f"{_spread(found['dry_run_cpu_s_per_job'])} s of CPU per job",
        f"(median [min, max] of {len(delay)} interleaved rounds; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)",
    ]


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}, {max(values):.3f}]"


@quiet_on_closed_pipe
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zo_sweep.bench.sweep_start")
    parser.add_argument("--jobs", type=int, default=200, help="jobs of the grid")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    found = measure(args.jobs, args.rounds)
    print("\n".join(report(found, args.jobs)))
    if args.json:
        args.json.write_text(json.dumps({"jobs": args.jobs, **found}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
