"""Numerical engines behind one interface: ``run(problem, seed=..., replicates=...) -> xarray.Dataset``.

Engines are chosen by name; a new engine is a new module registered in ``ENGINES``.
"""

from __future__ import annotations

from exoniche.engines import deterministic, stochastic
from exoniche.engines.compile import compile_mechanism
from exoniche.engines.problem import Event, ParameterEvent, Problem
from exoniche.errors import ScenarioError, suggest

ENGINES = {deterministic.NAME: deterministic.run, stochastic.NAME: stochastic.run}


def run(problem: Problem, engine: str = "deterministic", **kwargs):
    """Run ``problem`` with the engine of that name (``deterministic`` or ``stochastic``)."""
    if engine not in ENGINES:
        raise ScenarioError(
            f"engine: unknown value {engine!r}{suggest(engine, ENGINES)}; allowed: {', '.join(ENGINES)}")
    return ENGINES[engine](problem, **kwargs)


__all__ = ["ENGINES", "Event", "ParameterEvent", "Problem", "compile_mechanism", "run"]
