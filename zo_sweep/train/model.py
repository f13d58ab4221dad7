"""Loading a causal LM and its tokenizer, and wrapping it with LoRA adapters.

Precision. The forward runs in the run's dtype. Where the weights that train are stored is
MeZO's `zo_weights` setting (zo_sweep.train.zo_weights):
- in the forward's dtype (`masters=False`: MeZO's default, the memory of inference): every
  weight is bf16 or fp16 and the forward runs as inference runs;
- as fp32 master weights (`masters=True`: first-order training, and MeZO's `fp32_masters`):
  in a bf16 or fp16 run the forward runs under autocast, which casts each fp32 weight to half
  precision as the layer uses it.
Frozen weights (the base model under LoRA adapters) are always stored in the forward's dtype,
so LoRA runs keep inference's memory. docs/performance.md gives the memory of each option.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from zo_sweep import embedded
from zo_sweep.errors import ConfigError, first_line
from zo_sweep.train.errors import ModelNotFound
from zo_sweep.train.zo_weights import trains_in_forward_dtype

if TYPE_CHECKING:
    from zo_sweep.train.settings import TrainSettings

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def pick_device(device: str | torch.device | None = None) -> torch.device:
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def pick_dtype(dtype: str | None, device: torch.device) -> torch.dtype:
    """The forward's precision. `auto`: bf16 on a GPU, fp32 on the CPU (where half precision
    is slow on most processors; asked for, it runs, correct but slow)."""
    if dtype in (None, "", "auto"):
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if dtype not in DTYPES:
        raise ConfigError(f"DTYPE={dtype!r}: use one of auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def storage_dtype(compute: torch.dtype, *, lora: bool, masters: bool = True) -> torch.dtype:
    """Weights every parameter of the model is loaded in: fp32 masters when all of them train
    as masters, the forward's dtype when they do not or when only adapters train (the frozen
    base never changes)."""
    return torch.float32 if masters and not lora else compute


def autocast_forward(model: torch.nn.Module, compute: torch.dtype) -> None:
    """Run the model's forward under autocast in `compute` (a no-op for fp32)."""
    if compute == torch.float32:
        return
    forward = model.forward
    device_type = next(model.parameters()).device.type

    @functools.wraps(forward)
    def forward_in_half(*args, **kwargs):
        with torch.autocast(device_type=device_type, dtype=compute):
            return forward(*args, **kwargs)

    model.forward = forward_in_half


def resolve_model_path(model_id: str) -> str:
    """The embedded default's cached folder, a local folder, or a hub id known to exist."""
    if model_id == embedded.NAME:
        return str(embedded.ensure_embedded_model())
    if not Path(model_id).exists():
        _check_hub_model(model_id)
    return model_id


def _check_hub_model(model_id: str) -> None:
    """Fail fast with one line, instead of the hub client's minute of retries, when a hub id
    is neither cached nor reachable."""
    from huggingface_hub import HfApi, try_to_load_from_cache
    from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError

    try:
        if isinstance(try_to_load_from_cache(model_id, "config.json"), str):
            return
        HfApi().model_info(model_id, timeout=10)
    except HFValidationError as err:
        raise ModelNotFound(
            f"model '{model_id}' not found (not a local folder, and not a valid hub id)"
        ) from err
    except GatedRepoError as err:
        raise ModelNotFound(
            f"model '{model_id}' is gated: accept its licence on the hub and log in "
            "(huggingface-cli login)"
        ) from err
    except RepositoryNotFoundError as err:
        raise ModelNotFound(
            f"model '{model_id}' not found (not a local folder, and no such model on the hub)"
        ) from err
    except Exception as err:  # any network failure: DNS, proxy, timeout, offline mode
        raise ModelNotFound(_not_found_message(model_id, err)) from err


def load_model(
    model_id: str,
    dtype: str = "auto",
    device: str | torch.device | None = None,
    *,
    lora: bool = False,
    masters: bool = True,
    sharded: bool = False,
) -> tuple[PreTrainedModel, AutoTokenizer]:
    """A causal LM (SDPA attention, cache off) on `device`, its forward in `dtype` (fp32 master
    weights, see the module's note), and its tokenizer with a pad token. `lora`: only adapters
    will train, so the base weights are kept in the forward's dtype. `masters`: what trains is
    held as fp32 master weights (see the module's note); False: every weight in the forward's
    dtype, as inference holds it. `sharded`: the model stays
    on the CPU, to be sharded onto `device` (sharding.py), whose FSDP2 policy then runs the
    forward in `dtype` instead of autocast."""
    device = pick_device(device)
    compute = pick_dtype(dtype, device)
    source = resolve_model_path(model_id)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(
            source,
            dtype=storage_dtype(compute, lora=lora, masters=masters),
            attn_implementation="sdpa",
        )
    except (OSError, ValueError) as err:
        raise ModelNotFound(_not_found_message(model_id, err)) from err
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    # Training and scoring run whole sequences at once: a KV cache only costs memory.
    model.config.use_cache = False
    if not sharded:
        model = model.to(device)
        if masters:
            autocast_forward(model, compute)
    return model, tokenizer


def _not_found_message(model_id: str, err: Exception) -> str:
    if Path(model_id).exists():
        return f"model folder '{model_id}' could not be loaded: {first_line(err)}"
    return (
        f"model '{model_id}' not found (not a local folder, not in the Hugging Face cache, "
        "and the hub is unreachable)"
    )


def add_lora(
    model: PreTrainedModel,
    *,
    rank: int,
    alpha: float,
    dropout: float,
    targets: list[str] | str,
    masters: bool = True,
) -> PreTrainedModel:
    """Freeze the base model and add trainable LoRA adapters on `targets` (peft): fp32 master
    weights, or (`masters=False`) in the base model's dtype."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
    try:
        model = get_peft_model(model, config)
    except ValueError as err:
        raise ConfigError(
            f"LORA_TARGETS={targets} do not fit this model: {first_line(err)}"
        ) from err
    dtype = torch.float32 if masters else next(model.parameters()).dtype
    for param in trainable_parameters(model):
        param.data = param.data.to(dtype)  # set before any optimizer holds the parameter
    return model


def trainable_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [param for param in model.parameters() if param.requires_grad]


def load_run_model(
    settings: TrainSettings, device: torch.device, *, sharded: bool = False
) -> tuple[PreTrainedModel, AutoTokenizer]:
    """The model a run trains, as its settings say: with its LoRA adapters when it trains them.

    The run itself and a rebuild of it from its trajectory load it here, so both start from the
    same weights in the same precision.
    """
    masters = not trains_in_forward_dtype(settings, pick_dtype(settings.dtype, device))
    model, tokenizer = load_model(
        settings.model,
        settings.dtype,
        device,
        lora=settings.lora,
        masters=masters,
        sharded=sharded,
    )
    return with_run_adapters(model, settings, masters=masters), tokenizer


def with_run_adapters(
    model: PreTrainedModel, settings: TrainSettings, *, masters: bool
) -> PreTrainedModel:
    """The model with the LoRA adapters its settings train, if any."""
    if not settings.lora:
        return model
    return add_lora(
        model,
        rank=settings.rank,
        alpha=settings.alpha,
        dropout=settings.lora_dropout,
        targets=settings.targets,
        masters=masters,
    )
