#!/usr/bin/env bash
# MeZO (zeroth-order SGD) on Copa (synthetic data) with Llama-3.2-1B: the old grid,
# one run per learning rate (and LoRA rank), all in parallel.
# Output: $RESULTS/Llama-3.2-1B/Copa/zo/synthetic/<lr>_synthetic.out and .err
# Environment: DATA_ROOT holds original/<Task>/ and synthetic/<Task>/ (default: the example
# data shipped with zo_sweep); RESULTS (default: results/ in the repository); MODEL, BS, STEPS,
# SEED, EPS replace the defaults below.
# The same runs as a zo_sweep sweep:
#   python -m zo_sweep model=llama1b task=copa method=zo data=synthetic bs=4 -m lr=1e-6,5e-7,2e-7,1e-7
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DATA_ROOT=${DATA_ROOT:-$REPO/zo_sweep/example_data}
RESULTS=${RESULTS:-$REPO/results}
OUT=$RESULTS/Llama-3.2-1B/Copa/zo/synthetic
mkdir -p "$OUT"
cd "$REPO"

MODEL=${MODEL:-meta-llama/Llama-3.2-1B}
TASK=$DATA_ROOT/synthetic/Copa
BS=${BS:-4}
STEPS=${STEPS:-20000}
SEED=${SEED:-0}
EPS=${EPS:-1e-3}

MODEL=$MODEL MODE=ft TASK=$TASK LR=1e-6 BS=$BS STEPS=$STEPS SEED=$SEED EPS=$EPS \
    bash legacy_scripts/mezo_finetune_synthetic.sh > "$OUT/1e-6_synthetic.out" 2> "$OUT/1e-6_synthetic.err" &
MODEL=$MODEL MODE=ft TASK=$TASK LR=5e-7 BS=$BS STEPS=$STEPS SEED=$SEED EPS=$EPS \
    bash legacy_scripts/mezo_finetune_synthetic.sh > "$OUT/5e-7_synthetic.out" 2> "$OUT/5e-7_synthetic.err" &
MODEL=$MODEL MODE=ft TASK=$TASK LR=2e-7 BS=$BS STEPS=$STEPS SEED=$SEED EPS=$EPS \
    bash legacy_scripts/mezo_finetune_synthetic.sh > "$OUT/2e-7_synthetic.out" 2> "$OUT/2e-7_synthetic.err" &
MODEL=$MODEL MODE=ft TASK=$TASK LR=1e-7 BS=$BS STEPS=$STEPS SEED=$SEED EPS=$EPS \
    bash legacy_scripts/mezo_finetune_synthetic.sh > "$OUT/1e-7_synthetic.out" 2> "$OUT/1e-7_synthetic.err" &

wait
