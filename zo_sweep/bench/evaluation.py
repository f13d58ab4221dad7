"""The trainer's batched evaluation against one forward per candidate, as MeZO's run.py scores:
single-token candidates (SST-2) and multi-token ones (Copa, ARC cloze)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from zo_sweep.bench.timing import Spread, time_rounds
from zo_sweep.bench.workload import EVAL_TASKS, BenchConfig, dev_items
from zo_sweep.train.scoring import Encoded, evaluate


@torch.inference_mode()
def one_forward_per_candidate(model, items: Sequence[Encoded]) -> list[int]:
    """The baseline: each (prompt, candidate) sequence alone, full logits, mean log-probability."""
    device = next(model.parameters()).device
    predictions = []
    for item in items:
        scores = []
        for candidate in item.candidates:
            ids = torch.tensor([item.prompt + candidate], device=device)
            logprobs = model(input_ids=ids).logits[0, :-1].float().log_softmax(-1)
            targets = ids[0, len(item.prompt) :, None]
            scores.append(float(logprobs[len(item.prompt) - 1 :].gather(-1, targets).mean()))
        predictions.append(max(range(len(scores)), key=scores.__getitem__))
    return predictions


def measure_eval(model, tokenizer, config: BenchConfig, device: torch.device):
    calls = {}
    batch_size = config.eval_bs
    for task in EVAL_TASKS:
        spec, items = dev_items(tokenizer, task, config.eval_examples, config.seed)
        calls[f"{task}/batched"] = lambda i=items, s=spec: evaluate(
            model, tokenizer, i, s, batch_size=batch_size
        )
        calls[f"{task}/one_per_candidate"] = lambda i=items: one_forward_per_candidate(model, i)
    seconds = time_rounds(calls, max(1, config.rounds // 2), device)
    speedups = {
        task: Spread.of(
            [
                one / batched
                for one, batched in zip(
                    seconds[f"{task}/one_per_candidate"], seconds[f"{task}/batched"], strict=True
                )
            ]
        )
        for task in EVAL_TASKS
    }
    times = {name: Spread.of(values) for name, values in seconds.items()}
    return times, speedups
