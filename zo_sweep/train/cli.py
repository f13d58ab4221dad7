"""`python -m zo_sweep.train`: one run, configured by a job's train.yaml, the old env vars or flags.

Writes metrics.jsonl and result.json into OUTPUT_DIR and ends with MeZO's two closing log
lines. A bad setting, model or data file ends the run with one line on stderr and exit code 2;
running out of memory ends it with one line and exit code 1.
"""

from __future__ import annotations

import logging
import sys
import warnings

from zo_sweep import mezo_log
from zo_sweep.closed_pipe import quiet_on_closed_pipe
from zo_sweep.data.tasks import DataError
from zo_sweep.embedded import EmbeddedModelError
from zo_sweep.errors import ConfigError
from zo_sweep.train.errors import ModelNotFound
from zo_sweep.train.preemption import SIGTERM, Terminated
from zo_sweep.train.sources import load_settings

USAGE_ERROR = 2
RUN_ERROR = 1
INTERRUPTED = 130  # Ctrl-C
TERMINATED = 143  # SIGTERM (a job's timeout, or a sweep being stopped)


def closing_metrics(result: dict) -> dict:
    """The dict MeZO's run.py logs last: test metrics at the best dev step, dev as dev_*."""
    metrics = dict(result.get("test_metrics") or {})
    metrics.update({f"dev_{k}": v for k, v in (result.get("dev_metrics") or {}).items()})
    return metrics


@quiet_on_closed_pipe
def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # peft calls a transformers property that transformers itself has deprecated: a warning in
    # every LoRA run's log that its user can do nothing about.
    warnings.filterwarnings(
        "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
    )
    with SIGTERM.installed():
        return _run(argv)


def _run(argv: list[str] | None) -> int:
    try:
        config = load_settings(argv)
        # Settings are checked first: torch and transformers take seconds to import.
        import torch

        from zo_sweep.train.pipeline import train

        try:
            result = train(config)
        except torch.OutOfMemoryError as err:
            first = (str(err).strip().splitlines() or ["out of memory"])[0]
            print(
                f"error: out of memory ({first}); lower BS or EVAL_BS, or use "
                "GRAD_ACCUM, GRAD_CKPT=1 or MODE=lora",
                file=sys.stderr,
            )
            return RUN_ERROR
    except (ConfigError, DataError, ModelNotFound, EmbeddedModelError) as err:
        print(f"error: {err}", file=sys.stderr)
        return USAGE_ERROR
    except Terminated:
        print("terminated", file=sys.stderr)
        return TERMINATED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    if result is not None:  # rank 0's, on N ranks
        mezo_log.print_closing_lines(config.seed, closing_metrics(result))
    return 0
