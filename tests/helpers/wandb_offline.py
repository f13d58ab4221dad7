"""An offline W&B run read back from its own file, `run-<id>.wandb`, as `wandb sync` reads it.

The file is W&B's transaction log: a 7-byte header (`:W&B`, magic, version), then records in
32 KiB blocks, each chunk behind a 7-byte header (checksum, length, type: full, first, middle,
last), each record one of W&B's own protobuf `Record`s (wandb.proto.wandb_internal_pb2).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wandb.proto import wandb_internal_pb2

FILE_HEADER = 7
BLOCK = 32 * 1024
CHUNK_HEADER = struct.Struct("<IHB")  # checksum, length, type
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


@dataclass
class OfflineRun:
    project: str = ""
    group: str = ""
    name: str = ""
    run_id: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)  # one row per logged step
    summary: dict[str, Any] = field(default_factory=dict)
    exit_code: int | None = None


def offline_runs(directory: Path) -> list[OfflineRun]:
    """Every offline run under `directory` (the tracker's folder), in the order they began."""
    return [read_run(path) for path in sorted(directory.glob("wandb/offline-run-*/run-*.wandb"))]


def read_run(path: Path) -> OfflineRun:
    run = OfflineRun()
    for record in _records(path.read_bytes()):
        kind = record.WhichOneof("record_type")
        if kind == "run":  # the first; later ones (resumed, renamed) only update
            run.project = record.run.project or run.project
            run.group = record.run.run_group or run.group
            run.name = record.run.display_name or run.name
            run.run_id = record.run.run_id or run.run_id
            run.config.update(_items(record.run.config.update))
        elif kind == "config":
            run.config.update(_items(record.config.update))
        elif kind == "history":
            row = _items(record.history.item)
            run.history.append(
                {k: v for k, v in row.items() if not k.startswith("_") or k == "_step"}
            )
        elif kind == "summary":
            run.summary.update(
                {k: v for k, v in _items(record.summary.update).items() if not k.startswith("_")}
            )
        elif kind == "exit":
            run.exit_code = record.exit.exit_code
    return run


def _items(items: Any) -> dict[str, Any]:
    """Key -> value of W&B's update items, without its own `_wandb` config entry."""
    found = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in items}
    found.pop("_wandb", None)
    return found


def _records(data: bytes) -> list[wandb_internal_pb2.Record]:
    records, pending, position = [], b"", FILE_HEADER
    while position + CHUNK_HEADER.size <= len(data):
        left_in_block = BLOCK - position % BLOCK
        if left_in_block < CHUNK_HEADER.size:  # the block's tail is padding
            position += left_in_block
            continue
        _, length, kind = CHUNK_HEADER.unpack_from(data, position)
        if kind == 0:  # padding up to the next block
            position += left_in_block
            continue
        start = position + CHUNK_HEADER.size
        chunk, position = data[start : start + length], start + length
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
    return records
