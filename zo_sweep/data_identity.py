"""Which dataset a run used, as a short name that says it: its data identity.

The identity of a data root is its path from the folder that holds the data kinds, i.e. from
its last path part named `original` or `synthetic` (`.../Data/original` -> `original`,
`.../Data/synthetic/mezo` -> `synthetic/mezo`,
`.../Data_v2/synthetic/prompt_engineering/copa_mezo_v1` ->
`synthetic/prompt_engineering/copa_mezo_v1`); a root with no such part is named by its folder
name. An explicit tag (`data.tag`, env DATA_TAG) replaces it. Mixed data (original plus a
synthetic root) is both identities joined by `+`.
"""

from __future__ import annotations

from pathlib import Path

# The folders that hold the data kinds (Data/original, Data/synthetic/...).
DATA_KINDS = ("original", "synthetic")


def data_identity(
    root: str | Path, tag: str | None = None, synthetic_root: str | Path | None = None
) -> str:
    """The data identity of a run on ``root`` (mixed with ``synthetic_root``), or its tag."""
    if tag:
        return str(tag)
    identity = root_identity(root)
    if synthetic_root:
        identity = f"{identity}+{root_identity(synthetic_root)}"
    return identity


def root_identity(root: str | Path) -> str:
    parts = Path(root).expanduser().parts
    kinds = [index for index, part in enumerate(parts) if part.lower() in DATA_KINDS]
    if not kinds:
        return parts[-1] if parts else str(root)
    return "/".join(parts[kinds[-1] :])
