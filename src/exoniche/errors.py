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


class NotFittedError(ExonicheError, AttributeError):
    """An estimator's results were asked for before :meth:`fit` (an ``AttributeError`` too, so ``hasattr`` works)."""


def suggest(value: object, allowed: Iterable[object]) -> str:
    """Return `` (did you mean "x"?)`` for the closest allowed value, or ``""``.

    Examples
    --------
    >>> suggest("lugn", ["lung", "liver"])
    ' (did you mean "lung"?)'
    >>> suggest("brain", ["lung", "liver"])
    ''
    """
    match = get_close_matches(str(value), [str(a) for a in allowed], n=1, cutoff=0.6)
    return f' (did you mean "{match[0]}"?)' if match else ""


def unknown(
    field: str,
    value: object,
    allowed: Iterable[object],
    cls: type[ExonicheError] = ScenarioError,
    *,
    what: str = "value",
    label: str | None = "allowed",
    show_value: bool = True,
    note: str = "",
) -> ExonicheError:
    """Build the one "unknown X" error: field path, bad value, "did you mean" and the allowed values.

    Parameters
    ----------
    field : str
        Where the value sits, as the user wrote it (``"host.physiology"``, ``"--arm"``, ``"file.toml: cohort.size"``).
    value : object
        The value given.
    allowed : iterable
        The values that would have been accepted, in the order to list them.
    cls : type of ExonicheError
        The exception class to build (:class:`ScenarioError` by default).
    what : str
        The kind of thing (``"value"``, ``"key"``, ``"marker"``, ``"column"``...).
    label : str or None
        The word before the list of allowed values; None leaves the list out (too long to print).
    show_value : bool
        False when the value is already the last part of ``field`` (unknown keys).
    note : str
        Text appended after the list (for example a command that lists the values).

    Returns
    -------
    ExonicheError
        The error, to ``raise``.

    Examples
    --------
    >>> print(unknown("host.physiology", "mose", ["mouse", "human"]))
    host.physiology: unknown value 'mose' (did you mean "mouse"?); allowed: mouse, human
    >>> print(unknown("cohort.sise", "sise", ["size", "seed"], what="key", show_value=False))
    cohort.sise: unknown key (did you mean "size"?); allowed: size, seed
    """
    allowed = [str(a) for a in allowed]
    shown = f" {value!r}" if show_value else ""
    listing = f"; {label}: {', '.join(allowed)}" if label is not None else ""
    return cls(f"{field}: unknown {what}{shown}{suggest(value, allowed)}{listing}{note}")


def check_choice(field: str, value: object, allowed: Iterable[object], cls: type[ExonicheError] = ScenarioError,
                 **kwargs) -> object:
    """Return ``value`` if it is one of ``allowed``, else raise :func:`unknown` (same keyword arguments).

    Examples
    --------
    >>> check_choice("ties", "efron", ("breslow", "efron"))
    'efron'
    >>> check_choice("ties", "efrom", ("breslow", "efron"), DataError)
    Traceback (most recent call last):
    ...
    exoniche.errors.DataError: ties: unknown value 'efrom' (did you mean "efron"?); allowed: breslow, efron
    """
    allowed = list(allowed)
    if value not in allowed:
        raise unknown(field, value, allowed, cls, **kwargs)
    return value


def check_keys(prefix: str, table: Iterable[str], allowed: Iterable[str],
               cls: type[ExonicheError] = ScenarioError) -> None:
    """Raise :func:`unknown` for the first key of ``table`` not in ``allowed`` (field ``prefix.key``).

    Examples
    --------
    >>> check_keys("cohort", {"size": 10, "sede": 1}, ("size", "seed"))
    Traceback (most recent call last):
    ...
    exoniche.errors.ScenarioError: cohort.sede: unknown key (did you mean "seed"?); allowed: size, seed
    """
    allowed = list(allowed)
    for key in table:
        if key not in allowed:
            raise unknown(f"{prefix}.{key}" if prefix else str(key), key, allowed, cls, what="key", show_value=False)
