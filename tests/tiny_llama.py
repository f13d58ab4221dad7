"""A tiny, randomly initialised Llama with a real byte-level BPE tokenizer, built offline.

Tests use it wherever a model is needed: it loads through the same code path as a Hugging
Face model folder, so the trainer and the sweep are exercised for real, in a second.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "The movie was great and the acting was wonderful.",
    "The film was terrible and the plot was boring.",
    "Question: Does the premise entail the hypothesis? Yes, No, or Maybe?",
    "What was the cause of this? What happened as a result?",
    "The answer is A. The answer is B. The answer is C. The answer is D.",
    "positive negative true false yes no maybe because so",
]


def build_tiny_llama(path: str | Path, *, seed: int = 0, hidden: int = 32, layers: int = 2) -> Path:
    """Write a tiny Llama model folder (config, weights, tokenizer) to `path` and return it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train_from_iterator(
        CORPUS * 4,
        trainers.BpeTrainer(
            vocab_size=384,
            special_tokens=["<s>", "</s>", "<pad>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
