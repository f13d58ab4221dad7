"""Hydra's, OmegaConf's and YAML's errors about the command line or a preset, as one line.

Hydra reports a bad override or a missing option with a stack trace or a dozen lines (the
config search path, a hint to set HYDRA_FULL_ERROR). The app asks Hydra to raise instead and
turns what it raises into the one line a user needs.
"""

from __future__ import annotations

import difflib
import re

import yaml
from hydra.errors import (
    ConfigCompositionException,
    HydraException,
    MissingConfigException,
    OverrideParseException,
)
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from zo_sweep.errors import ConfigError, DataError
from zo_sweep.jobdir.schema import top_level_keys

APPEND_HINT = re.compile(r"Could not override '([^']+)'\.\s*To append to your config use (\S+)")


def one_line_message(err: BaseException) -> str | None:
    """The one-line message for a user's mistake, or None for anything else (a real bug)."""
    if isinstance(err, ConfigError | DataError):
        return _first_line(str(err))
    if isinstance(err, MissingConfigException) and err.missing_cfg_file and err.options:
        group, _, option = err.missing_cfg_file.rpartition("/")
        # A leading underscore marks a part other options include, not an option itself.
        known = [name for name in err.options if not name.startswith("_")]
        return f"unknown {group} '{option}' (known: {', '.join(known)})"
    if isinstance(err, OverrideParseException):
        override = _printable(str(err.override))
        return f"cannot read the override '{override}': {_first_line(err.message)}"
    data_error = DataError.within(err) if isinstance(err, OmegaConfBaseException) else None
    if data_error is not None:
        return _first_line(str(data_error))
    value_message = _config_value_message(err)
    if value_message:
        return value_message
    if isinstance(err, ConfigCompositionException):
        hint = APPEND_HINT.search(str(err))
        if hint:
            key, appended = hint.groups()
            return f"no key '{key}' in the config; add + to add one: {appended}"
    if isinstance(err, yaml.MarkedYAMLError):
        return _yaml_message(err)
    if isinstance(err, HydraException | OmegaConfBaseException):
        return _with_cause(err)
    if isinstance(err, OSError):
        return str(err)
    return None


def unknown_key_message(key: str) -> str:
    """One line for a key that no part reads, with the likely key meant."""
    if "." in key:
        return f"unknown key '{key}': the composed config has no such key (add one with +{key}=...)"
    known = top_level_keys()
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]}?" if close else f"settings: {', '.join(known[:8])}, ...;"
    return (
        f"unknown key '{key}': nothing reads it ({hint} "
        f"a variable for the script goes in +extra_env.{key.upper()}=...)"
    )


def _config_value_message(err: BaseException) -> str | None:
    """`lr: Value 'abc' ... to Float` for a value the schema refuses; the key meant for a
    top-level key that does not exist (`methd=zo`)."""
    cause = err if isinstance(err, OmegaConfBaseException) else err.__cause__
    if not isinstance(cause, OmegaConfBaseException):
        return None
    key = getattr(cause, "full_key", None)
    if isinstance(cause, ConfigAttributeError | ConfigKeyError):
        # A key inside a node is Hydra's to explain (its hint to add it with + is right).
        return unknown_key_message(str(key)) if key and "." not in str(key) else None
    first = _first_line(str(getattr(cause, "msg", None) or cause))
    return f"{key}: {first}" if key and first else None


def _yaml_message(err: yaml.MarkedYAMLError) -> str:
    mark = err.problem_mark or err.context_mark
    where = f" in {mark.name}, line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"bad YAML{where}: {err.problem or err.context or _first_line(str(err))}"


def _with_cause(err: BaseException) -> str:
    message = _first_line(str(err))
    cause = err.__cause__
    if cause is not None and _first_line(str(cause)) not in message:
        message = f"{message}: {_first_line(str(cause))}"
    return message


def _printable(text: str) -> str:
    """Text as typed, with a control character (a newline in a value) written as its escape."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _first_line(text: str) -> str:
    """The first line, and the next one when the first only announces it ("...config:")."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return f"{lines[0]} {lines[1]}"
    return lines[0] if lines else str(text)
