"""Converting a whole folder of old scripts: every file said once, and a closing tally.

Folders are searched for `*.sh` files; a script that an aggregator (`run_all.sh`) runs is
shown under that aggregator, not a second time on its own. Each script ends in exactly one
outcome: converted (possibly with notes), not convertible (with its reason), nothing to
convert (an empty file, a base script), or an aggregator whose scripts count on their own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from zo_sweep.legacy.convert import Conversion, RootMap, convert_script
from zo_sweep.legacy.study import convert_study, is_study_file

SCRIPT_GLOB = "*.sh"
CONVERTED = "converted"
WITH_NOTES = "with notes"
NOT_CONVERTIBLE = "not convertible"
NOTHING = "with nothing to convert"
AGGREGATOR = "aggregator"


@dataclass
class Batch:
    conversions: list[Conversion]  # top level: each followed script sits under its aggregator

    def each(self) -> Iterator[Conversion]:
        """Every script once, aggregators before the scripts they ran (a script two
        aggregators run is shown under the first)."""
        seen: set[Path] = set()
        for top in self.conversions:
            for conversion in top.all():
                if conversion.path not in seen:
                    seen.add(conversion.path)
                    yield conversion

    def tally(self) -> str:
        counts = Counter(outcome(conversion) for conversion in self.each())
        scripts = sum(counts.values())
        parts = [
            f"{counts[CONVERTED] + counts[WITH_NOTES]} converted",
            f"{counts[WITH_NOTES]} with notes",
            f"{counts[NOT_CONVERTIBLE]} not convertible",
        ]
        parts += [f"{counts[NOTHING]} {NOTHING}"] if counts[NOTHING] else []
        parts += [f"{counts[AGGREGATOR]} aggregators followed"] if counts[AGGREGATOR] else []
        return f"{scripts} script{'' if scripts == 1 else 's'}: " + ", ".join(parts)

    def not_convertible(self) -> list[str]:
        """One line per script that could not be converted, with its (first) reason."""
        return [
            f"not convertible: {conversion.path}: {reason(conversion)}"
            for conversion in self.each()
            if outcome(conversion) == NOT_CONVERTIBLE
        ]


def convert_inputs(
    inputs: Iterable[Path],
    *,
    environ: dict[str, str] | None = None,
    cwd: Path | None = None,
    map_roots: RootMap = (),
) -> Batch:
    conversions = []
    for path in expand_inputs(inputs):
        if is_study_file(path):
            conversions.append(convert_study(path, cwd=cwd, map_roots=map_roots))
        else:
            conversions.append(convert_script(path, environ=environ, cwd=cwd, map_roots=map_roots))
    followed = {child.path for top in conversions for child in top.all() if child.run_by}
    seen: set[Path] = set()
    kept = []
    for conversion in conversions:
        if conversion.path in followed or conversion.path in seen:
            continue
        seen.add(conversion.path)
        kept.append(conversion)
    return Batch(kept)


def expand_inputs(inputs: Iterable[Path]) -> list[Path]:
    """Files as given; a folder stands for every script under it (sorted)."""
    paths: list[Path] = []
    for path in inputs:
        if path.is_dir():
            paths += sorted(found for found in path.rglob(SCRIPT_GLOB) if not found.is_dir())
        else:
            paths.append(path)
    return paths


def outcome(conversion: Conversion) -> str:
    if conversion.nothing:
        return NOTHING
    if conversion.followed and not conversion.sweeps and not conversion.failed:
        return AGGREGATOR
    if conversion.failed:
        return NOT_CONVERTIBLE
    return WITH_NOTES if conversion.problems else CONVERTED


def reason(conversion: Conversion) -> str:
    errors = [problem for problem in conversion.problems if problem.severity == "error"]
    first = errors[0] if errors else None
    if first is None:
        return "no reason recorded"
    where = f"line {first.line}: " if first.line > 1 else ""
    return f"{where}{first.message}"


def header(conversion: Conversion) -> str:
    """The `# path` line above a script's sweeps: where they came from."""
    text = f"# {conversion.path}"
    if conversion.run_by is not None:
        text += f" (run by {conversion.run_by.name})"
    if conversion.nothing:
        text += f": nothing to convert ({conversion.nothing})"
    elif outcome(conversion) == AGGREGATOR:
        names = ", ".join(child.path.name for child in conversion.followed)
        text += f": runs {names}"
    return text
