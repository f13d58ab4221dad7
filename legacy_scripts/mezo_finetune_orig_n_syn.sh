#!/usr/bin/env bash
# MeZO (zeroth-order SGD; MODE=lora for MeZO on LoRA adapters) on orig_n_syn task data. The env-var interface is described in _run_trainer.sh.
TRAINER=zo DATA_KIND=orig_n_syn exec bash "$(dirname "${BASH_SOURCE[0]}")/_run_trainer.sh" "$@"
