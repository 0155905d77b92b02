"""Deterministic stiff engine: SciPy BDF with the Jacobian's sparsity pattern from the mechanism, one run."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.integrate import solve_ivp

from exoniche.engines.base import Capabilities, Engine
from exoniche.engines.problem import Problem
from exoniche.engines.result import trajectory_dataset
from exoniche.errors import ModelError


class DeterministicEngine(Engine):
    """One trajectory of the mechanism with SciPy's ``BDF``; events restart the integration.

    Amounts stay non-negative: every consuming rate is proportional to its substrate, and tiny negative values
    from solver round-off (below 1e-9 of the species' scale) are clipped.
    """

    name: ClassVar[str] = "deterministic"
    capabilities: ClassVar[Capabilities] = Capabilities(progress=True)

    def _run(self, problem: Problem, *, functions=None, progress=None, **_unused):
        plan = self.plan(problem, functions)
        comp = plan.functions
        p = plan.apply_day0(comp.param_vector(problem.params))
        t_out = plan.times
        y = np.array(comp.initial(p), dtype=float)  # day-0 parameter values also set the initial state
        out = np.empty((len(comp.species), len(t_out)))
        atol = problem.rtol * 1e-3 * comp.scales
        rhs, sidx, pidx = comp.rhs, plan.species_index, plan.parameter_index

        def f(t, y):
            return rhs(t, y.tolist(), p)

        for seg in plan.segments:
            for e in seg.parameter_events:
                p[pidx[e.parameter]] = e.value
            for e in seg.state_events:
                y[sidx[e.species]] = e.apply(y[sidx[e.species]])
            t_eval = np.union1d(t_out[seg.outputs], [seg.t1])
            sol = solve_ivp(f, (seg.t0, seg.t1), y, method="BDF", t_eval=t_eval, rtol=problem.rtol, atol=atol,
                            jac_sparsity=comp.sparsity)
            if not sol.success:
                raise ModelError(f"integration failed between day {seg.t0:g} and {seg.t1:g}: {sol.message}")
            keep = np.isin(sol.t, t_out[seg.outputs])
            out[:, seg.outputs] = sol.y[:, keep]
            y = sol.y[:, -1].copy()
            if progress:
                progress(seg.t1 / problem.t_end)
        if not np.all(np.isfinite(out)):
            raise ModelError("integration produced non-finite values")
        floor = -1e-9 * comp.scales[:, None]
        if np.any(out < floor - 1e-6 * np.abs(out).max(axis=1, keepdims=True)):
            bad = comp.species[int(np.argmin((out - floor).min(axis=1)))]
            raise ModelError(f"integration produced a negative amount of {bad}")
        out = np.maximum(out, 0.0)
        attrs = {"engine": self.name, "rtol": problem.rtol, "label": problem.label}
        return trajectory_dataset(problem.mechanism, t_out, out, attrs)


ENGINE = DeterministicEngine()
run = ENGINE.run

__all__ = ["ENGINE", "DeterministicEngine", "run"]
