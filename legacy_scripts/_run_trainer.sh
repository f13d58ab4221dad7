#!/usr/bin/env bash
# Shared body of the base scripts: the old env-var interface in front of the trainer.
#
# The trainer reads the variables itself, with its own defaults (python -m zo_sweep.train --help
# lists them): MODEL, TASK, MODE, LR, EPS, BS, STEPS, SEED, RANK, ALPHA, TRAIN, DEV, EVAL,
# EVAL_STEPS, SYN_TASK, EVAL_ROOT, OUTPUT_DIR (default: a new folder under $OUTPUT_ROOT/train/,
# OUTPUT_ROOT defaulting to outputs/), ... Nothing is defaulted here: only what is set passes.
# Set by the calling base script: TRAINER (zo | regular) and DATA_KIND, whose rules
# (conf/data/<kind>.yaml) say which folders are mixed in and tested on.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# In a checkout the trainer is the one beside this folder; an installed package finds its own.
if [ -d "$HERE/../zo_sweep" ]; then
    export PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}"
fi

exec "${PYTHON:-python}" -m zo_sweep.train "$@"
