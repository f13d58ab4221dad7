"""Compare ways to draw MeZO's Gaussian noise on the CPU for SmolLM2-135M-shaped parameters.

Run: python -m zo_sweep.bench.rng_options  (prints seconds per full draw for each way)
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import torch

from zo_sweep.closed_pipe import quiet_on_closed_pipe

HIDDEN, LAYERS, KV, INTER, VOCAB = 576, 30, 192, 1536, 49152


def smollm2_shapes() -> list[tuple[int, ...]]:
    layer = [(HIDDEN, HIDDEN), (KV, HIDDEN), (KV, HIDDEN), (HIDDEN, HIDDEN)]
    layer += [(INTER, HIDDEN), (INTER, HIDDEN), (HIDDEN, INTER), (HIDDEN,), (HIDDEN,)]
    return [(VOCAB, HIDDEN)] + layer * LAYERS + [(HIDDEN,)]


def best_of(fn, repeats: int = 3) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


@quiet_on_closed_pipe
def main() -> None:
    params = [torch.zeros(s) for s in smollm2_shapes()]
    total = sum(p.numel() for p in params)
    print(f"{len(params)} tensors, {total / 1e6:.1f}M values, threads={torch.get_num_threads()}")
    gen = torch.Generator().manual_seed(0)
    biggest = max(p.numel() for p in params)
    scratch = torch.empty(biggest)

    def randn_alloc() -> None:
        for p in params:
            p.add_(torch.randn(p.shape, generator=gen), alpha=1e-3)

    def normal_scratch() -> None:
        for p in params:
            z = scratch[: p.numel()].view_as(p).normal_(generator=gen)
            p.add_(z, alpha=1e-3)

    def normal_only() -> None:
        for p in params:
            scratch[: p.numel()].normal_(generator=gen)

    def add_only() -> None:
        for p in params:
            p.add_(1e-3)

    chunk = 1 << 20
    flat_chunks = [c for p in params for c in p.view(-1).split(chunk)]
    gens = [torch.Generator() for _ in flat_chunks]
    scratches = [torch.empty(chunk) for _ in range(2)]

    def chunk_job(indices: list[int], worker: int) -> None:
        buf = scratches[worker]
        for i in indices:
            c = flat_chunks[i]
            gens[i].manual_seed(1000 + i)
            z = buf[: c.numel()].normal_(generator=gens[i])
            c.add_(z, alpha=1e-3)

    pool = ThreadPoolExecutor(2)

    def chunked_threads() -> None:
        idx = list(range(len(flat_chunks)))
        futures = [pool.submit(chunk_job, idx[w::2], w) for w in range(2)]
        for f in futures:
            f.result()

    def chunked_serial() -> None:
        chunk_job(list(range(len(flat_chunks))), 0)

    for name, fn in [
        ("add only (parameter pass)", add_only),
        ("normal_ only into scratch", normal_only),
        ("randn alloc + add", randn_alloc),
        ("normal_ scratch + add", normal_scratch),
        ("chunked 1M serial + add", chunked_serial),
        ("chunked 1M 2 threads + add", chunked_threads),
    ]:
        print(f"{name:32s} {best_of(fn):.3f} s")
    torch.set_num_threads(1)
    print(f"{'(1 intra-op thread) normal_ only':32s} {best_of(normal_only):.3f} s")
    print(f"{'(1 intra-op thread) chunked 2thr':32s} {best_of(chunked_threads):.3f} s")


if __name__ == "__main__":
    main()
