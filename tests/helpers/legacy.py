"""Helpers shared by the legacy tests: the example scripts and comparing environments."""

from __future__ import annotations

import math
import os

from helpers import REPO_ROOT

EXAMPLE_SCRIPTS = sorted((REPO_ROOT / "legacy_scripts").glob("*/*.sh"))
MODEL_FOLDERS = ("Llama-3.2-1B", "Llama-3.2-3B", "Mistral-7B-v0.1", "Mistral-Nemo-Base-2407")


def normalised(value: str) -> object:
    """1e-6 and 0.000001 compare equal, and so do two spellings of one path."""
    try:
        number = float(value)
    except ValueError:
        return os.path.realpath(value) if "/" in value else value
    return number if math.isfinite(number) else value


def comparable(env: dict[str, str], keys: set[str]) -> tuple[tuple[str, object], ...]:
    return tuple(sorted((key, normalised(env[key])) for key in keys if key in env))
