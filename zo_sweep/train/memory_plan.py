"""A job's memory per device, planned before it runs, from its model's architecture.

What the trainer holds (zo_sweep.train.model and steppers), per method:

- zo: every weight trains. `fp32_masters` keeps 4-byte weights (the forward casts one layer at
  a time under autocast; under inference mode nothing is cached); `inference` keeps them in the
  forward's dtype and perturbs each layer as it runs (a slab of a layer's rows extra).
  No gradients, no optimizer state; the noise is drawn into two buffers of a block.
- zo_lora: the frozen base in the forward's dtype, fp32 adapters (as in every LoRA run),
  MeZO's buffers.
- fo_full: fp32 weights, fp32 gradients and AdamW's two fp32 moments (16 bytes a parameter);
  a half-precision forward saves a half copy of each weight for the backward (autocast).
- fo_lora: the frozen base in the forward's dtype; adapters, their gradients and moments.

Activations are bounded from the longest batch (`seq_len`, the trainer's max_length): a
training forward saves per token and layer about 6h + 4a + 4i values for a full backward (h the
hidden size, a the attention width, i the MLP's), 3h + 4a + 3i when only adapters train (frozen
linears keep no input), measured with saved-tensor hooks on Llama layers; an inference forward
holds one layer's working set, about 2h + 3i a token. Gradients and saved activations peak at
different moments (the backward frees one as it fills the other), so the peak takes the larger.

A job on N devices is sharded (FSDP2: one unit per decoder layer, the embedding and the LM head
units of their own, the root for the rest; zo_sweep.train.sharding): weights, gradients and
optimizer state divide by N, each device reads 1/N of the batch, and it gathers two units at a
time (the one running and the next one, prefetched: at most the embedding or the head and a
layer) beside the root (the final norm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zo_sweep.train.architecture import Architecture
from zo_sweep.train.settings import FP32_MASTERS, INFERENCE
from zo_sweep.train.work_sizes import NOISE_BLOCK, NOISE_BUFFERS_PER_WORKER, PERTURBED_SLAB

METHODS = ("zo", "zo_lora", "fo_full", "fo_lora")
PRECISIONS = {INFERENCE: "inference memory", FP32_MASTERS: "fp32 masters"}
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
FP32 = 4
GIB = 2**30
# Beyond the tensors: a GPU's CUDA context and allocator slack; on the CPU, the process itself
# (Python, torch, transformers, the tokenizer and the data), measured on the embedded model.
RUNTIME_BYTES = {"cuda": 1 * GIB, "cpu": 0.45 * GIB}
# MeZO's noise workers: one on a GPU, a thread per core on the CPU (planned as two).
NOISE_WORKERS = {"cuda": 1, "cpu": 2}
# Values a token keeps per decoder layer, as multiples of (hidden, attention width, MLP width).
SAVED_FULL = (6, 4, 4)
SAVED_ADAPTERS = (3, 4, 3)
WORKING_SET = (2, 0, 3)
# Names of the temporaries; the backward's and the step's never coexist.
GATHERED, PERTURBED, NOISE = "gathered", "perturbed layer", "noise buffers"
HALF_COPIES, UPDATE = "half copies", "update"


@dataclass(frozen=True)
class JobShape:
    """What a job runs, as far as memory goes."""

    method: str  # zo, zo_lora, fo_full, fo_lora
    dtype: str = "bfloat16"  # the forward's, resolved (`auto` is bfloat16 on a GPU)
    precision: str = FP32_MASTERS  # MeZO's weights: inference (forward dtype) or fp32_masters
    batch: int = 16  # examples per step
    candidates: int = 1  # sequences per example in a forward (1: single-token candidates)
    candidate_tokens: int = 1  # the longest candidate: the positions the LM head runs on
    seq_len: int = 512  # the longest sequence (max_length)
    eval_batch: int = 32
    devices: int = 1  # devices per job (ranks of a sharded job)
    device_type: str = "cuda"
    lora_rank: int = 8
    lora_targets: tuple[str, ...] | str = ("q_proj", "v_proj")
    optimizer: str = "adamw"
    grad_accum: int = 1
    grad_ckpt: bool = False

    @property
    def label(self) -> str:
        """`zo (fp32 masters)`: the method, and MeZO's precision where it matters."""
        fp32_forward = DTYPE_BYTES[self.dtype] == FP32  # both options keep fp32 weights
        if self.method != "zo" or fp32_forward:
            return self.method
        return f"{self.method} ({PRECISIONS[self.precision]})"


@dataclass(frozen=True)
class MemoryPlan:
    """Bytes per device. `activations` is None when only the parameter count is known."""

    shape: JobShape
    architecture: Architecture
    weights: float
    gradients: float
    optimizer: float
    activations: float | None
    temporaries: dict[str, float]  # gathered shards, half copies, MeZO's buffers, the update's
    runtime: float

    @property
    def per_device(self) -> float:
        """The peak on one device. The backward frees saved activations (and autocast's half
        copies) as it fills the gradients, and the optimizer's step runs after both: on a GPU,
        whose caching allocator reuses the freed blocks, the peak is the larger phase on top of
        what stays; the CPU's allocator keeps much of what the backward freed (measured: the
        embedded model's peak holds both phases)."""
        extra = dict(self.temporaries)
        backward = (self.activations or 0.0) + extra.pop(HALF_COPIES, 0.0)
        step = self.gradients + extra.pop(UPDATE, 0.0)
        stays = self.weights + self.optimizer + sum(extra.values()) + self.runtime
        phases = max(backward, step) if self.shape.device_type == "cuda" else backward + step
        return stays + phases

    @property
    def total(self) -> float:
        return self.per_device * self.shape.devices

    @property
    def complete(self) -> bool:
        return self.activations is not None


def plan_memory(architecture: Architecture, shape: JobShape) -> MemoryPlan:
    """The peak bytes per device of a job of `shape` on a model of `architecture`."""
    if shape.method not in METHODS:
        raise ValueError(f"method {shape.method!r}: use one of {', '.join(METHODS)}")
    if shape.precision not in PRECISIONS:
        raise ValueError(f"precision {shape.precision!r}: use one of {', '.join(PRECISIONS)}")
    arch, devices = architecture, shape.devices
    half = DTYPE_BYTES[shape.dtype]
    lora = shape.method.endswith("lora")
    first_order = shape.method.startswith("fo")
    trainable = _adapter_params(arch, shape) if lora else arch.params
    frozen = arch.params if lora else 0
    # Trainable weights are fp32, but for MeZO's inference-memory option.
    masters = not (shape.method == "zo" and shape.precision == INFERENCE)
    states = {"adamw": 2 * FP32, "sgd": 0}[shape.optimizer] if first_order else 0
    return MemoryPlan(
        shape=shape,
        architecture=arch,
        weights=(frozen * half + trainable * (FP32 if masters else half)) / devices,
        gradients=trainable * FP32 / devices if first_order else 0.0,
        optimizer=trainable * states / devices,
        activations=_activations(arch, shape),
        temporaries=_temporaries(arch, shape, trainable),
        runtime=RUNTIME_BYTES[shape.device_type],
    )


def _adapter_params(arch: Architecture, shape: JobShape) -> int:
    targets = shape.lora_targets
    counted = arch.lora_params(
        targets if targets == "all-linear" else list(targets), shape.lora_rank
    )
    # Without the architecture, a bound: adapters of rank r on every layer stay far below 1%.
    return counted if counted is not None else math.ceil(arch.params / 100)


def _temporaries(arch: Architecture, shape: JobShape, trainable: int) -> dict[str, float]:
    """What a step holds beside the stored tensors and the activations, by what holds it."""
    half = DTYPE_BYTES[shape.dtype]
    layer = arch.layer_params or 0
    parts: dict[str, float] = {}
    if shape.devices > 1:
        # FSDP2 gathers a unit and the next one prefetched (the largest pair: a layer and the
        # embedding or the head), beside the root, gathered for the whole forward.
        edge = arch.edge_params or 0
        pair = layer + max(layer, edge)
        parts[GATHERED] = (pair + (arch.rest_params or 0)) * half
        if shape.method.startswith("fo"):
            parts[GATHERED] += pair * FP32  # the units' unsharded gradients, reduce-scattered
    if shape.method == "zo" and shape.precision == INFERENCE and half < FP32:
        # A linear layer runs on a slab of its perturbed rows at a time (perturbed_forward).
        largest = arch.largest_param or layer
        parts[PERTURBED] = min(largest, PERTURBED_SLAB[shape.device_type]) * half
    if shape.method.startswith("zo"):
        buffers = NOISE_WORKERS[shape.device_type] * NOISE_BUFFERS_PER_WORKER
        parts[NOISE] = buffers * NOISE_BLOCK[shape.device_type] * FP32
    if shape.method == "fo_full" and half < FP32 and shape.devices == 1:
        parts[HALF_COPIES] = arch.params * half  # autocast saves them for the backward
    if shape.method.startswith("fo") and shape.optimizer == "adamw":
        parts[UPDATE] = _update_temporary(arch, shape, trainable)
    return parts


def _update_temporary(arch: Architecture, shape: JobShape, trainable: int) -> float:
    """AdamW's step: on a GPU it runs over all tensors at once (foreach) and holds a copy of
    the second moments; on the CPU it goes tensor by tensor, with two temporaries of each
    (the square root of the second moment, then its bias correction)."""
    if shape.device_type == "cuda":
        return trainable * FP32 / shape.devices
    largest = arch.largest_param if shape.method == "fo_full" else None
    return 2 * (largest or trainable) * FP32


def _activations(arch: Architecture, shape: JobShape) -> float | None:
    """A bound on the activations of a training step or an evaluation batch, whichever is more."""
    if not arch.shape_known:
        return None
    per_device = math.ceil(shape.batch / shape.devices)
    train_tokens = math.ceil(per_device / shape.grad_accum) * shape.candidates * shape.seq_len
    eval_tokens = math.ceil(shape.eval_batch / shape.devices) * shape.candidates * shape.seq_len
    evaluation = _working_set(arch, shape, eval_tokens) + _kv_cache(arch, shape, eval_tokens)
    if shape.method.startswith("zo"):
        return max(_working_set(arch, shape, train_tokens), evaluation)
    saved = SAVED_ADAPTERS if shape.method == "fo_lora" else SAVED_FULL
    if shape.grad_ckpt:  # each layer's input, then one layer recomputed at a time
        stored = train_tokens * arch.hidden * FP32 * arch.layers
        stored += _per_token(arch, shape, saved) * train_tokens
    else:
        stored = _per_token(arch, shape, saved) * train_tokens * arch.layers
    return max(stored + _working_set(arch, shape, train_tokens), evaluation)


def _per_token(arch: Architecture, shape: JobShape, counts: tuple[int, int, int]) -> float:
    """Bytes a token holds in one layer: the residual stream and norms in fp32, the rest in the
    forward's dtype."""
    hidden, attention, mlp = counts
    half = DTYPE_BYTES[shape.dtype]
    return (
        hidden * arch.hidden * FP32 + (attention * arch.attention + mlp * arch.intermediate) * half
    )


def _working_set(arch: Architecture, shape: JobShape, tokens: int) -> float:
    """One layer's temporaries over `tokens`, and the log-probabilities of the kept positions."""
    sequences = math.ceil(tokens / shape.seq_len)
    logits = sequences * shape.candidate_tokens * arch.vocab * FP32 * 2  # fp32, log-softmax
    return _per_token(arch, shape, WORKING_SET) * tokens + logits


def _kv_cache(arch: Architecture, shape: JobShape, tokens: int) -> float:
    """Multi-token candidates are scored from the prompt's key-value cache."""
    if shape.candidates == 1:
        return 0.0
    return 2 * arch.kv * arch.layers * tokens * DTYPE_BYTES[shape.dtype]
