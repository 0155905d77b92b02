"""The engine interface: declared capabilities, and what every engine needs prepared the same way.

Like PySB's ``Simulator``, an :class:`Engine` names what it can do (:class:`Capabilities`) and implements only
its integration. The base prepares, once and identically for every engine, the checks of a problem's events,
the integration segments between event times (:func:`segments`) and the parameter values in force at day 0
(:func:`day0_values`, also used by the SBML export), and refuses an option the engine cannot honour with a
:class:`~exoniche.errors.ScenarioError` naming it. A new engine is a new module with a subclass, registered
in :mod:`exoniche.engines`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import xarray as xr

from exoniche.biology import Mechanism
from exoniche.engines.functions import MechanismFunctions, compile_mechanism, declaration_key
from exoniche.engines.problem import Event, ParameterEvent, Problem, check_events
from exoniche.errors import ModelError, ScenarioError


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do; an option it cannot honour is refused, never ignored.

    Attributes
    ----------
    events : bool
        Species events (injections, resection) at given days.
    parameter_events : bool
        Parameter changes at given days (therapy on/off).
    patients : bool
        Many parameter columns (virtual patients) in one call: ``parameters=`` and ``patients=``.
    stochastic : bool
        Random realisations: ``seed=`` and ``replicates=``.
    progress : bool
        Reports progress through ``progress(fraction)``.
    """

    events: bool = True
    parameter_events: bool = True
    patients: bool = False
    stochastic: bool = False
    progress: bool = False


@dataclass(frozen=True)
class Segment:
    """One stretch of integration between event times.

    Attributes
    ----------
    t0, t1 : float
        Start and end (day).
    parameter_events, state_events : tuple
        The events applied at ``t0``, before integrating, in the problem's order.
    outputs : ndarray of int
        Indices of the output times in this segment (``t0 <= t < t1``; the last segment includes ``t1``).
    """

    t0: float
    t1: float
    parameter_events: tuple
    state_events: tuple
    outputs: np.ndarray


def segments(events, t_out: np.ndarray, t_end: float) -> list[Segment]:
    """Split [0, ``t_end``] at the event times in [0, ``t_end``); each output time falls in exactly one segment."""
    times = sorted({e.time for e in events if 0 <= e.time < t_end})
    cuts = [0.0] + [t for t in times if t > 0] + [t_end]
    out = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        at = [e for e in events if e.time == a]
        last = b == t_end
        mask = (t_out >= a) & ((t_out <= b) if last else (t_out < b))
        out.append(Segment(a, b, tuple(e for e in at if isinstance(e, ParameterEvent)),
                           tuple(e for e in at if not isinstance(e, ParameterEvent)), np.nonzero(mask)[0]))
    if sum(s.outputs.size for s in out) != t_out.size:
        raise ModelError("internal: some output times fall in no integration segment")
    return out


def day0_values(events) -> dict[str, float]:
    """Parameter values in force at day 0 (parameter events at ``time <= 0``; a later one in the list wins).

    They also set the initial state, which may be a formula over parameters.
    """
    return {e.parameter: float(e.value) for e in events if isinstance(e, ParameterEvent) and e.time <= 0}


def parameter_rows(p: np.ndarray) -> list:
    """Rows of a (parameters, patients) matrix; rows equal for every patient become floats (cheaper arithmetic)."""
    return [float(r[0]) if np.all(r == r[0]) else r for r in p]


@dataclass
class Plan:
    """A problem prepared for integration: its functions, output times, segments and name indices."""

    functions: MechanismFunctions
    times: np.ndarray
    segments: list[Segment]
    species_index: dict[str, int]
    parameter_index: dict[str, int]
    day0: dict[str, float]

    def apply_day0(self, p: np.ndarray) -> np.ndarray:
        """Set the day-0 parameter values in ``p`` (a vector or a (parameters, patients) matrix), in place."""
        for name, value in self.day0.items():
            p[self.parameter_index[name]] = value
        return p


class Engine:
    """Base of every engine: ``run(problem, ...) -> xarray.Dataset`` with declared capabilities.

    Subclasses set :attr:`name` and :attr:`capabilities` and implement :meth:`_run`.
    """

    name: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()

    def installed(self) -> bool:
        """Whether the engine's optional packages are importable."""
        return True

    def plan(self, problem: Problem, functions: MechanismFunctions | None = None) -> Plan:
        """Check ``problem``'s times and events once and split it into segments."""
        fns = functions or compile_mechanism(problem.mechanism, problem.params)
        t_out = problem.times()
        sidx = {s: i for i, s in enumerate(fns.species)}
        pidx = {n: i for i, n in enumerate(fns.parameters)}
        check_events(problem.events, sidx, pidx)
        caps = self.capabilities
        for e in problem.events:
            kind = "parameter_events" if isinstance(e, ParameterEvent) else "events"
            if not getattr(caps, kind):
                raise ScenarioError(f"events: the {self.name} engine cannot apply {kind.replace('_', ' ')} "
                                    f"({e.label or e})")
        return Plan(fns, t_out, segments(problem.events, t_out, problem.t_end), sidx, pidx,
                    day0_values(problem.events))

    def check_options(self, **options) -> None:
        """Refuse, by name, every option given (not None) that the engine's capabilities do not cover."""
        needs = {"parameters": "patients", "patients": "patients", "seed": "stochastic",
                 "replicates": "stochastic", "progress": "progress"}
        for key, value in options.items():
            if value is not None and not getattr(self.capabilities, needs[key]):
                raise ScenarioError(f"{key}: the {self.name} engine does not take it (it has no "
                                    f"{needs[key]} capability); leave it out or choose another engine")

    def run(self, problem: Problem, *, parameters=None, patients=None, seed=None, replicates=None, progress=None,
            functions: MechanismFunctions | None = None) -> xr.Dataset:
        """Integrate ``problem``; options outside the engine's capabilities are refused by name.

        Parameters
        ----------
        problem : Problem
            Mechanism, parameters, duration, output times, events, ``rtol``.
        parameters : ndarray (parameters, P) or list of ParameterSet, optional
            Per-patient parameters (engines with the ``patients`` capability).
        patients : array-like, optional
            Patient labels of the ``patient`` dimension (``patients`` capability).
        seed : int, optional
            Seed of the random realisations (``stochastic`` capability).
        replicates : int, optional
            Number of realisations (``stochastic`` capability).
        progress : callable, optional
            Called with the finished fraction (``progress`` capability).
        functions : MechanismFunctions, optional
            Prebuilt :func:`compile_mechanism` output for ``problem`` (saves regenerating it).

        Returns
        -------
        xarray.Dataset
            Species over ``time`` (and ``patient`` or ``replicate`` where the engine has them).
        """
        self.check_options(parameters=parameters, patients=patients, seed=seed, replicates=replicates,
                           progress=progress)
        return self._run(problem, functions=functions, parameters=parameters, patients=patients, seed=seed,
                         replicates=replicates, progress=progress)

    def _run(self, problem: Problem, **options) -> xr.Dataset:
        raise NotImplementedError


class PatientEngine(Engine):
    """Base of the cohort engines: many virtual patients per call, each column its own parameters.

    Subclasses implement :meth:`_build_kernel` (generated code for one mechanism; cached here under a key of
    the declaration) and :meth:`integrate`.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(patients=True)

    def __init__(self):
        self._kernels: dict = {}

    def kernel(self, mech: Mechanism, params):
        """Return the engine's generated code for ``mech`` (built once per declaration and parameter-name order)."""
        key = declaration_key(mech, tuple(params))
        if key not in self._kernels:
            self._kernels[key] = self._build_kernel(mech, params)
        return self._kernels[key]

    def _build_kernel(self, mech: Mechanism, params):
        raise NotImplementedError

    def integrate(self, problem: Problem, p: np.ndarray, *, species: list[str] | None = None,
                  stats: dict | None = None, kern=None) -> tuple[np.ndarray, np.ndarray]:
        """Integrate P patients that share ``problem``'s events and times but have their own parameters.

        Parameters
        ----------
        problem : Problem
            Mechanism, duration, output times, events and ``rtol`` (its ``params`` give the parameter names).
        p : ndarray, shape (parameters, P)
            Parameter values per patient, rows in the order of ``kernel(...).functions.parameters``.
        species : list of str, optional
            Species to return (default all).
        stats : dict, optional
            Receives solver counts (``rhs``, ``jac``, ``lu``, ``steps``, ``rejected``), added to what it holds.
        kern : optional
            This engine's :meth:`kernel` for the problem (default: looked up).

        Returns
        -------
        times : ndarray (T,)
            Output times (day).
        y : ndarray (len(species), T, P)
            Amounts, clipped at zero after a negativity check.
        """
        raise NotImplementedError

    def checked_inputs(self, problem: Problem, functions: MechanismFunctions, p,
                       species) -> tuple[np.ndarray, Plan, list[int]]:
        """``(p, plan, keep)``: ``p`` as a checked C-ordered float copy with the day-0 values applied.

        ``keep`` lists the rows of the species to return.
        """
        p = np.array(p, dtype=float, order="C", copy=True)
        if p.ndim != 2 or p.shape[0] != len(functions.parameters):
            raise ModelError(f"parameter matrix must have shape ({len(functions.parameters)}, patients), "
                             f"got {p.shape}")
        if p.shape[1] == 0:
            raise ScenarioError("patients: 0 patients to integrate; give at least 1")
        if not np.all(np.isfinite(p)):
            raise ModelError("parameter matrix has non-finite values")
        plan = self.plan(problem, functions)
        keep = [plan.species_index[s] for s in (species or functions.species)]
        return plan.apply_day0(p), plan, keep

    def _run(self, problem: Problem, *, functions=None, parameters=None, patients=None, **_unused) -> xr.Dataset:
        if functions is not None:
            raise ScenarioError(f"functions: the {self.name} engine generates its own kernel from the problem's "
                                "mechanism; leave it out")
        k = self.kernel(problem.mechanism, problem.params)
        if parameters is None:
            pm = parameter_matrix(k.functions, [problem.params])
        elif isinstance(parameters, np.ndarray):
            pm = parameters
        else:
            pm = parameter_matrix(k.functions, parameters)
        stats: dict = {}
        times, y = self.integrate(problem, pm, stats=stats, kern=k)
        ids = np.arange(pm.shape[1]) if patients is None else np.asarray(patients)
        data = {}
        for i, s in enumerate(problem.mechanism.species):
            data[s.name] = xr.DataArray(y[i].T, dims=("patient", "time"),
                                        attrs={"unit": s.unit, "description": s.description,
                                               "compartment": s.compartment})
        attrs = {"engine": self.name, "rtol": problem.rtol, "label": problem.label,
                 **{f"n_{key}": int(v) for key, v in stats.items()}}
        return xr.Dataset(data, coords={"time": ("time", times, {"unit": "day"}), "patient": ids}, attrs=attrs)


def parameter_matrix(functions: MechanismFunctions, params_list) -> np.ndarray:
    """Stack parameter sets (or name->value dicts) into a (parameters, patients) matrix."""
    cols = []
    for ps in params_list:
        values = ps.numbers() if hasattr(ps, "numbers") else ps
        try:
            cols.append([float(values[name]) for name in functions.parameters])
        except KeyError as exc:
            raise ModelError(f"parameter set lacks {exc.args[0]!r} needed by the mechanism") from None
    return np.array(cols, dtype=float).T


__all__ = ["Capabilities", "Engine", "Event", "ParameterEvent", "PatientEngine", "Plan", "Segment", "day0_values",
           "parameter_matrix", "parameter_rows", "segments"]
