#!/usr/bin/env bash
# First-order LoRA (rank 8, alpha 16) on Copa (original data) with Mistral-7B-v0.1: the old learning-rate grid,
# one run per learning rate, all in parallel.
# Output: $RESULTS/Mistral-7B-v0.1/Copa/fo_lora/original/<lr>_original.out and .err
# Environment: DATA_ROOT holds original/<Task>/ and synthetic/<Task>/ (default: the example
# data shipped with zo_sweep); RESULTS (default: results/ in the repository); MODEL, BS, STEPS,
# SEED, RANK, ALPHA replace the defaults below.
# The same runs as a zo_sweep sweep:
#   python -m zo_sweep model=mistral7b task=copa method=fo_lora data=original -m lr=1e-4,5e-5,2e-5,1e-5
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DATA_ROOT=${DATA_ROOT:-$REPO/zo_sweep/example_data}
RESULTS=${RESULTS:-$REPO/results}
OUT=$RESULTS/Mistral-7B-v0.1/Copa/fo_lora/original
mkdir -p "$OUT"
cd "$REPO"

MODEL=${MODEL:-mistralai/Mistral-7B-v0.1}
TASK=$DATA_ROOT/original/Copa
BS=${BS:-8}
STEPS=${STEPS:-1000}
SEED=${SEED:-0}
RANK=${RANK:-8}
ALPHA=${ALPHA:-16}

MODEL=$MODEL MODE=lora TASK=$TASK LR=1e-4 BS=$BS STEPS=$STEPS SEED=$SEED RANK=$RANK ALPHA=$ALPHA \
    bash legacy_scripts/fo_lora_finetune_original.sh > "$OUT/1e-4_original.out" 2> "$OUT/1e-4_original.err" &
MODEL=$MODEL MODE=lora TASK=$TASK LR=5e-5 BS=$BS STEPS=$STEPS SEED=$SEED RANK=$RANK ALPHA=$ALPHA \
    bash legacy_scripts/fo_lora_finetune_original.sh > "$OUT/5e-5_original.out" 2> "$OUT/5e-5_original.err" &
MODEL=$MODEL MODE=lora TASK=$TASK LR=2e-5 BS=$BS STEPS=$STEPS SEED=$SEED RANK=$RANK ALPHA=$ALPHA \
    bash legacy_scripts/fo_lora_finetune_original.sh > "$OUT/2e-5_original.out" 2> "$OUT/2e-5_original.err" &
MODEL=$MODEL MODE=lora TASK=$TASK LR=1e-5 BS=$BS STEPS=$STEPS SEED=$SEED RANK=$RANK ALPHA=$ALPHA \
    bash legacy_scripts/fo_lora_finetune_original.sh > "$OUT/1e-5_original.out" 2> "$OUT/1e-5_original.err" &

wait
