#!/usr/bin/env bash
# The GPU check: the figures only a machine with GPUs gives, from the project's own commands.
#
#   scripts/gpu_check.sh [OUT_DIR]        # default: a new folder under the temp directory
#
# 1. the benchmark in bf16 on the first GPU: python -m zo_sweep.bench --device cuda --dtype bfloat16
# 2. a sweep of 2 jobs through the GPU slot pool (jobs_per_gpu=auto: as many on a GPU as fit)
# 3. with two or more GPUs, jobs of 2 ranks (devices_per_job=2: FSDP2 over NCCL) beside the
#    same jobs on one GPU, in fp32, whose losses agree
#
# MODEL (a model folder or hub id; default: the embedded model, smollm2_135m, cached on first
# use) is the model of every part; PYTHON the interpreter. Each part's figures are printed and kept in OUT_DIR.
# Without a GPU (or with a torch built without CUDA) it refuses in one line, exit code 2.
set -euo pipefail

python=${PYTHON:-python}

refuse() {
    echo "error: $1" >&2
    exit 2
}

command -v nvidia-smi >/dev/null || refuse "no GPU on this machine (no nvidia-smi): the GPU check needs one"
gpus=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | grep -c . || true)
[ "$gpus" -ge 1 ] || refuse "no GPU on this machine (nvidia-smi lists none): the GPU check needs one"
"$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' ||
    refuse "this Python's torch sees no GPU (a CPU-only build?): install a CUDA build of torch"

out=${1:-$(mktemp -d "${TMPDIR:-/tmp}/zo_sweep_gpu_check.XXXXXX")}
mkdir -p "$out"
echo "GPU check: $gpus GPU(s), $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | head -n 1); figures in $out"

# What each job of a sweep did, a line each: method, ranks, GPUs, status, time a step, peak memory.
report() {
    "$python" - "$1" <<'PY'
import json, re, sys
from pathlib import Path

for result_file in sorted(Path(sys.argv[1]).rglob("result.json")):
    result = json.loads(result_file.read_text())
    command = (result_file.parent / "command.sh").read_text()
    gpus = re.search(r"CUDA_VISIBLE_DEVICES=(\S*)", command)
    losses = [line.get("loss") for line in map(json.loads, open(result_file.parent / "metrics.jsonl")) if "loss" in line]
    print(f"  {result.get('method')} on {result.get('world_size')} rank(s), GPUs {gpus.group(1) if gpus else '?'}:"
          f" {result['status']}, {result.get('seconds_per_step') or 0:.3f} s/step,"
          f" peak {result.get('peak_memory_mb')} MB, losses {[round(loss, 5) for loss in losses if loss is not None]}")
PY
}

failed=0
part() {  # part NAME COMMAND...: run it, keep its output, say how it ended
    local name=$1
    shift
    echo
    echo "== $name"
    if "$@" >"$out/$name.log" 2>&1; then
        echo "   $name: ok"
    else
        echo "   $name: failed (exit code $?; $out/$name.log)"
        tail -n 5 "$out/$name.log"
        failed=1
    fi
}

bench_model=() small=(task=sst2 steps=20 bs=16 num_train=320 num_dev=64 num_eval=64)
if [ -n "${MODEL:-}" ]; then
    bench_model=(--model "$MODEL")
    small+=("model.id=$MODEL" model.name=gpu_check_model)
fi

part bench "$python" -m zo_sweep.bench --device cuda --dtype bfloat16 "${bench_model[@]}" \
    --json "$out/bench.json"
grep -v '^\s*$' "$out/bench.log" | tail -n 40

part slot_pool "$python" -m zo_sweep -m hydra/launcher=joblib hydra.launcher.n_jobs=2 \
    "${small[@]}" method=zo lr=1e-6,1e-5 jobs_per_gpu=auto purpose=gpu_check_slots \
    "output_root=$out/outputs"
report "$out/outputs/gpu_check_slots" || true

if [ "$gpus" -ge 2 ]; then
    part two_ranks "$python" -m zo_sweep -m "${small[@]}" method=zo,fo_full dtype=float32 \
        devices_per_job=1,2 log_steps=1 purpose=gpu_check_ranks "output_root=$out/outputs"
    report "$out/outputs/gpu_check_ranks" || true
else
    echo
    echo "== two_ranks: skipped (one GPU; a job of 2 ranks needs two)"
fi
exit "$failed"
