"""The trainer's own work, timed and checked: ``python -m zo_sweep.bench``.

Every figure comes from the trainer's functions: its model loading (device, dtype, LoRA), its
loss on real task batches, its MeZO optimizer and stepper, its evaluation, its peak memory. The
benchmark adds only what the trainer has no use for: a port of MeZO's reference step to compare
with, one timer, the floors a step is held to, and the report (docs/performance.md).
"""
