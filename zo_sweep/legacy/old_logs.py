"""One old run's log files: its settings from their names, its metrics from their last lines.

MeZO's run.py ends a run with `===== Train set N =====` and a dict of metrics (test metrics
plain, dev metrics prefixed `dev_`), on stdout or, through logging, on stderr. A run that
never printed them is incomplete; its `.err` file usually ends with the reason (a Python
exception, `Killed`, an out-of-memory message), which becomes the row's error.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from zo_sweep import mezo_log, records
from zo_sweep.data.tasks import DataError, load_task_spec
from zo_sweep.legacy import base_scripts, zo_config

LEGACY = "legacy"
INCOMPLETE = "incomplete"
# <lr>_<tag>: 1e-6_original, 1e-4_lora_rk8, 1e-4_rk8n16_synthetic, 1e-6_train.
LOG_STEM = re.compile(r"^(?P<lr>[0-9.]+(?:e-?[0-9]+)?)(?:_(?P<tag>.*))?$", re.IGNORECASE)
# rk<rank>, or rk<rank>n<alpha>.
LORA_TAG = re.compile(r"(?:^|_)rk(?P<rank>\d+)(?:n(?P<alpha>\d+))?(?:_|$)")
# A line that says why a run stopped, as Python, the kernel or a scheduler print it.
ERROR_LINE = re.compile(
    r"(Error|Exception|Killed|out of memory|CANCELLED|TIME LIMIT|Segmentation fault)\b",
    re.IGNORECASE,
)
SUMMARY_METRIC_KEYS = ("metric", "best_dev", "final_dev", "test_at_best")


def name_fields(stem: str) -> dict[str, Any] | None:
    """lr (and LoRA rank and alpha) read from a log's file name; None without a learning rate."""
    match = LOG_STEM.match(stem)
    if not match:
        return None
    fields: dict[str, Any] = {"lr": float(match.group("lr"))}
    lora = LORA_TAG.search(match.group("tag") or "")
    if lora:
        alpha = lora.group("alpha") or base_scripts.unset_defaults("")["ALPHA"]
        fields.update(rank=int(lora.group("rank")), alpha=int(alpha))
    return fields


def log_fields(out: Path, err: Path, primary: str) -> dict[str, Any]:
    """Metrics from MeZO's closing lines in the .out or .err file, else status incomplete."""
    for log in (out, err):
        try:
            with open(log, errors="replace") as handle:
                found = mezo_log.parse_closing_lines(handle)
        except OSError:
            continue
        if found is not None:
            fields = mezo_log.metric_fields(found[1], primary)
            return {"status": LEGACY, **{key: fields[key] for key in SUMMARY_METRIC_KEYS}}
    return {"status": INCOMPLETE, "error": stop_reason(out, err)}


def stop_reason(out: Path, err: Path, max_bytes: int = 16384) -> str:
    """Why a run left no metrics: the last error line of its .err (else its last line)."""
    lines = [line.strip() for line in (records.read_tail(err, max_bytes) or "").splitlines()]
    lines = [line for line in lines if line]
    errors = [line for line in lines if ERROR_LINE.search(line) and not line.startswith("Trace")]
    last = (errors or lines or [""])[-1]
    if last:
        return f"{last[:300]} ({err.name})"
    return f"no '===== Train set N =====' summary in {out.name} or {err.name}"


def model_name(folder: str) -> str:
    """zo_sweep's model name for an old model folder or hub id (Llama-3.2-1B -> llama1b)."""
    names = zo_config.model_names_by_id()
    by_folder = {Path(model_id).name.lower(): name for model_id, name in names.items()}
    return names.get(folder) or by_folder.get(Path(folder).name.lower(), folder)


def task_name(folder: str) -> str:
    try:
        return load_task_spec(folder).name
    except DataError:
        return folder


def modified(*logs: Path) -> str | None:
    times = [log.stat().st_mtime for log in logs if log.exists()]
    return datetime.fromtimestamp(max(times)).isoformat(timespec="seconds") if times else None
