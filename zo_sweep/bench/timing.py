"""The benchmark's one timer: calls timed round-robin, median and spread of each."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm import tqdm


@dataclass(frozen=True)
class Spread:
    """Median of the rounds, and the lowest and highest round."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_rounds(
    calls: dict[str, Callable[[], object]], rounds: int, device: torch.device
) -> dict[str, list[float]]:
    """Seconds of each call in each round. Calls run round-robin, so that load from other
    processes on a shared machine falls on all of them alike; one untimed warm-up round first
    (allocator, lazy initialisation, caches)."""
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for index in tqdm(range(rounds + 1), desc="rounds", file=sys.stderr, leave=False):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            synchronize(device)
            if index:
                seconds[name].append(time.perf_counter() - start)
    return seconds


def elapsed(call: Callable[[], object], device: torch.device) -> float:
    """Seconds of one call (startup phases: run once, as a job runs them)."""
    start = time.perf_counter()
    call()
    synchronize(device)
    return time.perf_counter() - start
