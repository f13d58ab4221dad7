"""The trainer's own user-facing error beyond zo_sweep.errors: a model it cannot find."""

from __future__ import annotations


class ModelNotFound(RuntimeError):
    """The model name is neither a local folder, a cached hub model, nor reachable."""
