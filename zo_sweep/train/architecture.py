"""A model's shape, counted exactly from its config.json on the meta device (no weights loaded).

The memory plan (zo_sweep.train.memory_plan) needs what a model holds, not what it says: the
parameters as the model class builds them (tied embeddings counted once), the largest decoder
layer and the larger of the embedding and the LM head (the units a sharded job gathers one or two
at a time), the part outside the decoder layers, the sizes activations scale with, and every
linear layer a LoRA adapter may wrap. Building the architecture on the meta device gives all of these in a second, for any
model class transformers knows, without a byte of weights.

A model's config.json is read from a local folder, the embedded model's cache, or the Hugging
Face cache, never from the network; where none has it, the model's YAML `params` figure gives
its size alone (`Architecture.from_params`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from zo_sweep import embedded

CONFIG_FILE = "config.json"
# The output layer: peft's `all-linear` leaves it out, and so does the plan.
OUTPUT_LAYERS = ("lm_head",)


@dataclass(frozen=True)
class Linear:
    """Linear layers of one name and shape: `count` of them, `fan_in` x `fan_out` each."""

    name: str  # the module's own name, e.g. q_proj
    fan_in: int
    fan_out: int
    count: int


@dataclass(frozen=True)
class Architecture:
    """What a model holds. Every size but `params` is None when only the parameter count is known."""

    params: int
    source: str  # where the figures come from: a config.json, or the model's YAML `params`
    layers: int | None = None
    hidden: int | None = None
    attention: int | None = None  # query width: heads x head size
    kv: int | None = None  # key (and value) width: key-value heads x head size
    intermediate: int | None = None
    vocab: int | None = None
    layer_params: int | None = None  # the largest decoder layer
    root_params: int | None = None  # everything outside the decoder layers
    edge_params: int | None = None  # the larger of the embedding and the LM head (one if tied)
    rest_params: int | None = None  # outside the layers, the embedding and the head: the norm
    largest_param: int | None = None  # the largest single tensor
    linears: tuple[Linear, ...] = ()

    @classmethod
    def from_params(cls, params: int, source: str) -> Architecture:
        return cls(params=int(params), source=source)

    @property
    def shape_known(self) -> bool:
        return self.layers is not None

    def lora_params(self, targets: list[str] | str, rank: int) -> int | None:
        """Parameters of the LoRA adapters peft adds on `targets` (module names or all-linear)."""
        if not self.shape_known:
            return None
        wrapped = [
            linear
            for linear in self.linears
            if (targets == "all-linear" and linear.name not in OUTPUT_LAYERS)
            or linear.name in targets
        ]
        return sum(linear.count * rank * (linear.fan_in + linear.fan_out) for linear in wrapped)


def find_config(model_id: str) -> Path | None:
    """The model's config.json on this machine: its folder, the embedded cache or the hub cache."""
    if model_id == embedded.NAME:
        candidate = embedded.model_dir() / CONFIG_FILE
        return candidate if candidate.is_file() else None
    folder = Path(model_id).expanduser()
    if folder.is_dir():
        candidate = folder / CONFIG_FILE
        return candidate if candidate.is_file() else None
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(model_id, CONFIG_FILE)
    except Exception:  # not a valid hub id: no cache entry either
        return None
    return Path(cached) if isinstance(cached, str) else None


def model_architecture(model_id: str, params: int | None = None) -> Architecture | None:
    """The model's architecture from its config.json if this machine has it (and transformers
    can build it), else its size from `params` (the model YAML's figure), else None."""
    config = find_config(model_id)
    if config is not None:
        try:
            return architecture_from_config(config)
        except (ValueError, KeyError, TypeError, OSError):
            pass  # a model class this transformers does not know: its size is still known
    if params:
        return Architecture.from_params(params, f"params: {int(params)} in the model's config")
    return None


def architecture_from_config(path: str | Path) -> Architecture:
    """Count a config.json's model exactly, built on the meta device."""
    path = Path(path)
    return _cached_architecture(str(path.resolve()), path.stat().st_mtime_ns)


@cache
def _cached_architecture(path: str, _mtime: int) -> Architecture:
    return architecture_from_dict(json.loads(Path(path).read_text()), source=path)


def architecture_from_dict(config: dict[str, Any], source: str = CONFIG_FILE) -> Architecture:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    values = dict(config)
    model_type = values.pop("model_type")
    hf_config = AutoConfig.for_model(model_type, **values)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(hf_config)
    return _measure(model, hf_config, source)


def _measure(model: Any, config: Any, source: str) -> Architecture:
    layers = _decoder_layers(model)
    in_layers = {id(p) for layer in layers for p in layer.parameters()}
    edges = [
        e for e in (model.get_input_embeddings(), model.get_output_embeddings()) if e is not None
    ]
    in_edges = {id(p) for edge in edges for p in edge.parameters()}
    unique = list(model.parameters())  # each tied tensor once
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    heads = text.num_attention_heads
    head_size = getattr(text, "head_dim", None) or text.hidden_size // heads
    return Architecture(
        params=sum(p.numel() for p in unique),
        source=source,
        layers=len(layers),
        hidden=text.hidden_size,
        attention=heads * head_size,
        kv=(getattr(text, "num_key_value_heads", None) or heads) * head_size,
        intermediate=getattr(text, "intermediate_size", None) or 4 * text.hidden_size,
        vocab=text.vocab_size,
        layer_params=max(sum(p.numel() for p in layer.parameters()) for layer in layers),
        root_params=sum(p.numel() for p in unique if id(p) not in in_layers),
        edge_params=max(sum(p.numel() for p in edge.parameters()) for edge in edges),
        rest_params=sum(p.numel() for p in unique if id(p) not in in_layers | in_edges),
        largest_param=max(p.numel() for p in unique),
        linears=_linears(model),
    )


def _decoder_layers(model: Any) -> list[Any]:
    """The repeated blocks: the longest ModuleList of the model (`model.layers` in Llama)."""
    import torch

    lists = [m for m in model.modules() if isinstance(m, torch.nn.ModuleList)]
    if not lists:
        raise ValueError(f"{type(model).__name__}: no decoder layers found")
    return list(max(lists, key=len))


def _linears(model: Any) -> tuple[Linear, ...]:
    import torch

    counts: dict[tuple[str, int, int], int] = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            key = (name.rsplit(".", 1)[-1], module.in_features, module.out_features)
            counts[key] = counts.get(key, 0) + 1
    return tuple(Linear(name, fan_in, fan_out, n) for (name, fan_in, fan_out), n in counts.items())
