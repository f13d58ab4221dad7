"""Correctness of the benchmark's pieces (never its timings: the benchmark itself holds those)."""

from __future__ import annotations

import json

import pytest
import torch

from zo_sweep import bench


def quadratic_model(seed: int = 0) -> tuple[list[torch.nn.Parameter], callable]:
    """Parameters and a loss whose gradient is known: sum((w - 1)^2) over a few tensors."""
    generator = torch.Generator().manual_seed(seed)
    shapes = [(7, 5), (5,), (3000,)]
    params = [torch.nn.Parameter(torch.randn(s, generator=generator)) for s in shapes]

    def loss() -> torch.Tensor:
        with torch.no_grad():
            return sum(((p - 1) ** 2).sum() for p in params)

    return params, loss


def test_reference_mezo_step_is_the_papers_update() -> None:
    params, loss = quadratic_model()
    before = [p.detach().clone() for p in params]
    lr, eps, seed = 1e-2, 1e-3, 123
    optimizer = bench.ReferenceMeZO(params, lr=lr, eps=eps)
    optimizer.step(loss, seed)

    torch.manual_seed(seed)
    noise = [torch.normal(mean=0, std=1, size=p.shape) for p in before]
    plus = sum(((w + eps * z - 1) ** 2).sum() for w, z in zip(before, noise, strict=True))
    minus = sum(((w - eps * z - 1) ** 2).sum() for w, z in zip(before, noise, strict=True))
    projected_grad = float((plus - minus) / (2 * eps))
    for w, z, p in zip(before, noise, params, strict=True):
        torch.testing.assert_close(p.detach(), w - lr * projected_grad * z, rtol=0, atol=1e-5)


def test_noise_draws_cover_every_parameter() -> None:
    params, _ = quadratic_model()
    chunks = bench.noise_chunks(params)
    assert sum(c.numel() for c in chunks) == sum(p.numel() for p in params)
    assert max(c.numel() for c in chunks) <= bench.NOISE_CHUNK
    bench.threaded_noise_draw(params, workers=2)()
    bench.serial_noise_draw(params)()


def test_parameter_pass_leaves_weights_in_place() -> None:
    params, _ = quadratic_model()
    before = [p.detach().clone() for p in params]
    run = bench.parameter_pass(params)
    run()
    run()
    for w, p in zip(before, params, strict=True):
        torch.testing.assert_close(p.detach(), w)


def test_peak_memory_sees_an_allocation_inside_the_block() -> None:
    size = 64 * 2**20
    with bench.peak_memory(torch.device("cpu")) as baseline:
        pass
    with bench.peak_memory(torch.device("cpu")) as measured:
        block = torch.ones(size // 4)  # fp32: `size` bytes, touched so the pages are resident
        del block
    assert measured["peak"] - baseline["peak"] >= 0.9 * size


def timing(seconds: float) -> bench.Timing:
    return bench.Timing(median=seconds, best=seconds, runs=[seconds])


def test_ratios_and_goals() -> None:
    times = {
        "forward": timing(1.0),
        "param_pass": timing(0.01),
        "rng_serial": timing(0.3),
        "rng_threaded": timing(0.15),
        "zo_step": timing(2.5),
        "reference_zo_step": timing(5.0),
    }
    peaks = {"inference": 1000, "zo": 1050, "fo_full": 4000, "fo_lora": 2000}
    evals = {"single_examples_per_s": 10.0, "batched_examples_per_s": 60.0}
    values = bench.ratios(times, peaks, evals)
    assert values["zo_vs_limit"] == pytest.approx(2.5 / 2.03)
    assert values["zo_vs_rng_limit"] == pytest.approx(2.5 / (2 + 3 * 0.16))
    assert values["reference_vs_zo"] == pytest.approx(2.0)
    assert values["zo_mem_vs_inference"] == pytest.approx(1.05)
    assert values["eval_batched_vs_single"] == pytest.approx(6.0)
    verdicts = {row[0]: row[3] for row in bench.ratio_rows(values)}
    assert verdicts["MeZO step / (2 x forward + 3 x parameter pass)"] == "met"
    assert verdicts["reference MeZO step / MeZO step"] == "met"


@pytest.mark.parametrize("bad", [["--batch-size", "0"], ["--repeats", "-1"], ["--device", "tpu"]])
def test_bad_options_are_refused(bad: list[str]) -> None:
    with pytest.raises(SystemExit):
        bench.parse_args(bad)


def test_bad_optimizer_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(bench.BenchError, match="expected module:Class"):
        bench.load_optimizer_class("no_colon_here")


def test_benchmark_runs_on_the_tiny_model(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("zo_sweep.train.mezo")
    out = tmp_path / "bench.json"
    code = bench.main(["--tiny", "--repeats", "1", "--eval-examples", "4", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "MeZO step / (2 x forward + 3 x parameter pass)" in printed
    result = json.loads(out.read_text())
    assert set(result["peak_memory_bytes"]) == set(bench.PROBES)
    assert all(peak > 0 for peak in result["peak_memory_bytes"].values())
    assert result["eval_throughput"]["batched_examples_per_s"] > 0
    for key in ("zo_step", "reference_zo_step", "fo_full_step", "fo_lora_step", "rng_threaded"):
        assert result["times"][key]["best"] > 0


@pytest.mark.parametrize("workers", [1, 2])
def test_trainer_mezo_uses_one_noise_for_all_three_passes(workers: int) -> None:
    from zo_sweep.train import mezo as chunked

    params, loss = quadratic_model()
    before = [p.detach().clone() for p in params]
    lr, eps, seed, chunk = 1e-2, 1e-3, 7, 1024
    optimizer = chunked.ZerothOrderSGD(params, lr=lr, eps=eps, chunk=chunk, workers=workers)
    step = optimizer.step(loss, seed)

    # Redraw the noise group by group, as the optimizer does, and apply MeZO by hand.
    noise = [torch.empty_like(w) for w in before]
    for index, group in enumerate(chunked.pack_groups(noise, chunk)):
        generator = torch.Generator().manual_seed(chunked.group_seed(seed, index))
        drawn = torch.empty(sum(p.numel() for p in group)).normal_(generator=generator)
        for piece, values in zip(group, drawn.split([p.numel() for p in group]), strict=True):
            piece.copy_(values)
    plus = sum(((w + eps * z - 1) ** 2).sum() for w, z in zip(before, noise, strict=True))
    minus = sum(((w - eps * z - 1) ** 2).sum() for w, z in zip(before, noise, strict=True))
    assert step.projected_grad == pytest.approx(float((plus - minus) / (2 * eps)), rel=1e-3)
    for w, z, p in zip(before, noise, params, strict=True):
        expected = w - lr * step.projected_grad * z
        torch.testing.assert_close(p.detach(), expected, rtol=0, atol=1e-5)
