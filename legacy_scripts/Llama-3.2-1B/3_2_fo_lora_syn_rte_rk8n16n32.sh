#!/usr/bin/env bash
# First-order LoRA (ranks 8, 16, 32; alpha 16) on RTE (synthetic data) with Llama-3.2-1B: the old grid,
# one run per learning rate (and LoRA rank), all in parallel.
# Output: $RESULTS/Llama-3.2-1B/RTE/fo_lora/synthetic/<lr>_lora_rk<rank>.out and .err
# Environment: DATA_ROOT holds original/<Task>/ and synthetic/<Task>/ (default: the example
# data shipped with zo_sweep); RESULTS (default: results/ in the repository); MODEL, BS, STEPS,
# SEED, ALPHA replace the defaults below.
# The same runs as a zo_sweep sweep:
#   python -m zo_sweep model=llama1b task=rte method=fo_lora data=synthetic bs=4 steps=20000 -m rank=8,16,32 lr=1e-4,2e-4
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DATA_ROOT=${DATA_ROOT:-$REPO/zo_sweep/example_data}
RESULTS=${RESULTS:-$REPO/results}
OUT=$RESULTS/Llama-3.2-1B/RTE/fo_lora/synthetic
mkdir -p "$OUT"
cd "$REPO"

MODEL=${MODEL:-meta-llama/Llama-3.2-1B}
TASK=$DATA_ROOT/synthetic/RTE
BS=${BS:-4}
STEPS=${STEPS:-20000}
SEED=${SEED:-0}
ALPHA=${ALPHA:-16}

MODEL=$MODEL MODE=lora TASK=$TASK LR=1e-4 RANK=8 BS=$BS STEPS=$STEPS SEED=$SEED ALPHA=$ALPHA \
    bash legacy_scripts/fo_lora_finetune_synthetic.sh > "$OUT/1e-4_lora_rk8.out" 2> "$OUT/1e-4_lora_rk8.err" &
MODEL=$MODEL MODE=lora TASK=$TASK LR=2e-4 RANK=8 BS=$BS STEPS=$STEPS SEED=$SEED ALPHA=$ALPHA \
    bash legacy_scripts/fo_lora_finetune_synthetic.sh > "$OUT/2e-4_lora_rk8.out" 2> "$OUT/2e-4_lora_rk8.err" &
MODEL=$MODEL MODE=lora TASK=$TASK LR=1e-4 RANK=16 BS=$BS STEPS=$STEPS SEED=$SEED ALPHA=$ALPHA \
    bash legacy_scripts/fo_lora_finetune_synthetic.sh > "$OUT/1e-4_lora_rk16.out" 2> "$OUT/1e-4_lora_rk16.err" &
MODEL=$MODEL MODE=lora TASK=$TASK LR=2e-4 RANK=16 BS=$BS STEPS=$STEPS SEED=$SEED ALPHA=$ALPHA \
    bash legacy_scripts/fo_lora_finetune_synthetic.sh > "$OUT/2e-4_lora_rk16.out" 2> "$OUT/2e-4_lora_rk16.err" &
MODEL=$MODEL MODE=lora TASK=$TASK LR=1e-4 RANK=32 BS=$BS STEPS=$STEPS SEED=$SEED ALPHA=$ALPHA \
    bash legacy_scripts/fo_lora_finetune_synthetic.sh > "$OUT/1e-4_lora_rk32.out" 2> "$OUT/1e-4_lora_rk32.err" &
MODEL=$MODEL MODE=lora TASK=$TASK LR=2e-4 RANK=32 BS=$BS STEPS=$STEPS SEED=$SEED ALPHA=$ALPHA \
    bash legacy_scripts/fo_lora_finetune_synthetic.sh > "$OUT/2e-4_lora_rk32.out" 2> "$OUT/2e-4_lora_rk32.err" &

wait
