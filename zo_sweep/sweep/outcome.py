"""What a sweep learns while Hydra runs it, for `python -m zo_sweep` to act on at the end.

Hydra gives its sweeper and callbacks no way to hand a result back to the code that called the
app: they note here the sweep's folder, how many jobs it plans and how many failed, and
`zo_sweep.sweep.app.main` chooses the exit code from it once Hydra returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SweepOutcome:
    output_dir: Path | None = None  # the sweep folder (multirun) or the job folder (single run)
    failing_jobs: int = 0
    planned_jobs: int | None = None  # how many jobs the sweep means to run, when known
    # How each job ended as it told the sweep, by its folder (absolute): the tally's first word
    # on it, whatever its folder still says (zo_sweep.sweep.status).
    returned: dict[str, str] = field(default_factory=dict)
    # What a dry run found that the real sweep would refuse: one line each.
    refusals: list[str] = field(default_factory=list)


OUTCOME = SweepOutcome()
