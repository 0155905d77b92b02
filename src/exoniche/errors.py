"""One exception family for every user-facing failure.

The CLI turns any :class:`ExonicheError` into a one-line message on stderr and exit code 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches


class ExonicheError(Exception):
    """Base class: a user mistake or bad input, reported without a traceback."""

    exit_code = 2


class ScenarioError(ExonicheError):
    """A scenario, preset name, dose or intervention is malformed."""


class DataError(ExonicheError):
    """A data file (claims, measurement table) is malformed."""


class ModelError(ExonicheError):
    """A model definition or parameter set is inconsistent."""


def suggest(value: str, allowed: Iterable[str]) -> str:
    """Return ' (did you mean "x"?)' for the closest allowed value, or ''."""
    match = get_close_matches(str(value), [str(a) for a in allowed], n=1, cutoff=0.6)
    return f' (did you mean "{match[0]}"?)' if match else ""


def unknown(field: str, value: object, allowed: Iterable[str], cls: type[ExonicheError] = ScenarioError):
    """Build the standard 'unknown X' error naming the field, value and allowed choices."""
    allowed = sorted(str(a) for a in allowed)
    return cls(f"{field}: unknown value {value!r}{suggest(str(value), allowed)}; allowed: {', '.join(allowed)}")
