"""What the tests share: running the app (`sweep`), the tiny model (`tiny_llama`), the old
scripts (`legacy`), the trainer with an injected fault (`faulty_trainer`). pytest puts tests/ on the import path (pyproject.toml), so test modules
import these as `from helpers.sweep import run_sweep`."""

from pathlib import Path

# The checkout: tests/helpers/ is two folders below it.
REPO_ROOT = Path(__file__).resolve().parents[2]
