"""A randomly initialised Llama with a small byte-level BPE tokenizer, built offline.

The benchmark's `--tiny` model and the tests' tiny model: both load through the same code path
as any Hugging Face model folder, so everything downstream is exercised for real, in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

CORPUS = (
    "The movie was great and the acting was wonderful.",
    "The film was terrible and the plot was boring.",
    "Question: Does the premise entail the hypothesis? Yes, No, or Maybe?",
    "What was the cause of this? What happened as a result?",
    "The answer is A. The answer is B. The answer is C. The answer is D.",
)


def build_random_llama(
    path: str | Path,
    *,
    hidden: int,
    layers: int,
    heads: int,
    kv_heads: int,
    intermediate: int,
    vocab: int | None = None,
    tie_embeddings: bool = True,
    max_positions: int = 2048,
    corpus: Sequence[str] = CORPUS,
    seed: int = 0,
) -> Path:
    """Write a randomly initialised Llama and its tokenizer (trained on `corpus`) to `path`.

    The model's vocabulary may be larger than the tokenizer's (`vocab`), so a random model of a
    real model's shape (e.g. SmolLM2-135M's 49152) costs what the real one costs per step.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=384,
        special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(list(corpus) * 4, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    config = LlamaConfig(
        vocab_size=max(vocab or 0, len(tokenizer)),
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=tie_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
