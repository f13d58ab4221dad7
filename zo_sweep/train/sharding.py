"""The model sharded over the ranks with FSDP2 (`torch.distributed.fsdp.fully_shard`).

One FSDP unit per decoder layer, one for the embedding and one for the LM head (one for both
where they share their weight, as SmolLM2's do), and the root for the rest (the final norm), so
that a rank holds 1/N of every weight, gradient and AdamW moment, and gathers one unit's full
weights at a time: each unit's are freed again after its forward (`reshard_after_forward`) and
gathered once more for its backward. The embedding and the LM head, each as large as a layer or
larger (Llama-3-70B's: 1.05B parameters each, a layer 0.86B), are gathered only while they run,
never for the whole forward as the root's are.

Each rank's loss is already its share of the batch's loss (steppers.FirstOrderStepper), so
gradients are summed over the ranks, not averaged. On a GPU in bf16 or fp16, the ranks
gather the weights in the forward's dtype and reduce gradients in fp32; the fp32 shards stay
the master weights the optimizer updates.
"""

from __future__ import annotations

import torch
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import DTensor

from zo_sweep.train.distributed import Ranks


def decoder_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The model's repeated blocks: the classes transformers never splits across devices
    (`_no_split_modules`, e.g. LlamaDecoderLayer), found below a peft wrapper too."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    names = set(getattr(base, "_no_split_modules", None) or ())
    return [module for module in model.modules() if type(module).__name__ in names]


def edge_units(model: torch.nn.Module) -> list[list[torch.nn.Module]]:
    """The embedding and the LM head as FSDP units: one each, or one of both where they share
    their weight (a parameter belongs to one unit)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    embedding, head = base.get_input_embeddings(), base.get_output_embeddings()
    if head is None or head is embedding:
        return [[embedding]]
    if getattr(head, "weight", None) is embedding.weight:
        return [[embedding, head]]
    return [[embedding], [head]]


def shard_model(
    model: torch.nn.Module, ranks: Ranks, device: torch.device, compute: torch.dtype
) -> torch.nn.Module:
    """Shard `model` over the ranks, in place: each rank keeps its shards on `device`.

    The model may come whole on the CPU: each unit's weights move to `device` as it is
    sharded, so a GPU never holds more than one unit whole."""
    mesh = init_device_mesh(device.type, (ranks.world,))
    precision = MixedPrecisionPolicy()
    if compute != torch.float32:
        precision = MixedPrecisionPolicy(param_dtype=compute, reduce_dtype=torch.float32)
    for unit in [*([layer] for layer in decoder_layers(model)), *edge_units(model)]:
        fully_shard(unit, mesh=mesh, reshard_after_forward=True, mp_policy=precision)
    fully_shard(model, mesh=mesh, reshard_after_forward=True, mp_policy=precision)
    for module in model.modules():
        if isinstance(module, FSDPModule):
            module.set_gradient_divide_factor(1.0)
            module.set_force_sum_reduction_for_comms(True)  # gloo has no scaled sum
    return model


def is_sharded(model: torch.nn.Module) -> bool:
    return isinstance(model, FSDPModule)


def local(tensor: torch.Tensor) -> torch.Tensor:
    """A rank's own part of a sharded parameter (the tensor itself when not sharded)."""
    return tensor.to_local() if isinstance(tensor, DTensor) else tensor
