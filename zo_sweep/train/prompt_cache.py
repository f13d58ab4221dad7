"""Scoring multi-token candidates from one forward of their prompt, through a KV cache.

The prompts of a batch run once, left-padded, keeping their KV cache; the cache is copied once
per candidate, and a second forward runs only the candidates' own tokens from it (but the last,
which predicts nothing scored), right-padded in groups of similar length. Scores equal those of
one sequence per candidate (tests/test_train_scoring.py).
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Sequence
from typing import Protocol

import torch


class Encoded(Protocol):
    """An example as token ids (zo_sweep.train.scoring.Encoded): the prompt, each candidate."""

    prompt: list[int]
    candidates: list[list[int]]


@functools.cache
def _cache_keyword() -> str:
    """The KV cache's name in a model's arguments and outputs: `cache` in recent transformers,
    `past_key_values` before."""
    from transformers import LlamaForCausalLM

    parameters = inspect.signature(LlamaForCausalLM.forward).parameters
    return "cache" if "cache" in parameters else "past_key_values"


def _left_padded(rows: Sequence[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(len(row) for row in rows)
    ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for index, row in enumerate(rows):
        ids[index, length - len(row) :] = torch.tensor(row)
        mask[index, length - len(row) :] = 1
    return ids, mask


def _right_padded(rows: Sequence[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(len(row) for row in rows)
    ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for index, row in enumerate(rows):
        ids[index, : len(row)] = torch.tensor(row)
        mask[index, : len(row)] = 1
    return ids, mask


# A forward call costs about as much as this many more token positions (measured on the CPU:
# 70 ms per call of the embedded model against 2.2 ms per position).
CALL_COST_IN_POSITIONS = 32


def length_groups(
    lengths: Sequence[int], call_cost: int = CALL_COST_IN_POSITIONS
) -> list[list[int]]:
    """Indices grouped by length, shortest first, so that the forwards over the groups, each
    right-padded to its longest member, cost least: `call_cost` positions per forward plus
    rows x longest positions per group (a shortest-path split of the sorted lengths)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    best = [0] + [0] * len(order)  # best[k]: least cost of the first k sorted indices
    cut = [0] * (len(order) + 1)
    for end in range(1, len(order) + 1):
        longest = lengths[order[end - 1]]
        best[end], cut[end] = min(
            (best[start] + call_cost + (end - start) * longest, start) for start in range(end)
        )
    groups, end = [], len(order)
    while end:
        groups.append(order[cut[end] : end])
        end = cut[end]
    return groups[::-1]


def _continuation_logprobs(model, cache, prompt_mask, owner, candidates, pad_id) -> torch.Tensor:
    """[candidates, longest - 1]: log-probability of each candidate's tokens after its first,
    from a forward on `cache` (one row per candidate) of the tokens that predict them: all but
    the last, which predicts nothing that is scored."""
    device = prompt_mask.device
    inputs, mask = (t.to(device) for t in _right_padded([c[:-1] for c in candidates], pad_id))
    targets, _ = _right_padded([c[1:] for c in candidates], pad_id)
    positions = prompt_mask.sum(dim=1)[owner, None] + torch.arange(inputs.shape[1], device=device)
    logits = model(
        input_ids=inputs,
        attention_mask=torch.cat([prompt_mask[owner], mask], dim=1),
        position_ids=positions,
        use_cache=True,
        **{_cache_keyword(): cache},
    ).logits
    picked = torch.log_softmax(logits.float(), dim=-1).gather(-1, targets.to(device)[..., None])
    return picked.squeeze(-1) * mask


@torch.inference_mode()
def cached_prompt_scores(
    model, items: Sequence[Encoded], pad_id: int, reduction: str = "mean"
) -> torch.Tensor:
    """[examples, most candidates] scores, as `candidate_scores` gives them, with each prompt run
    once: its KV cache is shared by its candidates, whose tokens alone (but the last) run a
    second forward, in groups of similar length. A one-token candidate is read off its prompt's
    forward alone."""
    device = next(model.parameters()).device
    prompt_ids, prompt_mask = (
        t.to(device) for t in _left_padded([i.prompt for i in items], pad_id)
    )
    prompt = model(
        input_ids=prompt_ids,
        attention_mask=prompt_mask,
        position_ids=(prompt_mask.cumsum(dim=1) - 1).clamp(min=0),
        use_cache=True,
        logits_to_keep=1,
    )
    candidates = [candidate for item in items for candidate in item.candidates]
    owner = torch.tensor(
        [e for e, item in enumerate(items) for _ in item.candidates], device=device
    )
    slot = torch.tensor([k for item in items for k in range(len(item.candidates))], device=device)
    # The prompt's last position predicts each candidate's first token.
    first = torch.log_softmax(prompt.logits[:, -1].float(), dim=-1)[owner]
    totals = first.gather(1, torch.tensor([[c[0]] for c in candidates], device=device))[:, 0]
    multi = [index for index, candidate in enumerate(candidates) if len(candidate) > 1]
    inputs = [len(candidates[i]) - 1 for i in multi]  # a candidate's last token is no input
    longer = [[multi[i] for i in group] for group in length_groups(inputs)]
    prompt_cache = getattr(prompt, _cache_keyword())
    for number, group in enumerate(longer):
        cache = prompt_cache if number == len(longer) - 1 else copy.deepcopy(prompt_cache)
        rows = torch.tensor(group, device=device)
        cache.batch_select_indices(owner[rows])  # one copy of its prompt's cache per candidate
        rest = _continuation_logprobs(
            model, cache, prompt_mask, owner[rows], [candidates[i] for i in group], pad_id
        )
        totals[rows] += rest.sum(dim=1)
    if reduction == "mean":
        totals = totals / torch.tensor([len(c) for c in candidates], device=device)
    width = max(len(item.candidates) for item in items)
    scores = torch.full((len(items), width), float("-inf"), device=device)
    scores[owner, slot] = totals
    return scores
