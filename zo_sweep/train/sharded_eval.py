"""Scoring a split with a sharded model: each rank scores its share of the batches.

The batches are the ones a single rank makes (examples sorted by prompt length, EVAL_BS at a
time), so every example is scored in the same company as on one rank, and the predictions
are one rank's. Batch b goes to rank b mod N; the predictions are gathered on every rank, so
that all of them agree on the dev metric and on which state is the best.

Under FSDP2 every forward gathers each layer's weights with all ranks, so every rank runs the
same number of forwards: one per batch, in rounds of N batches (a rank with no batch left in
the last round scores a spare copy of the first and drops it). The prompt cache of
single-rank evaluation (prompt_cache.py) runs a number of forwards that depends on the
candidates' lengths, which would leave the ranks' gathers unmatched; here each batch runs
one sequence per candidate instead, in one forward.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from zo_sweep.train.distributed import Ranks
from zo_sweep.train.scoring import Encoded, candidate_scores, collate


def predict_on_ranks(
    model,
    items: Sequence[Encoded],
    pad_id: int,
    batch_size: int,
    ranks: Ranks,
    reduction: str = "mean",
) -> list[int]:
    """The best-scoring candidate of each example (as scoring.predict), dropout off."""
    order = sorted(range(len(items)), key=lambda i: len(items[i].prompt))
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    mine: dict[int, int] = {}
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    # no_grad, not inference_mode: FSDP2 writes the gathered weights into its own buffers.
    with torch.no_grad():
        for round_ in range(math.ceil(len(batches) / ranks.world)):
            index = round_ * ranks.world + ranks.rank
            chunk = batches[index] if index < len(batches) else batches[0]
            batch = collate([items[i] for i in chunk], pad_id, device)
            best = candidate_scores(model, batch, reduction).argmax(dim=1).tolist()
            if index < len(batches):
                mine.update(zip(chunk, best, strict=True))
    model.train(was_training)
    merged: dict[int, int] = {}
    for predictions in ranks.gather(mine):
        merged.update(predictions)
    return [merged[index] for index in range(len(items))]
