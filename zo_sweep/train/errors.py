"""The trainer's user-facing errors: each carries one line that says what to fix.

Kept free of torch and transformers so that a bad setting is reported before the heavy
imports (seconds on a small machine) happen.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """An impossible or malformed setting."""


class ModelNotFound(RuntimeError):
    """The model name is neither a local folder, a cached hub model, nor reachable."""
