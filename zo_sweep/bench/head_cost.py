"""How much of a forward is the LM head: full logits vs the head applied only where the
candidates' tokens are scored (a few positions per sequence).

Run: python -m zo_sweep.bench.head_cost MODEL_DIR [--batch-size 16] [--seq-len 64] [--scored 4]
"""

from __future__ import annotations

import argparse
import time

import torch
from transformers import AutoModelForCausalLM

from zo_sweep.closed_pipe import quiet_on_closed_pipe


def best_times(fns: list, repeats: int) -> list[float]:
    """Best of `repeats` round-robin calls each: load from other processes hits all alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for index, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[index] = min(best[index], time.perf_counter() - start)
    return best


@quiet_on_closed_pipe
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--scored", type=int, default=4, help="scored positions per sequence")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    model = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32).eval()
    ids = torch.randint(0, model.config.vocab_size, (args.batch_size, args.seq_len))

    @torch.inference_mode()
    def full_logits() -> torch.Tensor:
        logits = model(input_ids=ids).logits
        return logits[:, -args.scored - 1 : -1].log_softmax(-1)

    @torch.inference_mode()
    def scored_positions_only() -> torch.Tensor:
        hidden = model.model(input_ids=ids).last_hidden_state
        return model.lm_head(hidden[:, -args.scored - 1 : -1]).log_softmax(-1)

    torch.testing.assert_close(full_logits(), scored_positions_only(), rtol=1e-4, atol=1e-4)
    full, scored = best_times([full_logits, scored_positions_only], args.repeats)
    print(
        f"full logits: {full * 1e3:.0f} ms; head on {args.scored} positions: {scored * 1e3:.0f} ms"
    )
    print(f"speed-up of the forward: {full / scored:.2f}x")


if __name__ == "__main__":
    main()
