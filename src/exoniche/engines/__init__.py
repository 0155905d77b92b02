"""Numerical engines behind one interface: ``engines.get(name).run(problem, ...) -> xarray.Dataset``.

Every engine is an :class:`~exoniche.engines.base.Engine` with declared
:class:`~exoniche.engines.base.Capabilities`; this module holds the one registry. A new engine is a new module
with an ``Engine`` subclass, added to ``_ENGINES`` below (or, from outside the package, by :func:`register`).

Examples
--------
>>> from exoniche import engines
>>> engines.available()
['deterministic', 'stochastic', 'batched', 'compiled']
>>> engines.available("patients")
['batched', 'compiled']
>>> engines.get("compiled").capabilities.patients
True
"""

from __future__ import annotations

from exoniche.engines import batched, deterministic, numba_bdf, stochastic
from exoniche.engines.base import Capabilities, Engine, PatientEngine
from exoniche.engines.functions import MechanismFunctions, compile_mechanism
from exoniche.engines.problem import Event, ParameterEvent, Problem
from exoniche.errors import unknown

_ENGINES: dict[str, Engine] = {e.name: e for e in (deterministic.ENGINE, stochastic.ENGINE, batched.ENGINE,
                                                    numba_bdf.ENGINE)}
_CAPABILITIES = ("events", "parameter_events", "patients", "stochastic", "progress")


def available(capability: str | None = None) -> list[str]:
    """Names of the installed engines, optionally only those with ``capability`` (e.g. ``"patients"``)."""
    if capability is not None and capability not in _CAPABILITIES:
        raise unknown("capability", capability, _CAPABILITIES)
    return [name for name, e in _ENGINES.items()
            if e.installed() and (capability is None or getattr(e.capabilities, capability))]


def get(name: str, *, capability: str | None = None, field: str = "engine") -> Engine:
    """Return the engine registered as ``name``; an unknown one (or one without ``capability``) is refused.

    ``field`` names the input in the message (``--engine`` on the command line).
    """
    allowed = [n for n, e in _ENGINES.items() if capability is None or getattr(e.capabilities, capability)]
    if name not in allowed:
        raise unknown(field, name, allowed)
    return _ENGINES[name]


def register(engine: Engine) -> None:
    """Add ``engine`` to the registry under its ``name`` (a name already taken is refused)."""
    if not engine.name or engine.name in _ENGINES:
        raise ValueError(f"engine name {engine.name!r} is empty or already registered")
    _ENGINES[engine.name] = engine


def run(problem: Problem, engine: str = "deterministic", **kwargs):
    """Run ``problem`` with the engine of that name; ``kwargs`` as :meth:`Engine.run <.base.Engine.run>`."""
    return get(engine).run(problem, **kwargs)


__all__ = ["Capabilities", "Engine", "Event", "MechanismFunctions", "ParameterEvent", "PatientEngine", "Problem",
           "available", "compile_mechanism", "get", "register", "run"]
