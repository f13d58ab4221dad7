"""The model of a run on N ranks: rank 0 reads the weights, every rank keeps only its shards.

Loading the whole model on every rank would take N copies of it in the node's memory (Mistral-7B
on 4 ranks: 112 GB; Llama-3-70B's bf16 weights, 141 GB each). Instead every rank builds the
model's skeleton without weights (parameters on the meta device, buffers real), adds its LoRA
adapters, and shards it (zo_sweep.train.sharding); rank 0 alone loads the model as a single
process does (the same weights and the same adapters, seeded alike), and its weights are
broadcast tensor by tensor, each rank keeping its shard of each
(`set_model_state_dict(..., broadcast_from_rank0=True)`). Rank 0 holds one whole copy on the
CPU while it loads; the others never hold more than their shards and one tensor.
"""

from __future__ import annotations

import torch
from accelerate import init_empty_weights
from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from zo_sweep.train.distributed import Ranks
from zo_sweep.train.model import (
    load_run_model,
    pick_dtype,
    resolve_model_path,
    storage_dtype,
    with_run_adapters,
)
from zo_sweep.train.settings import TrainSettings
from zo_sweep.train.sharding import shard_model
from zo_sweep.train.zo_weights import trains_in_forward_dtype

BROADCAST = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True)


def load_sharded_run_model(
    settings: TrainSettings, device: torch.device, ranks: Ranks
) -> tuple[torch.nn.Module, AutoTokenizer]:
    """The run's model sharded over the ranks onto `device`, with its tokenizer."""
    compute = pick_dtype(settings.dtype, device)
    whole = None
    if ranks.main:
        whole, tokenizer = load_run_model(settings, device, sharded=True)
        weights = whole.state_dict()
    else:
        tokenizer = _tokenizer(settings.model)
        weights = {}
    model = _skeleton(settings, compute)
    shard_model(model, ranks, device, compute)
    _materialize(model, device)
    set_model_state_dict(model, weights, options=BROADCAST)
    del whole, weights
    return model, tokenizer


def _materialize(model: torch.nn.Module, device: torch.device) -> None:
    """Room for the skeleton's shards on `device` (`to_empty`), keeping its buffers (rotary
    frequencies, which no state dict holds) and a weight two modules share (tied embeddings)
    one parameter: `to_empty` gives each module its own."""
    kept = {name: buffer.detach().clone() for name, buffer in model.named_buffers()}
    uses: dict[int, list[tuple[torch.nn.Module, str]]] = {}
    for module in model.modules():
        for name, param in module._parameters.items():
            if param is not None:
                uses.setdefault(id(param), []).append((module, name))
    model.to_empty(device=device)
    for (owner, owned), *others in uses.values():
        for module, name in others:
            module._parameters[name] = owner._parameters[owned]
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            buffer.copy_(kept[name])


def _skeleton(settings: TrainSettings, compute: torch.dtype) -> PreTrainedModel:
    """The run's model without weights: parameters on the meta device, buffers real, LoRA
    adapters where the run trains them."""
    source = resolve_model_path(settings.model)
    config = AutoConfig.from_pretrained(source)
    # What rank 0 loads (model.load_run_model): MeZO's weights may be held in the forward's dtype.
    masters = not trains_in_forward_dtype(settings, compute)
    dtype = storage_dtype(compute, lora=settings.lora, masters=masters)
    with init_empty_weights(include_buffers=False):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation="sdpa")
    model.tie_weights()  # what init_empty_weights leaves untied (from_pretrained ties them)
    model.config.use_cache = False
    return with_run_adapters(model, settings, masters=masters)


def _tokenizer(model_id: str) -> AutoTokenizer:
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(model_id))
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
