#!/usr/bin/env bash
# First-order full fine-tuning on synthetic task data. The env-var interface is described in _run_trainer.sh.
TRAINER=regular DATA_KIND=synthetic exec bash "$(dirname "${BASH_SOURCE[0]}")/_run_trainer.sh" "$@"
