"""Task data: reading task folders, seeded train / dev / test splits, exporting from the hub.

    from zo_sweep.data import load_splits
    splits = load_splits("Data/original/Copa", num_train=1000, num_dev=100, num_eval=1000, seed=0)

See docs/data.md for the folder layout and the formats.
"""

from zo_sweep.data.layout import example_data_root, find_task_folder, resolve_task_dir
from zo_sweep.data.sources import SplitSources, locate_splits
from zo_sweep.data.splits import Splits, load_splits, read_examples
from zo_sweep.data.tasks import DataError
from zo_sweep.data_identity import data_identity

__all__ = [
    "DataError",
    "SplitSources",
    "Splits",
    "data_identity",
    "example_data_root",
    "find_task_folder",
    "load_splits",
    "locate_splits",
    "read_examples",
    "resolve_task_dir",
]
