#!/usr/bin/env bash
# First-order LoRA fine-tuning on synthetic task data. The env-var interface is described in _run_trainer.sh.
MODE=lora TRAINER=regular DATA_KIND=synthetic exec bash "$(dirname "${BASH_SOURCE[0]}")/_run_trainer.sh" "$@"
