"""zo_sweep's sweeper for Hydra: the grid of `python -m zo_sweep -m`, checked before it starts."""
