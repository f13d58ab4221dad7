"""Evaluation that shares each prompt's forward gives the scores of one sequence per candidate."""

from __future__ import annotations

import pytest
import torch

from zo_sweep.data.tasks import Example
from zo_sweep.train.model import load_model
from zo_sweep.train.prompt_cache import cached_prompt_scores, length_groups
from zo_sweep.train.scoring import candidate_scores, collate, encode, predict

EXAMPLES = [
    Example("The man broke his toe. What was the cause?", [" He dropped a hammer.", " No."], 0),
    Example("It rained all day so", [" the river rose over the old bridge", " we sang"], 1),
    Example("Which is a gas?", [" steam", " a block of ice", " sand", " wet clay pots"], 2),
    Example("Pick one:", [" A", " the long answer that runs on for many more tokens", " B"], 0),
]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cached_prompt_scores_equal_one_sequence_per_candidate(tiny_model_dir, reduction) -> None:
    model, tokenizer = load_model(str(tiny_model_dir))
    model.eval()
    items = encode(tokenizer, EXAMPLES)
    assert any(len(c) > 1 for item in items for c in item.candidates)
    with torch.inference_mode():
        plain = candidate_scores(
            model, collate(items, tokenizer.pad_token_id, torch.device("cpu")), reduction
        )
    shared = cached_prompt_scores(model, items, tokenizer.pad_token_id, reduction)
    assert torch.isinf(plain).equal(torch.isinf(shared))
    finite = torch.isfinite(plain)
    torch.testing.assert_close(shared[finite], plain[finite], atol=1e-4, rtol=1e-4)


def test_predictions_use_the_shared_prompt_and_agree(tiny_model_dir) -> None:
    model, tokenizer = load_model(str(tiny_model_dir))
    model.eval()
    items = encode(tokenizer, EXAMPLES)
    with torch.inference_mode():
        batch = collate(items, tokenizer.pad_token_id, torch.device("cpu"))
        expected = candidate_scores(model, batch).argmax(dim=1).tolist()
    assert predict(model, items, tokenizer.pad_token_id, batch_size=2) == expected


def test_length_groups_cover_every_index_and_split_only_where_padding_costs_more() -> None:
    lengths = [9, 2, 5, 20, 2, 6, 5]
    groups = length_groups(lengths, call_cost=4)
    assert sorted(i for group in groups for i in group) == list(range(len(lengths)))
    assert [[lengths[i] for i in group] for group in groups] == [[2, 2], [5, 5, 6], [9], [20]]
    assert length_groups(lengths, call_cost=1000) == [[1, 4, 2, 6, 5, 0, 3]]
