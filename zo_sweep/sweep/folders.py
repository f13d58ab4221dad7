"""Where a sweep and its jobs write: inside output_root, one fresh folder each, short names.

Folder names come from config values (purpose, model, task, method and data names, the varied
keys), so they are checked or made harmless here: a name is one path component (no `..`, no
separator), a varied value with a separator is escaped, and a name too long for the file
system is shortened with a hash of the whole. A folder is claimed by creating it: a second
sweep started in the same second, or a second job whose varied keys read the same as another
one's (`lr=1e-6,1e-6`, or jobs that differ only in data.root), gets a folder of its own.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from zo_sweep.errors import ConfigError
from zo_sweep.sweep import continuation

# Config values that become one folder name each.
NAME_KEYS = ("purpose", "model.name", "task.name", "method.name", "data.name")
MAX_NAME_CHARS = 100
# File systems allow 255 bytes a name; leave room for a collision suffix.
MAX_LEAF_BYTES = 200
HASH_CHARS = 10
FORBIDDEN_IN_NAMES = ("/", "\\", "\0")
MAX_CLAIM_ATTEMPTS = 1000

# (parent, leaf, job number) -> the folder this process claimed for it: Hydra may resolve a
# job's folder more than once, and must get the same answer each time.
_claimed_leaves: dict[tuple[str, str, str], str] = {}


def check_folder_names(cfg: DictConfig) -> None:
    """Raise ConfigError (one line) if a value that names a folder could leave its place."""
    root = OmegaConf.select(cfg, "output_root", default=None)
    if root is not None and not str(root).strip():
        # `${output_root}/${purpose}` would be /<purpose>: the file system's root.
        raise ConfigError(f"output_root={root!r}: must name a folder (outputs by default)")
    for key in NAME_KEYS:
        value = OmegaConf.select(cfg, key, default=None)
        if value is None:
            continue
        problem = name_problem(str(value))
        if problem:
            raise ConfigError(f"{key}={value!r:.60}: {problem}")


def name_problem(name: str) -> str | None:
    """Why `name` cannot be one folder name, or None."""
    if not name.strip():
        return "must not be empty"
    if name in (".", ".."):
        return "must name a folder, not '.' or '..'"
    if any(char in name for char in FORBIDDEN_IN_NAMES):
        return "must be one folder name (no '/' or '\\')"
    if len(name) > MAX_NAME_CHARS:
        return f"longer than {MAX_NAME_CHARS} characters"
    return None


def safe_leaf(text: str) -> str:
    """A folder name for the varied keys: separators escaped, long names shortened by a hash."""
    leaf = text.replace("/", "%2F").replace("\\", "%5C")
    if leaf in (".", ".."):
        leaf = leaf.replace(".", "%2E")
    if len(leaf.encode()) <= MAX_LEAF_BYTES:
        return leaf
    digest = hashlib.sha256(text.encode()).hexdigest()[:HASH_CHARS]
    keep = leaf.encode()[: MAX_LEAF_BYTES - HASH_CHARS - 1].decode(errors="ignore")
    return f"{keep}~{digest}"


def claim_fresh_folder(path: Path) -> Path:
    """Create path, or `path_2`, `path_3`, ... if taken; return the folder now ours alone.

    Raises OSError when the parent cannot be created (read-only, not a directory, disk full).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, MAX_CLAIM_ATTEMPTS + 1):
        candidate = path if attempt == 1 else path.with_name(f"{path.name}_{attempt}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"{path}: {MAX_CLAIM_ATTEMPTS} folders of that name already exist")


def constant_keys(overrides: Sequence[str], params: Mapping[str, str]) -> list[str]:
    """The keys a sweep gives one value (on the command line or in `hydra.sweeper.params`):
    its jobs are named by the others, the keys that vary. A sweep where nothing varies (one
    job) keeps them all: they are all that tells its job from the defaults."""
    lines = [*(f"{key}={value}" for key, value in params.items()), *overrides]
    parsed = OverridesParser.create().parse_overrides(lines)
    swept = {o.key_or_group for o in parsed if o.is_sweep_override()}
    if not swept:
        return []
    return sorted({o.key_or_group for o in parsed} - swept)


def register_job_folders() -> None:
    """`${job_subdir:...}`, the sweep's output layout (conf/hydra/output_layout.yaml)."""
    if not OmegaConf.has_resolver("job_subdir"):
        OmegaConf.register_new_resolver("job_subdir", job_subdir)


def job_subdir(sweep_dir: str, cell: str, name: str, job_num: int | str) -> str:
    """`${job_subdir:<sweep dir>,<model>/<task>_<method>_<data>,<varied keys>,<job num>}`:
    a sweep job's folder, claimed so that no two jobs ever share one."""
    return claim_job_subdir(str(sweep_dir), str(cell), str(name), str(job_num))


def claim_job_subdir(sweep_dir: str, cell: str, override_dirname: str, job_num: str) -> str:
    """`<cell>/<leaf>`: a sweep job's folder under sweep_dir, created here so no other job gets it.

    The varied keys name the leaf (`job<num>` when none vary); when another job of the sweep
    has that name already (its varied keys read the same), the job number is appended.
    """
    parent = str(Path(sweep_dir) / cell)
    key = (parent, override_dirname, job_num)
    if key not in _claimed_leaves:
        base = safe_leaf(override_dirname) if override_dirname else f"job{job_num}"
        _claimed_leaves[key] = _first_free(Path(parent), [base, f"{base},job{job_num}"])
    return f"{cell}/{_claimed_leaves[key]}"


def _first_free(parent: Path, names: list[str]) -> str:
    if continuation.on_another_node():
        return continuation.claimed_by_this_job(parent, names)  # the first node claims it
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return names[0]  # Hydra's own mkdir reports it; the leaf name changes nothing
    for name in names:
        try:
            os.mkdir(parent / name)
        except FileExistsError:
            if continuation.is_requeued_attempt(parent / name):
                return name  # SLURM runs this job again: it goes on in its own folder
            continue
        except OSError:
            return name
        return name
    return claim_fresh_folder(parent / names[-1]).name
