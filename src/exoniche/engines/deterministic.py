"""Deterministic stiff engine: SciPy BDF with the Jacobian's sparsity pattern from the mechanism."""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from exoniche.engines.compile import compile_mechanism
from exoniche.engines.problem import ParameterEvent, Problem, check_events
from exoniche.engines.result import trajectory_dataset
from exoniche.errors import ModelError

NAME = "deterministic"


def _segments(t_out: np.ndarray, events, t_end: float):
    """Split [0, t_end] at event times; yield (t0, t1, events at t0)."""
    times = sorted({e.time for e in events if 0 <= e.time < t_end})
    cuts = [0.0] + [t for t in times if t > 0] + [t_end]
    for a, b in zip(cuts[:-1], cuts[1:]):
        yield a, b, [e for e in events if e.time == a]


def run(problem: Problem, *, seed=None, replicates: int = 1, progress=None, compiled=None):
    """Integrate the mechanism; returns an ``xarray.Dataset`` (species over time).

    ``seed`` and ``replicates`` are accepted for interface compatibility and ignored.
    Amounts stay non-negative: every consuming rate is proportional to its substrate, and tiny
    negative values from solver round-off (below 1e-9 of the species' scale) are clipped.
    """
    mech, params = problem.mechanism, problem.params
    comp = compiled or compile_mechanism(mech, params)
    p = comp.param_vector(params)
    t_out = problem.times()
    idx = {s: i for i, s in enumerate(comp.species)}
    pidx = {name: i for i, name in enumerate(comp.parameters)}
    for e in check_events(problem.events, idx, pidx):  # values in force at t = 0 also set the initial state
        p[pidx[e.parameter]] = e.value
    y0 = np.array(comp.initial(p), dtype=float)
    out = np.empty((len(comp.species), len(t_out)))
    filled = np.zeros(len(t_out), dtype=bool)
    atol = problem.rtol * 1e-3 * comp.scales
    rhs = comp.rhs

    def f(t, y):
        return rhs(t, y.tolist(), p)

    y = y0
    for t0, t1, evs in _segments(t_out, problem.events, problem.t_end):
        for e in evs:
            if isinstance(e, ParameterEvent):
                p[pidx[e.parameter]] = e.value
            else:
                y[idx[e.species]] = e.apply(y[idx[e.species]])
        last = t1 == problem.t_end
        mask = (t_out >= t0) & ((t_out <= t1) if last else (t_out < t1))
        t_eval = np.union1d(t_out[mask], [t1])
        sol = solve_ivp(f, (t0, t1), y, method="BDF", t_eval=t_eval, rtol=problem.rtol, atol=atol,
                        jac_sparsity=comp.sparsity)
        if not sol.success:
            raise ModelError(f"integration failed between day {t0:g} and {t1:g}: {sol.message}")
        keep = np.isin(sol.t, t_out[mask])
        out[:, mask] = sol.y[:, keep]
        filled |= mask
        y = sol.y[:, -1].copy()
        if progress:
            progress(t1 / problem.t_end)
    if not filled.all():
        raise ModelError("internal: some output times were not computed")
    if not np.all(np.isfinite(out)):
        raise ModelError("integration produced non-finite values")
    floor = -1e-9 * comp.scales[:, None]
    if np.any(out < floor - 1e-6 * np.abs(out).max(axis=1, keepdims=True)):
        bad = comp.species[int(np.argmin((out - floor).min(axis=1)))]
        raise ModelError(f"integration produced a negative amount of {bad}")
    out = np.maximum(out, 0.0)
    attrs = {"engine": NAME, "rtol": problem.rtol, "label": problem.label}
    return trajectory_dataset(mech, t_out, out, attrs)
