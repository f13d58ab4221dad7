"""The memory plan: exact parameter counts on the meta device, bytes per device, what fits."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import REPO_ROOT
from helpers.model_shapes import LLAMA_3_70B, OLMO_2_32B, model_folder
from helpers.tiny_llama import build_tiny_llama

from zo_sweep.train.architecture import Architecture, architecture_from_config, model_architecture
from zo_sweep.train.gpu_fit import (
    fit_problem,
    fits,
    job_shape,
    jobs_per_gpu_that_fit,
    plan_line,
    planning_gpu_bytes,
)
from zo_sweep.train.memory_plan import GIB, JobShape, plan_memory
from zo_sweep.train.settings import TrainSettings

A100_40, GPU_80 = 40 * GIB, 80 * GIB


@pytest.fixture(scope="module")
def llama70b(tmp_path_factory: pytest.TempPathFactory) -> Architecture:
    folder = model_folder(tmp_path_factory.mktemp("models"), "Meta-Llama-3-70B", LLAMA_3_70B)
    architecture = model_architecture(str(folder))
    assert architecture is not None
    return architecture


@pytest.fixture(scope="module")
def olmo32b(tmp_path_factory: pytest.TempPathFactory) -> Architecture:
    folder = model_folder(tmp_path_factory.mktemp("models"), "OLMo-2-0325-32B", OLMO_2_32B)
    return architecture_from_config(folder / "config.json")


def _model_option(name: str) -> dict:
    return yaml.safe_load((REPO_ROOT / "conf" / "model" / f"{name}.yaml").read_text())


def test_parameters_are_counted_exactly_on_the_meta_device(
    llama70b: Architecture, olmo32b: Architecture
) -> None:
    assert llama70b.params == 70_553_706_496  # Meta's 70.6B
    assert (llama70b.layers, llama70b.hidden, llama70b.kv) == (80, 8192, 1024)
    assert llama70b.root_params == 2 * 128256 * 8192 + 8192  # embeddings, head, final norm
    assert llama70b.layer_params == (llama70b.params - llama70b.root_params) // 80
    assert olmo32b.params == 32_234_279_936
    # The configs' own figures, for a plan on a machine without the config.json.
    assert _model_option("llama70b")["params"] == llama70b.params
    assert _model_option("olmo2_32b")["params"] == olmo32b.params


def test_every_model_option_carries_its_size() -> None:
    options = sorted((REPO_ROOT / "conf" / "model").glob("*.yaml"))
    assert len(options) >= 7
    for path in options:
        params = yaml.safe_load(path.read_text()).get("params")
        assert isinstance(params, int) and params > 10**8, path.name


def test_without_a_config_json_the_plan_counts_weights_from_params(tmp_path: Path) -> None:
    assert model_architecture("no-org/no-such-model") is None
    unknown = model_folder(tmp_path, "future-model", {"model_type": "no_such_architecture"})
    assert model_architecture(str(unknown), params=10**9) == Architecture.from_params(
        10**9, "params: 1000000000 in the model's config"
    )
    architecture = model_architecture("no-org/no-such-model", params=7_241_732_096)
    assert architecture is not None and not architecture.shape_known
    plan = plan_memory(architecture, JobShape(method="fo_full"))
    assert plan.weights + plan.gradients + plan.optimizer == 16 * 7_241_732_096
    assert not plan.complete
    line = plan_line("mistral7b", plan, A100_40)
    assert "activations unknown (no config.json)" in line


def test_bytes_a_parameter_follow_what_the_trainer_holds(llama70b: Architecture) -> None:
    params = llama70b.params

    def stored(method: str, precision: str = "fp32_masters", devices: int = 1) -> float:
        plan = plan_memory(llama70b, JobShape(method, precision=precision, devices=devices))
        return (plan.weights + plan.gradients + plan.optimizer) * devices / params

    assert stored("zo") == 4  # fp32 masters
    assert stored("zo", "inference") == 2  # weights in the forward's bf16
    assert stored("fo_full") == 16  # fp32 weights, gradients and two AdamW moments
    assert stored("fo_full", devices=8) == 16  # sharded: the same bytes, spread
    assert 2 < stored("fo_lora") < 2.01  # the bf16 base, and small adapters
    one, eight = (plan_memory(llama70b, JobShape("zo", devices=n)) for n in (1, 8))
    assert eight.weights == one.weights / 8
    assert eight.temporaries["gathered"] > 0 and "gathered" not in one.temporaries


def test_a_job_that_cannot_fit_is_refused_with_what_would(llama70b: Architecture) -> None:
    shape = JobShape("zo", precision="fp32_masters")
    assert fit_problem("llama70b", llama70b, shape, GPU_80) == (
        "llama70b zo (fp32 masters): 268 GB over 1 GPU of 80 GB; use devices_per_job=4, "
        "or the inference-memory option zo_weights=inference (136 GB, devices_per_job=4)"
    )
    fewer = JobShape("zo", precision="inference", devices=2)
    assert fit_problem("llama70b", llama70b, fewer, GPU_80) == (
        "llama70b zo (inference memory): 145 GB over 2 GPUs of 80 GB (72.5 GB each); "
        "use devices_per_job=4"
    )
    assert (
        fit_problem(
            "llama70b", llama70b, JobShape("zo", "bfloat16", "inference", devices=4), GPU_80
        )
        is None
    )


def test_first_order_refusals_propose_gradient_checkpointing_where_it_helps(
    olmo32b: Architecture,
) -> None:
    problem = fit_problem("olmo2_32b", olmo32b, JobShape("fo_lora"), GPU_80)
    assert problem is not None
    assert problem.endswith("use devices_per_job=4, or grad_ckpt=true with devices_per_job=2")


def test_the_large_models_devices_per_job_fit_nodes_of_four_40gb_a100s(
    llama70b: Architecture, olmo32b: Architecture
) -> None:
    for name, architecture in (("llama70b", llama70b), ("olmo2_32b", olmo32b)):
        devices = _model_option(name)["devices_per_job"]
        shape = JobShape("zo", precision="inference", devices=devices)
        assert fits(plan_memory(architecture, shape), A100_40), name
        fewer = JobShape("zo", precision="inference", devices=devices // 2)
        assert not fits(plan_memory(architecture, fewer), A100_40), f"{name} needs fewer"
    masters = JobShape("zo", precision="fp32_masters", devices=4)
    assert fits(plan_memory(olmo32b, masters), A100_40)
    # Llama-3-70B with fp32 masters needs 16 (conf/model/llama70b.yaml says so).
    masters = JobShape("zo", precision="fp32_masters", devices=8)
    assert fit_problem("llama70b", llama70b, masters, A100_40) == (
        "llama70b zo (fp32 masters): 304 GB over 8 GPUs of 40 GB (38 GB each); "
        "use devices_per_job=16, or the inference-memory option zo_weights=inference (174 GB)"
    )


def test_small_jobs_share_a_gpu_as_far_as_they_fit(tmp_path: Path) -> None:
    tiny = architecture_from_config(build_tiny_llama(tmp_path / "tiny") / "config.json")
    mistral = Architecture.from_params(7_241_732_096, "params")
    assert jobs_per_gpu_that_fit(plan_memory(tiny, JobShape("zo")), GPU_80) == 8  # at most
    two = plan_memory(mistral, JobShape("zo", precision="inference"))
    assert jobs_per_gpu_that_fit(two, A100_40) == 2
    assert plan_line("mistral7b", two, A100_40).endswith("; 2 jobs per 40 GB GPU")
    none = plan_memory(mistral, JobShape("fo_full"))
    assert jobs_per_gpu_that_fit(none, A100_40) == 0
    assert plan_line("mistral7b", none, A100_40).endswith("; does not fit a 40 GB GPU")


def test_plan_line_shows_the_parts_per_device(llama70b: Architecture) -> None:
    plan = plan_memory(llama70b, JobShape("zo", precision="inference", devices=8))
    assert plan_line("llama70b", plan, A100_40) == (
        "llama70b zo (inference memory): 21.8 GB per GPU x 8 (weights 16.4, activations 0.46, "
        "gathered 3.6, perturbed layer 0.25, noise buffers 0.12, runtime 1); fits 40 GB GPUs"
    )


def test_adapter_counts_match_peft(tmp_path: Path) -> None:
    from zo_sweep.train.model import add_lora, load_model, trainable_parameters

    folder = build_tiny_llama(tmp_path / "tiny")
    architecture = architecture_from_config(folder / "config.json")
    for targets in (["q_proj", "v_proj"], "all-linear"):
        model, _ = load_model(str(folder), "float32", "cpu")
        model = add_lora(model, rank=4, alpha=8, dropout=0.0, targets=targets)
        counted = sum(p.numel() for p in trainable_parameters(model))
        assert architecture.lora_params(targets, 4) == counted, targets


def test_job_shape_reads_the_trainer_settings() -> None:
    settings = TrainSettings(mode="lora", trainer="regular", bs=8, max_length=256, rank=16)
    shape = job_shape(settings, devices=2)
    assert (shape.method, shape.dtype, shape.device_type) == ("fo_lora", "bfloat16", "cuda")
    assert (shape.batch, shape.seq_len, shape.lora_rank, shape.devices) == (8, 256, 16, 2)
    assert job_shape(TrainSettings(device="cpu")).dtype == "float32"


def test_the_gpu_to_plan_for_is_this_machines_else_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi: a login node, a laptop
    assert planning_gpu_bytes(80) == (80 * GIB, "gpu_memory_gb=80")
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\nprintf '81920\\n40960\\n'\n")
    fake.chmod(0o755)
    assert planning_gpu_bytes(80) == (40 * GIB, "this machine's GPUs")  # the smallest
