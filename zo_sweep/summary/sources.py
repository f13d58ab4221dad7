"""Row sources: where summary rows come from besides Hydra job directories.

A row source is a function `reader(root: Path) -> Iterable[dict]` that returns rows in the
schema of `zo_sweep.summary.schema` (e.g. with status `legacy`) for the folders it
recognises under `root`, and nothing for the others. `load()` calls every source on every
directory it is given, so `python -m zo_sweep.summary results/` includes old results as
soon as a source for them exists.

Sources are found two ways:
- PLUGIN_READERS names readers in other parts of the package as "module:function"; each is
  imported the first time it is needed, and skipped if its module does not exist.
- `register_row_source(name, reader)` adds one at run time (a notebook, a test, a script).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

RowReader = Callable[[Path], Iterable[Mapping[str, Any]]]

PLUGIN_READERS = {
    "legacy": "zo_sweep.legacy.summary_rows:read_rows",
}

_registered: dict[str, RowReader] = {}


def register_row_source(name: str, reader: RowReader) -> None:
    """Add (or replace) a row source; `load()` will call `reader(root)` for each root."""
    _registered[name] = reader


def unregister_row_source(name: str) -> None:
    _registered.pop(name, None)


def row_sources() -> dict[str, RowReader]:
    """Every available source: the plugin readers that import, then the registered ones."""
    sources = {}
    for name, spec in PLUGIN_READERS.items():
        reader = _import_reader(spec)
        if reader is not None:
            sources[name] = reader
    sources.update(_registered)
    return sources


def _import_reader(spec: str) -> RowReader | None:
    module_name, _, function_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        # Only a missing plugin is expected; a plugin that fails on its own import is a bug.
        if err.name and module_name.startswith(err.name):
            return None
        raise
    return getattr(module, function_name)
