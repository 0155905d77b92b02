"""Batched deterministic engine: many virtual patients integrated at once, in lock-step.

Design (chosen by measurement on the 2-core CI machine; numbers in ``docs/cohorts.md``)
--------------------------------------------------------------------------------------
* **Vectorised NumPy over patients.** The mechanism's rate strings are compiled once into straight-line
  NumPy code whose every variable is a row of length P (patients). At P = 10^4 one right-hand-side
  evaluation costs ~0.8 µs per patient and the Python interpreter's share is below 5 %, so a compiled
  kernel per patient wins by fusing the element-wise loops: that is the ``compiled`` engine
  (:mod:`exoniche.engines.numba_bdf`, Numba, the cohort default); this one needs only NumPy.
  Parameter-only expressions (flow-weighted uptake rates, Gompertz rate, ...) are hoisted out of the
  right-hand side and evaluated once per batch and segment; parameters equal for every patient of a batch
  stay scalars.
* **Stiff, adaptive: variable-order BDF (orders 1–5, NDF coefficients)** — the algorithm of SciPy's
  ``BDF`` used by the single-run engine, so both engines make the same approximations (constants, Newton
  tolerance, colouring and sparse LU shared with the compiled engine in :mod:`exoniche.engines._bdf`).
  All patients share one step size and order; the error norm of a step is the largest per-patient RMS
  norm, so every patient is integrated at least as accurately as it would be alone. Plasma exosome
  clearance (12–90 /day) and CTC loss (~10 /day) against tumour timescales of weeks make explicit methods
  useless here.
* **Jacobian**: forward differences, columns grouped by a greedy colouring of the mechanism's sparsity
  pattern (one batched right-hand side per colour, not per species), recomputed only when Newton
  iterations stall (as in SciPy).
* **Linear algebra**: ``I - c J`` has the mechanism's sparsity. A minimum-degree ordering and a symbolic
  factorisation are computed once; the numeric LU (no pivoting: the matrix is diagonally dominant for
  the small ``c`` BDF uses, and a non-finite result is treated as a failed Newton iteration, which
  refreshes the Jacobian and shrinks the step) runs pivot by pivot on arrays of shape (entries, P).

Lock-step means a batch takes the union of its patients' step demands; patients of one cohort share the
same events (interventions), so their step-size sequences are similar and the cost is close to that of
the hardest patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from exoniche.biology import Mechanism
from exoniche.engines import _bdf
from exoniche.engines._bdf import SparseLU
from exoniche.engines.base import Capabilities, PatientEngine, parameter_rows
from exoniche.engines.functions import ARRAY_NAMESPACE, MechanismFunctions, compile_mechanism, derivative
from exoniche.engines.problem import Problem
from exoniche.errors import ModelError


# ------------------------------------------------------------------------------ code generation
@dataclass
class BatchKernel:
    """Generated batched functions and the sparse structure of one mechanism."""

    functions: MechanismFunctions
    prepare: object  # prepare(p_rows) -> tuple of hoisted values
    rhs: object  # rhs(y (n, P), hoisted) -> (n, P)
    initial: object  # initial(p_rows) -> list of n rows (scalars or (P,))
    groups: list  # colour groups of columns for the FD Jacobian
    jac_rows: list  # per column j: rows i with J[i, j] structurally non-zero
    jac_pos: list  # per column j: positions of those entries in lu's entry list
    lu: SparseLU


def _generate(mech: Mechanism, comp: MechanismFunctions) -> tuple:
    species = comp.species
    pnames = comp.parameters
    hoisted_exprs, dynamic_exprs = _bdf.split_expressions(mech, species)
    used = _bdf.used_names([e.formula for e in dynamic_exprs] + [p.rate for p in mech.processes])
    hoisted_names = [n for n in pnames + [e.name for e in hoisted_exprs] if n in used]
    params_and_hoisted = [f"    {name} = p[{i}]" for i, name in enumerate(pnames)]
    params_and_hoisted += [f"    {e.name} = {e.formula}" for e in hoisted_exprs]
    src = ["def prepare(p):", *params_and_hoisted]
    src += ["    return (" + "".join(f"{n}, " for n in hoisted_names) + ")", ""]
    src += ["def rhs(y, h):"]
    if hoisted_names:
        src += ["    " + "".join(f"{n}, " for n in hoisted_names) + "= h"]
    src += [f"    {name} = y[{i}]" for i, name in enumerate(species)]
    src += [f"    {e.name} = {e.formula}" for e in dynamic_exprs]
    src += [f"    r{j} = {p.rate}" for j, p in enumerate(mech.processes)]
    src += ["    dy = np.empty(y.shape)"]
    src += [f"    dy[{i}] = {derivative(comp.stoich, i)}" for i in range(len(species))]
    src += ["    return dy", ""]
    # initial amounts may use parameter-only expressions (quasi-steady states), as in functions.py
    src += ["def initial(p):", *params_and_hoisted,
            "    return [" + ", ".join(s.initial for s in mech.species) + "]", ""]
    ns: dict = dict(ARRAY_NAMESPACE)
    ns["np"] = np
    exec(compile("\n".join(src), "<exoniche-batched>", "exec"), ns)
    return ns["prepare"], ns["rhs"], ns["initial"]


# ------------------------------------------------------------------------------ the BDF solver
def _rms(x: np.ndarray) -> np.ndarray:
    """Per-patient RMS norm over species: (n, P) -> (P,)."""
    return np.sqrt(np.mean(x * x, axis=0))


def _compute_R(order: int, factor: float) -> np.ndarray:
    i = np.arange(1, order + 1)[:, None]
    j = np.arange(1, order + 1)
    M = np.zeros((order + 1, order + 1))
    M[1:, 1:] = (i - 1 - factor * j) / i
    M[0] = 1
    return np.cumprod(M, axis=0)


def _change_D(D: np.ndarray, order: int, factor: float) -> None:
    RU = _compute_R(order, factor).dot(_compute_R(order, 1))
    D[: order + 1] = np.tensordot(RU.T, D[: order + 1], axes=1)


class _Integrator:
    """One segment of lock-step BDF for a batch (y: species x patients)."""

    def __init__(self, k: BatchKernel, hoisted, t0, y0, t_bound, rtol, atol, stats):
        self.k, self.h, self.rtol, self.atol = k, hoisted, rtol, atol[:, None]
        self.t, self.t_bound, self.stats = t0, t_bound, stats
        self.n, self.P = y0.shape
        f0 = self.fun(y0)
        self.h_abs = self._initial_step(y0, f0)
        self.newton_tol = _bdf.newton_tol(rtol)
        self.D = np.zeros((_bdf.MAX_ORDER + 3, self.n, self.P))
        self.D[0] = y0
        self.D[1] = f0 * self.h_abs
        self.order = 1
        self.n_equal_steps = 0
        self.J = self.jacobian(y0, f0)
        self.LU = None

    def fun(self, y):
        self.stats["rhs"] += 1
        return self.k.rhs(y, self.h)

    def _initial_step(self, y0, f0) -> float:
        # Hairer & Wanner's rule, as SciPy's select_initial_step, with the worst patient deciding.
        scale = self.atol + np.abs(y0) * self.rtol
        interval = abs(self.t_bound - self.t)
        d0, d1 = _rms(y0 / scale), _rms(f0 / scale)
        h0 = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / np.maximum(d1, 1e-300))
        h0 = float(min(np.min(h0), interval))
        y1 = y0 + h0 * f0
        f1 = self.fun(y1)
        d2 = float(np.max(_rms((f1 - f0) / scale))) / h0
        dmax = max(float(np.max(d1)), d2)
        h1 = max(1e-6, h0 * 1e-3) if dmax <= 1e-15 else (0.01 / dmax) ** 0.5
        return min(100 * h0, h1, interval)

    def jacobian(self, y, f):
        """Forward-difference Jacobian entries on the sparsity pattern: (entries, P)."""
        self.stats["jac"] += 1
        lu = self.k.lu
        J = np.zeros((lu.entry_rows.size, self.P))
        pos = self.k.jac_pos
        threshold = self.atol
        for cols in self.k.groups:
            yc = y[cols]
            step = np.sqrt(_bdf.EPS) * np.maximum(np.abs(yc), threshold[cols] * 1e3)
            yp = y.copy()
            yp[cols] = yc + step
            step = yp[cols] - yc  # exactly representable step
            df = self.fun(yp) - f
            for c, j in enumerate(cols):
                rows = self.k.jac_rows[j]
                J[pos[j]] = df[rows] / step[c]
        return J

    def factor(self, c):
        self.stats["lu"] += 1
        lu = self.k.lu
        vals = np.zeros((lu.nslots, self.P))
        vals[lu.entry_slots] = -c * self.J
        vals[lu.entry_slots[lu.diag_entries]] += 1.0
        return lu.blocks(lu.factor(vals))

    def _newton(self, y_predict, c, psi, LU, scale):
        d = 0.0
        y = y_predict.copy()
        dy_norm_old = None
        converged = False
        k = 0
        for k in range(_bdf.NEWTON_MAXITER):
            f = self.fun(y)
            if not np.all(np.isfinite(f)):
                break
            dy = self.k.lu.solve(LU, c * f - psi - d)
            if not np.all(np.isfinite(dy)):
                break
            dy_norm = float(np.max(_rms(dy / scale)))
            rate = None if dy_norm_old is None else dy_norm / dy_norm_old
            if rate is not None and (
                    rate >= 1 or rate ** (_bdf.NEWTON_MAXITER - k) / (1 - rate) * dy_norm > self.newton_tol):
                break
            y += dy
            d = d + dy
            if dy_norm == 0 or (rate is not None and rate / (1 - rate) * dy_norm < self.newton_tol):
                converged = True
                break
            dy_norm_old = dy_norm
        return converged, k + 1, y, d

    def step(self) -> None:
        t, D = self.t, self.D
        min_step = 10 * abs(np.nextafter(t, np.inf) - t)
        h_abs = max(self.h_abs, min_step)
        order = self.order
        LU = self.LU
        current_jac = False
        while True:
            if h_abs < min_step:
                raise ModelError(f"batched integration: step size too small at day {t:g}")
            t_new = t + h_abs
            if t_new - self.t_bound > 0:
                t_new = self.t_bound
                _change_D(D, order, abs(t_new - t) / h_abs)
                self.n_equal_steps = 0
                LU = None
            h_abs = abs(t_new - t)
            y_predict = np.sum(D[: order + 1], axis=0)
            scale = self.atol + self.rtol * np.abs(y_predict)
            psi = np.tensordot(_bdf.GAMMA[1: order + 1], D[1: order + 1], axes=1) / _bdf.ALPHA[order]
            c = h_abs / _bdf.ALPHA[order]
            converged = False
            while not converged:
                if LU is None:
                    LU = self.factor(c)
                converged, n_iter, y_new, d = self._newton(y_predict, c, psi, LU, scale)
                if not converged:
                    if current_jac:
                        break
                    self.J = self.jacobian(y_predict, self.fun(y_predict))
                    LU = None
                    current_jac = True
            if not converged:
                h_abs *= 0.5
                _change_D(D, order, 0.5)
                self.n_equal_steps = 0
                LU = None
                continue
            safety = 0.9 * (2 * _bdf.NEWTON_MAXITER + 1) / (2 * _bdf.NEWTON_MAXITER + n_iter)
            scale = self.atol + self.rtol * np.abs(y_new)
            error_norm = float(np.max(_rms(_bdf.ERROR_CONST[order] * d / scale)))
            if error_norm > 1:
                factor = max(_bdf.MIN_FACTOR, safety * error_norm ** (-1 / (order + 1)))
                h_abs *= factor
                _change_D(D, order, factor)
                self.n_equal_steps = 0
                self.stats["rejected"] += 1
            else:
                break
        self.stats["steps"] += 1
        self.n_equal_steps += 1
        self.t = t_new
        self.h_abs = h_abs
        self.LU = LU
        D[order + 2] = d - D[order + 1]
        D[order + 1] = d
        for i in reversed(range(order + 1)):
            D[i] += D[i + 1]
        if self.n_equal_steps < order + 1:
            self.dense = (self.t, self.h_abs, order, D[: order + 1].copy())
            return
        error_m_norm = (float(np.max(_rms(_bdf.ERROR_CONST[order - 1] * D[order] / scale)))
                        if order > 1 else np.inf)
        error_p_norm = (float(np.max(_rms(_bdf.ERROR_CONST[order + 1] * D[order + 2] / scale)))
                        if order < _bdf.MAX_ORDER else np.inf)
        norms = np.array([error_m_norm, error_norm, error_p_norm])
        with np.errstate(divide="ignore"):
            factors = norms ** (-1 / np.arange(order, order + 3))
        order += int(np.argmax(factors)) - 1
        self.order = order
        factor = min(_bdf.MAX_FACTOR, safety * float(np.max(factors)))
        self.h_abs *= factor
        _change_D(D, order, factor)
        self.n_equal_steps = 0
        self.LU = None
        self.dense = (self.t, self.h_abs, order, D[: order + 1].copy())

    def interpolate(self, times: np.ndarray, keep) -> np.ndarray:
        """Dense output of the last step at ``times`` (within it) for species ``keep``: (len(times), k, P)."""
        # SciPy's BdfDenseOutput: D holds the backward differences scaled to the current step size h.
        t, h, order, D = self.dense
        t_shift = t - h * np.arange(order)
        denom = h * (1 + np.arange(order))
        x = (times[:, None] - t_shift[None, :]) / denom[None, :]
        p = np.cumprod(x, axis=1)  # (m, order)
        Dk = D[:, keep]
        return Dk[0][None] + np.tensordot(p, Dk[1:], axes=1)


# ------------------------------------------------------------------------------ the engine
class BatchedEngine(PatientEngine):
    """NumPy lock-step BDF over a batch of patients (needs no compiler)."""

    name: ClassVar[str] = "batched"
    capabilities: ClassVar[Capabilities] = Capabilities(patients=True)

    def _build_kernel(self, mech: Mechanism, params) -> BatchKernel:
        comp = compile_mechanism(mech, params)
        prepare, rhs, initial = _generate(mech, comp)
        lu = SparseLU(comp.sparsity)
        rows, pos = _bdf.jacobian_columns(comp.sparsity, lu)
        return BatchKernel(comp, prepare, rhs, initial, _bdf.colour_columns(comp.sparsity), rows, pos, lu)

    def integrate(self, problem: Problem, p: np.ndarray, *, species: list[str] | None = None,
                  stats: dict | None = None, kern: BatchKernel | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Integrate the patients in lock-step (see :meth:`PatientEngine.integrate <.base.PatientEngine.integrate>`)."""
        k = kern or self.kernel(problem.mechanism, problem.params)
        comp = k.functions
        p, plan, keep = self.checked_inputs(problem, comp, p, species)
        t_out, sidx, pidx = plan.times, plan.species_index, plan.parameter_index
        stats = stats if stats is not None else {}
        for key in ("rhs", "jac", "lu", "steps", "rejected"):
            stats.setdefault(key, 0)
        P = p.shape[1]
        y = np.empty((len(comp.species), P))
        for i, row in enumerate(k.initial(parameter_rows(p))):
            y[i] = row
        out = np.empty((t_out.size, len(keep), P))  # time-major: each output time is one contiguous write
        atol = problem.rtol * 1e-3 * comp.scales
        for seg in plan.segments:
            for e in seg.parameter_events:
                p[pidx[e.parameter]] = e.value
            for e in seg.state_events:
                y[sidx[e.species]] = y[sidx[e.species]] * e.factor + e.amount
            want = seg.outputs
            integ = _Integrator(k, k.prepare(parameter_rows(p)), seg.t0, y, seg.t1, problem.rtol, atol, stats)
            pos = 0
            while pos < want.size and t_out[want[pos]] <= seg.t0:  # outputs at the segment start
                out[want[pos]] = y[keep]
                pos += 1
            while integ.t < seg.t1:
                integ.step()
                hi = pos
                while hi < want.size and t_out[want[hi]] <= integ.t:
                    hi += 1
                if hi > pos:
                    out[want[pos:hi]] = integ.interpolate(t_out[want[pos:hi]], keep)
                    pos = hi
            y = integ.D[0].copy()
            # the step landing exactly on t1 gives the end state; its output (if any) is exact
            if pos < want.size:
                out[want[pos:]] = y[keep][None]
        if not np.all(np.isfinite(out)):
            raise ModelError("batched integration produced non-finite values")
        low = out.min(axis=0)
        if np.any(low < 0):
            floor = -1e-9 * comp.scales[keep][:, None] - 1e-6 * np.abs(out).max(axis=0)
            bad = (low < floor).any(axis=1)
            if bad.any():
                worst = comp.species[keep[int(np.argmax(bad))]]
                raise ModelError(f"batched integration produced a negative amount of {worst}")
            np.maximum(out, 0.0, out=out)
        return t_out, out.transpose(1, 0, 2)


ENGINE = BatchedEngine()
kernel = ENGINE.kernel
integrate = ENGINE.integrate
run = ENGINE.run

__all__ = ["ENGINE", "BatchKernel", "BatchedEngine", "SparseLU", "integrate", "kernel", "run"]
