"""The tests' tiny model: a 2-layer random Llama with a real byte-level BPE tokenizer.

Tests use it wherever a model is needed: it loads through the same code path as a Hugging
Face model folder, so the trainer and the sweep are exercised for real, in a second.
"""

from __future__ import annotations

from pathlib import Path

from zo_sweep.random_llama import CORPUS, build_random_llama

# The shared corpus plus the verbalizer words, so that " yes", " no" and the like are one token.
TEST_CORPUS = (*CORPUS, "positive negative true false yes no maybe because so")


def build_tiny_llama(
    path: str | Path, *, seed: int = 0, hidden: int = 32, layers: int = 2, tied: bool = False
) -> Path:
    """Write a tiny Llama model folder (config, weights, tokenizer) to `path` and return it;
    `tied`: its embedding and LM head share one weight, as SmolLM2's do."""
    return build_random_llama(
        path,
        hidden=hidden,
        layers=layers,
        heads=4,
        kv_heads=2,
        intermediate=2 * hidden,
        tie_embeddings=tied,
        max_positions=512,
        corpus=TEST_CORPUS,
        seed=seed,
    )
