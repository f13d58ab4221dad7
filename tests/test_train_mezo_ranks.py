"""MeZO on 2 gloo ranks (FSDP2 on the CPU): each rank perturbs and updates only its own shards,
with the noise of their rows of the full parameter, so 2 ranks take the steps of one; the
steps' trajectory replays onto the shards; every rank gets the same projected gradient.

One launch of 2 ranks runs every case of helpers.sharded_mezo (both weights options, LoRA,
n-SPSA with weight decay); the same cases run here on one rank."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import REPO_ROOT
from helpers.sharded_mezo import CASES, STEPS, run_cases, settings_of

from zo_sweep.train.distributed import Ranks
from zo_sweep.train.model import load_run_model
from zo_sweep.train.trajectory import Trajectory, replay
from zo_sweep.train.zo_weights import make_zo_optimizer

LAUNCH_TIMEOUT = 240  # two ranks importing torch and transformers on a busy 2-core machine
# A bf16 forward on a rank's share of a batch pads it to another length than the whole batch:
# an example's logits may differ by one bf16 unit (2^-8 relative), its loss by about 1e-4.
BF16_LOSSES = 1e-3
FP32_LOSSES = 1e-6


# One worker runs the module, so its module-scoped fixture runs once.
pytestmark = pytest.mark.xdist_group("mezo_ranks")


@pytest.fixture(scope="module")
def runs(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Each case's record on 2 ranks and on 1: losses, weights, replayed weights, trajectory."""
    out = tmp_path_factory.mktemp("sharded_mezo")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "tests")])}
    command = [sys.executable, "-m", "zo_sweep.train.launch", "--nproc-per-node", "2",
               "--module", "helpers.sharded_mezo", str(tiny_model_dir), str(out / "two.pt")]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    two = torch.load(out / "two.pt", weights_only=True)
    one = run_cases(str(tiny_model_dir), out, Ranks())
    return tiny_model_dir, out, one, two


# How far the weights may land from one rank's (rtol, atol): the projected gradients differ
# in their last digits (the ranks' losses are summed), so an update's rounding may differ by
# a step of the fp32 grid, or by a bf16 unit of the largest weights (2^-11 at 0.06; a small
# weight's units are smaller than the update's difference). Under a bf16 forward fp32 masters
# run on FSDP2's bf16 copies of the weights (1 rank: under autocast): the same model computed
# otherwise, compared by its losses (and, exactly, by the replay below).
WEIGHTS = {"inference_bf16": (2**-7, 2**-11), "fp32_masters_bf16": None}


@pytest.mark.parametrize("case", CASES)
def test_two_ranks_take_the_steps_of_one(runs, case: str) -> None:
    _, _, one, two = runs
    tolerance = BF16_LOSSES if "bfloat16" in CASES[case] else FP32_LOSSES
    assert len(two[case]["losses"]) == STEPS
    assert two[case]["losses"] == pytest.approx(one[case]["losses"], rel=tolerance)
    if (closeness := WEIGHTS.get(case, (1e-5, 1e-6))) is None:
        return
    rtol, atol = closeness
    for name, weight in one[case]["weights"].items():
        gathered = two[case]["weights"][name]
        assert gathered.shape == weight.shape and gathered.dtype == weight.dtype, name
        assert torch.allclose(gathered.float(), weight.float(), rtol=rtol, atol=atol), name


@pytest.mark.parametrize("case", CASES)
def test_the_ranks_update_their_rows_with_the_noise_one_rank_draws(runs, case: str) -> None:
    """The 2 ranks' steps, replayed on one rank, land on the 2 ranks' weights bit for bit: the
    same noise, grid and rounding for every row; and replayed on the 2 ranks' shards too."""
    model_dir, out, _, two = runs
    settings = settings_of(str(model_dir), out, CASES[case])
    torch.manual_seed(settings.seed)
    model, _ = load_run_model(settings, torch.device("cpu"))
    steps = Trajectory(config={}, **two[case]["trajectory"])
    assert steps.steps == STEPS and all(grad != 0 for grads in steps.grads for grad in grads)
    replay(make_zo_optimizer(model, settings), steps, 0, STEPS)
    trained = {name: p for name, p in model.named_parameters() if p.requires_grad}
    torch.manual_seed(settings.seed)
    start, _ = load_run_model(settings, torch.device("cpu"))
    moved = 0
    for name, weight in two[case]["weights"].items():
        assert torch.equal(trained[name].detach(), weight), name
        assert torch.equal(two[case]["replayed"][name], weight), name
        moved += int((weight != start.get_parameter(name)).sum())
    assert moved > 0.5 * sum(weight.numel() for weight in two[case]["weights"].values())
