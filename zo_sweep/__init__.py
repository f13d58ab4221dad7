"""zo_sweep: LLM fine-tuning experiments (MeZO, first-order, LoRA) as Hydra multirun sweeps."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# The checkout holding the package (its git commit is recorded with every run).
PROJECT_ROOT = PACKAGE_DIR.parent
# Where conf/ (the Hydra config groups, which the trainer reads too) and legacy_scripts/ are:
# beside the package in a checkout, inside it once installed (pyproject.toml maps them there).
RESOURCE_ROOT = PACKAGE_DIR if (PACKAGE_DIR / "conf").is_dir() else PROJECT_ROOT
CONF_DIR = RESOURCE_ROOT / "conf"
# The shipped example task data, original and synthetic (data.root's default).
EXAMPLE_DATA_DIR = PACKAGE_DIR / "example_data"
