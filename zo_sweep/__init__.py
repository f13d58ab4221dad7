"""zo_sweep: LLM fine-tuning experiments (MeZO, first-order, LoRA) as Hydra multirun sweeps."""

from pathlib import Path

# The repository holding the package: its conf/ (the Hydra config groups, which the trainer
# reads too) and legacy_scripts/ sit beside zo_sweep/.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = PROJECT_ROOT / "conf"
