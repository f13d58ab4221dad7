"""zo_sweep's benchmarks, in one home. Each calls the code it measures, never a copy.

- ``python -m zo_sweep.bench``: the trainer's own work, timed and checked. Every figure comes
  from the trainer's functions: its model loading (device, dtype, LoRA), its loss on real task
  batches, its MeZO optimizer and stepper, its evaluation, its peak memory. It adds only what
  the trainer has no use for: a port of MeZO's reference step to compare with, one timer, the
  floors a step is held to, and the report (docs/performance.md).
- ``python -m zo_sweep.bench.sweep_start``: how soon a sweep's first job starts, and what a
  dry run costs per job.
- ``python -m zo_sweep.bench.summary_speed``: the summary on an archive of N job directories.
- ``head_cost``, ``rng_options``, ``build_random_smollm2``: the studies behind the step's design.
"""
