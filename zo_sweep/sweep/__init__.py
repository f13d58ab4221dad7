"""The sweep side: the Hydra app, one job's run, its process group, GPU slots, checks, resume, tally."""
