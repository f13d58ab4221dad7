"""Job directories to pandas tables and plots: `python -m zo_sweep.summary [DIR ...]`.

In a notebook:

    from zo_sweep.summary import load, views
    runs = load("outputs")            # one row per job
    views.best(runs)                  # best lr per model x task x method x data
"""

from zo_sweep.summary.load import SummaryWarning, load
from zo_sweep.summary.schema import COLUMNS, rows_to_frame
from zo_sweep.summary.sources import register_row_source

__all__ = ["COLUMNS", "SummaryWarning", "load", "register_row_source", "rows_to_frame"]
