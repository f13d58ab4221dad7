"""`python -m zo_sweep.train.launch --nproc-per-node N [trainer args]`: the trainer as N ranks.

PyTorch's own launcher (torch.distributed.run, torchrun) starts `python -m zo_sweep.train
[trainer args]` N times on this node, and:

- tees every rank's stdout and stderr to its own, each line prefixed `[rank<r>]: `;
- restarts nothing: a rank that fails makes torchrun's agent stop the others at once, and the
  launcher ends with that rank's exit code and, as its last line on stderr, that rank's error
  (`ChildFailedError: rank 1: RuntimeError: ...`);
- passes SIGTERM (SLURM's preemption, a job's timeout) to the ranks, which save a first-order
  run's checkpoint and stop; the launcher then exits 143. It gives them
  TORCH_ELASTIC_SHUTDOWN_TIMEOUT seconds (torchrun's own variable, default 30) before SIGKILL;
- meets the other nodes of a SLURM job step of several nodes (`srun` on N nodes, one launcher
  per node: SLURM_STEP_NUM_NODES > 1) at the step's first node, on a port derived from the
  job's id, each node's ranks numbered in SLURM's order of the nodes; on one node the ranks meet on a free port of their own (--standalone), so several
  jobs share a node;
- passes a LoRA rank given as RANK (the variables' interface) on as --rank, since torchrun
  sets each rank's RANK to its own.

`python -m torch.distributed.run --standalone --nproc-per-node N -m zo_sweep.train ...` runs
the same ranks, with torchrun's own (longer) report of a failure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from zo_sweep import records
from zo_sweep.closed_pipe import quiet_on_closed_pipe
from zo_sweep.train.settings import SETTINGS_ENV

PREFIX_TEMPLATE = "[rank${rank}]: "  # torchrun fills in ${rank}
PREFIX_VARIABLE = "TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE"
SHUTDOWN_TIMEOUT_VARIABLE = "TORCH_ELASTIC_SHUTDOWN_TIMEOUT"  # seconds from SIGTERM to SIGKILL
RENDEZVOUS_PORTS = (29400, 1000)  # first port, and how many the job ids spread over
TERMINATED = 143


TRAINER_MODULE = "zo_sweep.train"


def rank_command(
    nproc_per_node: int, trainer_args: Sequence[str], python: str = sys.executable
) -> list[str]:
    """The command that runs the trainer as `nproc_per_node` ranks on each node of the job,
    e.g. `python -m zo_sweep.train.launch --nproc-per-node 4 --config train.yaml`."""
    launcher = [python, "-m", "zo_sweep.train.launch", f"--nproc-per-node={nproc_per_node}"]
    return [*launcher, *trainer_args]


def lora_rank_args(trainer_args: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """The trainer's arguments, with a LoRA rank given as RANK (the variables' interface) turned
    into --rank: in the ranks' environment torchrun sets RANK to each one's rank."""
    reads_environment = "--config" not in trainer_args and not environ.get(SETTINGS_ENV)
    if reads_environment and environ.get("RANK") and "--rank" not in trainer_args:
        return ["--rank", environ["RANK"], *trainer_args]
    return list(trainer_args)


def torchrun_args(
    nproc_per_node: int,
    trainer_args: Sequence[str],
    environ: Mapping[str, str],
    log_dir: str,
    module: str = TRAINER_MODULE,
) -> list[str]:
    """torchrun's arguments for N ranks of the trainer (or `module`) on this node."""
    return [
        f"--nproc-per-node={nproc_per_node}",
        "--max-restarts=0",
        "--tee=3",  # stdout and stderr of every rank, to the console and to log_dir
        f"--log-dir={log_dir}",
        *rendezvous_args(environ),
        "-m",
        module,
        *trainer_args,
    ]


def step_nodes(environ: Mapping[str, str]) -> tuple[int, int]:
    """(this node's index, nodes) of the SLURM job step this process runs in (`srun` sets
    them; a batch script or an `salloc` shell is one node's), else (0, 1)."""
    nodes = int(environ.get("SLURM_STEP_NUM_NODES") or 1)
    if nodes <= 1:
        return 0, 1
    return int(environ.get("SLURM_NODEID") or 0), nodes


def rendezvous_args(environ: Mapping[str, str]) -> list[str]:
    """Where the nodes' launchers meet: this node alone, or the SLURM job step's first node."""
    node, nodes = step_nodes(environ)
    if nodes <= 1:
        return ["--standalone"]
    job = environ["SLURM_JOB_ID"]
    first, spread = RENDEZVOUS_PORTS
    host = first_host(environ.get("SLURM_STEP_NODELIST") or environ["SLURM_JOB_NODELIST"])
    # A static rendezvous: the nodes' ranks follow SLURM's order, so rank 0 (the one that
    # writes the run's records) runs on the job's first node, beside the job's own logs.
    return [
        f"--nnodes={nodes}",
        f"--node-rank={node}",
        "--rdzv-backend=static",
        f"--master-addr={host}",
        f"--master-port={first + int(job) % spread}",
    ]


def first_host(nodelist: str) -> str:
    """The first host of a SLURM node list (`gpu[03-05,09],cpu1` -> `gpu03`)."""
    if shutil.which("scontrol"):
        listed = subprocess.run(
            ["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True
        )
        if listed.returncode == 0 and listed.stdout.split():
            return listed.stdout.split()[0]
    head = nodelist.split(",")[0]
    if "[" not in head:
        return head
    prefix, rest = head.split("[", 1)
    return prefix + rest.split("-")[0].split("]")[0]


def failure_line(error: Exception, log_dir: str) -> tuple[str, int]:
    """The one line that says which rank failed first and why, and the exit code to end with."""
    failures = error.failures  # type: ignore[attr-defined]
    # torchrun's own choice of the first failure compares whole seconds; among the ranks that
    # failed in the same second, the one whose log stopped first failed first (the others
    # failed for want of it).
    rank = min(failures, key=lambda r: (failures[r].timestamp, _log_mtime(failures[r], log_dir)))
    failure = failures[rank]
    log = _stderr_log(failure, log_dir)
    lines = log.read_text(errors="replace").splitlines() if log else []
    reason = records.error_line(lines) if failure.exitcode > 0 else ""
    exit_code = failure.exitcode if failure.exitcode > 0 else 128 - failure.exitcode
    return f"ChildFailedError: rank {rank}: {reason or failure.message}", exit_code


def _stderr_log(failure, log_dir: str) -> Path | None:
    found = sorted(Path(log_dir).glob(f"*/attempt_*/{failure.local_rank}/stderr.log"))
    return found[-1] if found else None


def _log_mtime(failure, log_dir: str) -> float:
    log = _stderr_log(failure, log_dir)
    return log.stat().st_mtime if log else 0.0


@quiet_on_closed_pipe
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zo_sweep.train.launch",
        description="Run the trainer (python -m zo_sweep.train) as N ranks under torchrun; "
        "every other argument goes to the trainer.",
    )
    parser.add_argument("--nproc-per-node", type=int, required=True, help="ranks on this node")
    parser.add_argument(
        "--module", default=TRAINER_MODULE, help=f"what each rank runs (default {TRAINER_MODULE})"
    )
    args, trainer_args = parser.parse_known_args(argv)
    if args.nproc_per_node < 1:
        print("error: --nproc-per-node must be >= 1", file=sys.stderr)
        return 2
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    os.environ.setdefault(PREFIX_VARIABLE, PREFIX_TEMPLATE)
    log_dir = tempfile.mkdtemp(prefix="zo_sweep_ranks_")
    try:
        trainer_args = lora_rank_args(trainer_args, os.environ)
        argv = torchrun_args(args.nproc_per_node, trainer_args, os.environ, log_dir, args.module)
        run(parse_args(argv))
    except ChildFailedError as error:
        line, exit_code = failure_line(error, log_dir)
        print(f"{error}\n{line}", file=sys.stderr, flush=True)
        return exit_code
    except SignalException as signalled:
        return 128 + int(signalled.sigval)
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
