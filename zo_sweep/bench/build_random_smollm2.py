"""Write a randomly initialised Llama of SmolLM2-135M's shape to a folder, for timing runs
where the embedded model is not at hand (the cost per step depends on the shape only).

Run: python -m zo_sweep.bench.build_random_smollm2 OUT_DIR
     python -m zo_sweep.bench --model OUT_DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

from zo_sweep.closed_pipe import quiet_on_closed_pipe
from zo_sweep.random_llama import build_random_llama

SMOLLM2_135M = {
    "hidden": 576,
    "layers": 30,
    "heads": 9,
    "kv_heads": 3,
    "intermediate": 1536,
    "vocab": 49152,
    "tie_embeddings": True,
}


@quiet_on_closed_pipe
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    print(build_random_llama(parser.parse_args().out_dir, **SMOLLM2_135M))


if __name__ == "__main__":
    main()
