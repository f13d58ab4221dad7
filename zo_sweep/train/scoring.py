"""Scoring candidates by their log-likelihood after the prompt, batched.

Every (example, candidate) pair becomes one sequence: the prompt's tokens followed by the
candidate's tokens, encoded separately as MeZO does. Sequences are left-padded, so every
candidate ends at the last position and the LM head runs only on the last few positions
(`logits_to_keep`), not on the whole prompt: on a 49k vocabulary that head is a fifth of a
forward pass.

When every candidate of a batch is a single token (a verbalizer such as " great" / " terrible",
or ARC's letters), the prompt is run once and all candidates are read off its next-token
distribution: one sequence per example instead of one per candidate. Evaluation shares the
prompt for multi-token candidates too (Copa's sentences, ARC's cloze answers): the prompt runs
once with a KV cache and only the candidates' own tokens run from it (`prompt_cache`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from zo_sweep.data.tasks import DataError, Example, TaskSpec, accuracy
from zo_sweep.train.prompt_cache import cached_prompt_scores


@dataclass(frozen=True)
class Encoded:
    """An example as token ids: the prompt once, each candidate separately."""

    prompt: list[int]
    candidates: list[list[int]]
    label: int
    id: str = ""


@dataclass
class Batch:
    input_ids: torch.Tensor  # [sequences, length], left-padded
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    candidate_mask: torch.Tensor  # [sequences, keep]: which kept positions score a candidate token
    targets: torch.Tensor  # [sequences, keep]: the token each kept position predicts
    owner: torch.Tensor  # [sequences]: index of the example within the batch
    slot: torch.Tensor  # [sequences]: index of the candidate within its example
    labels: torch.Tensor  # [examples]
    num_candidates: int  # the most candidates any example of the batch has
    shared_prompt: bool = False  # one sequence per example; targets/mask are [examples, candidates]


def encode(tokenizer, examples: Sequence[Example], max_length: int = 512) -> list[Encoded]:
    """Tokenize once; the prompt is cut from the left when prompt + candidate is too long."""
    encoded = []
    for example in examples:
        prompt = tokenizer(example.prompt, add_special_tokens=True)["input_ids"]
        candidates = [
            tokenizer(text, add_special_tokens=False)["input_ids"] for text in example.candidates
        ]
        longest = max(len(ids) for ids in candidates)
        if not all(candidates) or longest >= max_length:
            raise DataError(
                f"a candidate of {example.candidates} is empty or longer than "
                f"MAX_LENGTH={max_length} tokens"
            )
        prompt = prompt[-(max_length - longest) :]
        encoded.append(Encoded(prompt, candidates, example.label, example.id))
    return encoded


def collate(
    items: Sequence[Encoded], pad_id: int, device: torch.device, share_prompt: bool = True
) -> Batch:
    single_tokens = all(len(c) == 1 for item in items for c in item.candidates)
    if share_prompt and single_tokens:
        return _collate_shared_prompt(items, pad_id, device)
    sequences, owners, slots = [], [], []
    for index, item in enumerate(items):
        for slot, candidate in enumerate(item.candidates):
            sequences.append((item.prompt, candidate))
            owners.append(index)
            slots.append(slot)
    length = max(len(p) + len(c) for p, c in sequences)
    keep = max(len(c) for _, c in sequences)
    input_ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    attention = torch.zeros((len(sequences), length), dtype=torch.long)
    targets = torch.full((len(sequences), keep), pad_id, dtype=torch.long)
    candidate_mask = torch.zeros((len(sequences), keep), dtype=torch.bool)
    for row, (prompt, candidate) in enumerate(sequences):
        ids = prompt + candidate
        input_ids[row, length - len(ids) :] = torch.tensor(ids)
        attention[row, length - len(ids) :] = 1
        targets[row, keep - len(candidate) :] = torch.tensor(candidate)
        candidate_mask[row, keep - len(candidate) :] = True
    positions = (attention.cumsum(dim=1) - 1).clamp(min=0)
    return Batch(
        input_ids=input_ids.to(device),
        attention_mask=attention.to(device),
        position_ids=positions.to(device),
        candidate_mask=candidate_mask.to(device),
        targets=targets.to(device),
        owner=torch.tensor(owners, device=device),
        slot=torch.tensor(slots, device=device),
        labels=torch.tensor([item.label for item in items], device=device),
        num_candidates=max(len(item.candidates) for item in items),
    )


def _collate_shared_prompt(items: Sequence[Encoded], pad_id: int, device: torch.device) -> Batch:
    length = max(len(item.prompt) for item in items)
    width = max(len(item.candidates) for item in items)
    input_ids = torch.full((len(items), length), pad_id, dtype=torch.long)
    attention = torch.zeros((len(items), length), dtype=torch.long)
    targets = torch.full((len(items), width), pad_id, dtype=torch.long)
    candidate_mask = torch.zeros((len(items), width), dtype=torch.bool)
    for row, item in enumerate(items):
        input_ids[row, length - len(item.prompt) :] = torch.tensor(item.prompt)
        attention[row, length - len(item.prompt) :] = 1
        targets[row, : len(item.candidates)] = torch.tensor([c[0] for c in item.candidates])
        candidate_mask[row, : len(item.candidates)] = True
    rows = torch.arange(len(items), device=device)
    return Batch(
        input_ids=input_ids.to(device),
        attention_mask=attention.to(device),
        position_ids=(attention.cumsum(dim=1) - 1).clamp(min=0).to(device),
        candidate_mask=candidate_mask.to(device),
        targets=targets.to(device),
        owner=rows,
        slot=rows,
        labels=torch.tensor([item.label for item in items], device=device),
        num_candidates=width,
        shared_prompt=True,
    )


def _next_token_logprobs(model, batch: Batch) -> torch.Tensor:
    """[examples, candidates]: log-probability of each single-token candidate after the prompt."""
    logits = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=batch.position_ids,
        logits_to_keep=1,
    ).logits[:, -1]
    picked = torch.log_softmax(logits.float(), dim=-1).gather(-1, batch.targets)
    return picked.masked_fill(~batch.candidate_mask, float("-inf"))


def token_logprobs(model, batch: Batch) -> torch.Tensor:
    """Log-probability of each candidate token, [sequences, keep] (0 where not a candidate)."""
    keep = batch.targets.shape[1]
    # Logits at the `keep` positions before the last predict the last `keep` tokens.
    logits = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=batch.position_ids,
        logits_to_keep=keep + 1,
    ).logits[:, :-1]
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    picked = logprobs.gather(-1, batch.targets.unsqueeze(-1)).squeeze(-1)
    return picked * batch.candidate_mask


def candidate_scores(model, batch: Batch, reduction: str = "mean") -> torch.Tensor:
    """[examples, num_candidates] scores; missing candidates (ARC's 3-option items) are -inf."""
    if batch.shared_prompt:
        return _next_token_logprobs(model, batch)  # one token: its mean and its sum coincide
    token_scores = token_logprobs(model, batch)
    totals = token_scores.sum(dim=1)
    if reduction == "mean":
        totals = totals / batch.candidate_mask.sum(dim=1)
    scores = torch.full(
        (len(batch.labels), batch.num_candidates), float("-inf"), device=totals.device
    )
    scores[batch.owner, batch.slot] = totals
    return scores


def classification_loss(model, batch: Batch, reduction: str = "mean") -> torch.Tensor:
    """MeZO's training loss: cross-entropy over the candidates' scores."""
    return F.cross_entropy(candidate_scores(model, batch, reduction), batch.labels)


def gold_lm_loss(model, batch: Batch) -> torch.Tensor:
    """Language-modelling loss on the gold candidate's tokens only."""
    if batch.shared_prompt:
        gold = _next_token_logprobs(model, batch).gather(-1, batch.labels[:, None])
        return -gold.mean()
    token_scores = token_logprobs(model, batch)
    gold = batch.slot == batch.labels[batch.owner]
    return -token_scores[gold].sum() / batch.candidate_mask[gold].sum()


def training_loss(model, batch: Batch, objective: str, reduction: str = "mean") -> torch.Tensor:
    if objective == "lm":
        return gold_lm_loss(model, batch)
    return classification_loss(model, batch, reduction)


def loss_count(items: Sequence[Encoded], objective: str) -> int:
    """What training_loss averages over, counted without a forward: the examples (ce), or the
    gold candidates' tokens (lm). A batch's loss is the count-weighted mean of its parts'."""
    if objective == "lm":
        return sum(len(item.candidates[item.label]) for item in items)
    return len(items)


@torch.inference_mode()
def predict(
    model, items: Sequence[Encoded], pad_id: int, batch_size: int, reduction: str = "mean"
) -> list[int]:
    """The best-scoring candidate of each example, batching examples of similar length."""
    device = next(model.parameters()).device
    order = sorted(range(len(items)), key=lambda i: len(items[i].prompt))
    predictions = [0] * len(items)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        chosen = [items[i] for i in chunk]
        if all(len(c) == 1 for item in chosen for c in item.candidates):
            scores = candidate_scores(model, collate(chosen, pad_id, device), reduction)
        else:
            scores = cached_prompt_scores(model, chosen, pad_id, reduction)
        best = scores.argmax(dim=1).tolist()
        for index, choice in zip(chunk, best, strict=True):
            predictions[index] = choice
    return predictions


def predict_in_eval_mode(
    model, tokenizer, items: Sequence[Encoded], batch_size: int, reduction: str = "mean"
) -> list[int]:
    """predict() with dropout off, leaving the model in the mode it was in."""
    was_training = model.training
    model.eval()
    predictions = predict(model, items, tokenizer.pad_token_id, batch_size, reduction)
    model.train(was_training)
    return predictions


def evaluate(
    model,
    tokenizer,
    examples: Sequence[Example] | Sequence[Encoded],
    spec: TaskSpec | None = None,
    *,
    batch_size: int,
    reduction: str = "mean",
    max_length: int = 512,
) -> dict[str, float]:
    """The task's metrics (accuracy only without a spec) on `examples`, `batch_size` examples
    at a time (the trainer's EVAL_BS)."""
    items = list(examples)
    if items and isinstance(items[0], Example):
        items = encode(tokenizer, items, max_length)
    predictions = predict_in_eval_mode(model, tokenizer, items, batch_size, reduction)
    labels = [item.label for item in items]
    if spec is not None:
        return spec.compute_metrics(predictions, labels)
    return {"accuracy": accuracy(predictions, labels)}
