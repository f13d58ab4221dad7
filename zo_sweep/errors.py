"""The sweep's user-facing error: one line that says what to fix."""

from __future__ import annotations

from hydra.errors import CompactHydraException


class ConfigError(CompactHydraException):
    """A user-facing configuration problem. Hydra prints these as their message alone."""
