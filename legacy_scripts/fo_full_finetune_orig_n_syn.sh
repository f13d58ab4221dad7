#!/usr/bin/env bash
# First-order full fine-tuning on orig_n_syn task data. The env-var interface is described in _run_trainer.sh.
TRAINER=regular DATA_KIND=orig_n_syn exec bash "$(dirname "${BASH_SOURCE[0]}")/_run_trainer.sh" "$@"
