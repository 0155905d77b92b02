"""What every engine receives: a mechanism, parameter values, times and discrete events."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from exoniche.biology import Mechanism
from exoniche.biology.parameters import ParameterSet
from exoniche.errors import ScenarioError


@dataclass(frozen=True)
class Event:
    """At ``time`` (day), scale ``species`` by ``factor`` and add ``amount`` (an injection, a resection)."""

    time: float
    species: str
    amount: float = 0.0
    factor: float = 1.0
    label: str = ""

    def apply(self, value: float) -> float:
        """Return the amount after the event, from the amount ``value`` before it."""
        return value * self.factor + self.amount


@dataclass(frozen=True)
class ParameterEvent:
    """From ``time`` (day) on, parameter ``parameter`` takes ``value`` (therapy on/off, resection aftermath)."""

    time: float
    parameter: str
    value: float
    label: str = ""


def check_events(events, species_index: dict, param_index: dict) -> list:
    """Validate events against a compiled mechanism; return the ParameterEvents in force at day 0.

    Every engine calls this, so a bad event gets the same error whichever engine runs it.
    """
    from exoniche.errors import ModelError

    for e in events:
        if isinstance(e, ParameterEvent):
            if e.parameter not in param_index:
                raise ModelError(f"event {e.label or e}: parameter {e.parameter!r} is not used by the mechanism")
        elif not isinstance(e, Event) or e.species not in species_index:
            raise ModelError(f"event {getattr(e, 'label', '') or e}: unknown species {getattr(e, 'species', e)!r}")
    return [e for e in events if isinstance(e, ParameterEvent) and e.time <= 0]


@dataclass
class Problem:
    """One integration task: ``mechanism`` with ``params`` from day 0 to ``t_end``.

    ``output_times`` default to every day (and ``t_end``); ``events`` are :class:`Event` and
    :class:`ParameterEvent`; ``rtol`` is the relative tolerance (absolute: ``rtol x 1e-3 x`` each species' scale).
    """

    mechanism: Mechanism
    params: ParameterSet
    t_end: float
    output_times: np.ndarray | None = None
    events: list = field(default_factory=list)  # Event and ParameterEvent
    rtol: float = 1e-6
    label: str = ""

    def times(self) -> np.ndarray:
        """Return the checked output times (day)."""
        if self.t_end <= 0 or not np.isfinite(self.t_end):
            raise ScenarioError(f"duration_days: {self.t_end!r} must be a positive number of days")
        if self.output_times is None:
            n = int(np.ceil(self.t_end)) + 1
            return np.linspace(0.0, self.t_end, max(n, 2))
        t = np.asarray(self.output_times, dtype=float)
        if t.ndim != 1 or t.size == 0 or np.any(np.diff(t) <= 0) or t[0] < 0 or t[-1] > self.t_end + 1e-12:
            raise ScenarioError(f"output_times: must increase strictly within 0..{self.t_end} days")
        return t
