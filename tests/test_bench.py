"""Correctness of the benchmark's pieces (never its timings: the benchmark itself holds those)."""

from __future__ import annotations

import json

import pytest
import torch

from zo_sweep.bench import cli, report
from zo_sweep.bench.memory import measure_peaks, run_probe
from zo_sweep.bench.planned import PLANNED_PROBES, plan_ratios, planned_peaks
from zo_sweep.bench.reference import ReferenceMeZO
from zo_sweep.bench.steps import parameter_pass, step_ratios
from zo_sweep.bench.timing import Spread
from zo_sweep.bench.workload import BenchConfig, load
from zo_sweep.train.environment import peak_memory_mb, reset_peak_memory
from zo_sweep.train.mezo import ZerothOrderSGD


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
    ReferenceMeZO(params, lr=lr, eps=eps).step(loss, seed)

    torch.manual_seed(seed)
    noise = [torch.normal(mean=0, std=1, size=p.shape) for p in before]
    plus = sum(((w + eps * z - 1) ** 2).sum() for w, z in zip(before, noise, strict=True))
    minus = sum(((w - eps * z - 1) ** 2).sum() for w, z in zip(before, noise, strict=True))
    projected_grad = float((plus - minus) / (2 * eps))
    for w, z, p in zip(before, noise, params, strict=True):
        torch.testing.assert_close(p.detach(), w - lr * projected_grad * z, rtol=0, atol=1e-5)


def test_reference_step_leaves_the_trainers_optimizer_on_live_weights() -> None:
    params, loss = quadratic_model()
    storage = [p.data_ptr() for p in params]
    trainer = ZerothOrderSGD(params, lr=1e-2, eps=1e-3, block_size=1000)
    ReferenceMeZO(params, lr=1e-2, eps=1e-3).step(loss, seed=1)
    assert [p.data_ptr() for p in params] == storage
    before = torch.cat([p.detach().reshape(-1) for p in params]).clone()
    trainer.step(loss, seed=2)  # its flat views must still be the parameters themselves
    assert not torch.equal(torch.cat([p.detach().reshape(-1) for p in params]), before)


def test_parameter_pass_leaves_every_bit_in_place() -> None:
    params, _ = quadratic_model()
    before = [p.detach().clone() for p in params]
    parameter_pass(params)()
    for w, p in zip(before, params, strict=True):
        assert torch.equal(p.detach(), w)


def test_peak_memory_sees_an_allocation_after_a_reset() -> None:
    cpu = torch.device("cpu")
    size = 64 * 2**20
    reset_peak_memory(cpu)
    baseline = peak_memory_mb(cpu)
    block = torch.ones(size // 4)  # fp32: `size` bytes, touched so the pages are resident
    del block
    assert peak_memory_mb(cpu) - baseline >= 0.9 * size / 2**20


def test_step_ratios_are_taken_round_by_round() -> None:
    seconds = {
        "zo/param_pass": [0.01, 0.01],
        "zo/step_draws": [0.3, 0.6],
        "t/zo/forward": [1.0, 2.0],
        "t/zo/step": [2.6, 5.2],
        "t/reference_step": [5.2, 7.8],
        "zo_fp32_masters/param_pass": [0.02, 0.02],
        "zo_fp32_masters/step_draws": [0.3, 0.3],
        "t/zo_fp32_masters/forward": [1.0, 1.0],
        "t/zo_fp32_masters/step": [2.0, 2.6],
    }
    ratios = step_ratios(seconds, "t", ["zo"])
    assert ratios["zo_over_two_forwards"] == Spread(1.3, 1.3, 1.3)
    assert ratios["reference_over_zo"].low == pytest.approx(1.5)
    assert ratios["reference_over_zo"].high == pytest.approx(2.0)
    floors = [2 * 1.0 + 0.3 + 3 * 0.01, 2 * 2.0 + 0.6 + 3 * 0.01]
    assert ratios["zo_over_floor"].high == pytest.approx(max(2.6 / floors[0], 5.2 / floors[1]))
    assert "zo_over_fp32_masters" not in ratios
    both = step_ratios(seconds, "t", ["zo", "zo_fp32_masters"])
    assert both["zo_over_fp32_masters"] == Spread(1.65, 1.3, 2.0)


def test_headline_is_the_worst_task_and_goals_are_judged() -> None:
    fast = {key: Spread(1.0, 1.0, 1.0) for key in report.WORST_OF_TASKS}
    slow = {key: Spread(2.0, 2.0, 2.0) for key in report.WORST_OF_TASKS}
    figures = report.headline({"a": fast, "b": slow})
    assert figures["zo_over_floor"] == 2.0  # <= goal: the largest is the worst
    assert figures["reference_over_zo"] == 1.0  # >= goal: the smallest is the worst
    assert report.verdict("zo_over_floor", 1.05) == ("<= 1.1", "met")
    assert report.verdict("reference_over_zo", 1.2)[1] == "NOT MET"
    assert report.verdict("fo_full_mem_over_zo", 3.0)[0] == "for the record"
    assert report.verdict("fo_lora_plan_over_peak", 0.85) == ("1 ± 0.2", "met")
    assert report.verdict("fo_lora_plan_over_peak", 1.25)[1] == "NOT MET"


@pytest.mark.parametrize(
    "bad", [["--batch-size", "0"], ["--rounds", "-1"], ["--device", "tpu"], ["--skip", "x"]]
)
def test_bad_options_are_refused(bad: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args(bad)
    assert exit_info.value.code == 2


@pytest.mark.parametrize(("probe", "held"), [("zo", 2), ("zo_fp32_masters", 4), ("inference", 2)])
def test_memory_probe_measures_a_step_and_the_bytes_its_weights_hold(
    tiny_model_dir, probe: str, held: int
) -> None:
    config = BenchConfig(model=str(tiny_model_dir), batch_size=4, dtype="bfloat16")
    figures = run_probe(probe, str(tiny_model_dir), config)
    assert figures["peak_mib"] > 0 and figures["weight_bytes_per_param"] == held


def test_benchmark_runs_on_the_tiny_model(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    options = ["--tiny", "--dtype", "bfloat16", "--rounds", "1", "--eval-examples", "4",
               "--restore-steps", "20"]  # fmt: skip
    code = cli.main([*options, "--skip", "memory", "startup", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "zo_over_floor" in printed and "eval_speedup_multi" in printed
    result = json.loads(out.read_text())
    # Ten steps of a model of 0.1M weights: each step's share is near 1, not within 1%.
    assert result["mezo_update_kept"] == pytest.approx(1.0, abs=0.1)
    assert result["bf16_weights_update_kept"] < 0.5
    assert result["restore_drift"] == 0.0 and result["restore_bits_changed"] == 0
    for key in (
        "zo_over_two_forwards",
        "zo_over_floor",
        "reference_over_zo",
        "zo_over_fp32_masters",
    ):
        assert result[key] > 0
        assert set(result["step_ratios"]) == {"sst2", "copa"}
    assert result["eval_speedup_single"] > 0 and result["eval_speedup_multi"] > 0


def test_the_memory_plan_of_each_probe_is_set_beside_its_peak(tiny_model_dir) -> None:
    config = BenchConfig(model=str(tiny_model_dir), batch_size=4, device="cpu")
    _, tokenizer = load(str(tiny_model_dir), config)
    planned = planned_peaks(str(tiny_model_dir), config, tokenizer)
    assert set(planned) == set(PLANNED_PROBES)
    # A tiny model's tensors are nothing beside the process: each plan is mostly its runtime.
    assert all(400 < mib < 600 for mib in planned.values())
    ratios = plan_ratios({probe: 2 * mib for probe, mib in planned.items()}, planned)
    assert ratios == {f"{probe}_plan_over_peak": 0.5 for probe in PLANNED_PROBES}


@pytest.mark.slow
def test_the_plan_of_the_embedded_model_is_within_a_fifth_of_its_measured_peak() -> None:
    """python -m zo_sweep.bench's memory figures, for the three methods, on the CPU."""
    config = BenchConfig(device="cpu")
    _, tokenizer = load(config.model, config)
    planned = planned_peaks(config.model, config, tokenizer)
    peaks = measure_peaks(config.model, config, lambda _: None, only=tuple(PLANNED_PROBES))
    mib = {probe: figures["peak_mib"] for probe, figures in peaks.items()}
    for probe, ratio in plan_ratios(mib, planned).items():
        assert abs(ratio - 1) <= 0.2, f"{probe}: {ratio:.2f}"
