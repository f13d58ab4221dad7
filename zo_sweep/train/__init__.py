"""The project's own underlying training script: `python -m zo_sweep.train`.

MeZO (zo), first-order full fine-tuning (fo_full), LoRA (fo_lora) and MeZO on LoRA adapters
(zo_lora), on a task's candidates scored by log-likelihood. See docs/trainer.md.
"""
