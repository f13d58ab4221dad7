#!/usr/bin/env bash
# Shared body of the base scripts: the old env-var interface in front of the trainer.
#
# Read (with the old defaults):
#   MODEL       Hugging Face id, local model folder, or smollm2_135m (the embedded default)
#   TASK        a task data folder (its name picks the task, e.g. Data/original/Copa) or a task name
#   MODE        ft (all parameters) | lora
#   LR EPS BS STEPS SEED RANK ALPHA   hyperparameters
#   TRAIN DEV EVAL                    number of train / dev / eval examples (DEV: 100 for Copa
#                                     and CB, 500 for the others)
#   EVAL_STEPS  evaluate on dev every this many steps (500)
#   SYN_TASK    synthetic data folder mixed into training (orig_n_syn scripts)
#   EVAL_ROOT   folder of original task folders the test examples come from (synthetic data
#               without a validation file of its own), e.g. EVAL_ROOT=Data/original
#   EVAL_SPLIT  validation (default, as MeZO: test examples from the validation file) | test
#   EVAL_TASK   one task folder the test examples come from (instead of EVAL_ROOT)
#   DATA_TAG    name of the dataset in records (default: from the data folder's path)
#   OUTPUT_DIR  where metrics.jsonl and result.json go (default: a new folder under
#               $OUTPUT_ROOT/legacy/, OUTPUT_ROOT defaulting to outputs/ in the repository)
# Set by the calling base script: TRAINER (zo | regular) and DATA_KIND.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"

export MODEL="${MODEL:-smollm2_135m}"
export TASK="${TASK:?TASK must name a task data folder, e.g. TASK=Data/original/Copa}"
export MODE="${MODE:-ft}"
export LR="${LR:-1e-6}"
export EPS="${EPS:-1e-3}"
export BS="${BS:-16}"
export STEPS="${STEPS:-20000}"
export SEED="${SEED:-0}"
export TRAIN="${TRAIN:-1000}"
# Copa and CB have only 100 dev examples to spare.
case "$(basename "$TASK" | tr '[:upper:]' '[:lower:]')" in
    copa | cb) export DEV="${DEV:-100}" ;;
    *) export DEV="${DEV:-500}" ;;
esac
export EVAL="${EVAL:-1000}"
export EVAL_STEPS="${EVAL_STEPS:-500}"
if [ "$MODE" = "lora" ]; then
    export RANK="${RANK:-8}" ALPHA="${ALPHA:-16}"
fi
if [ "$DATA_KIND" = "orig_n_syn" ]; then
    export SYN_TASK="${SYN_TASK:-${TASK/original/synthetic}}"
fi
# Runs of the same settings at different times get different folders: nothing is overwritten.
TAG="${TRAINER}-${MODE}-${DATA_KIND}-lr${LR}-seed${SEED}-$(date +%Y-%m-%d_%H-%M-%S)"
export OUTPUT_DIR="${OUTPUT_DIR:-${OUTPUT_ROOT:-$REPO/outputs}/legacy/$(basename "$MODEL")/$(basename "$TASK")/$TAG}"

exec "${PYTHON:-python}" -m zo_sweep.train "$@"
