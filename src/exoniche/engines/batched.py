"""Batched deterministic engine: many virtual patients integrated at once, in lock-step.

Design (chosen by measurement on the 2-core CI machine; numbers in ``docs/cohorts.md``)
--------------------------------------------------------------------------------------
* **Vectorised NumPy over patients.** The mechanism's rate strings are compiled once into straight-line
  NumPy code whose every variable is a row of length P (patients). At P = 10^4 one right-hand-side
  evaluation costs ~0.8 µs per patient and the Python interpreter's share is below 5 %, so a compiled
  kernel per patient would only win by fusing the element-wise loops. Numba and JAX are not dependencies
  of the project (neither is installed in CI); JAX's CPU backend would need the whole adaptive stiff
  solver rewritten as a traced ``while_loop``. Parameter-only expressions (flow-weighted uptake rates,
  Gompertz rate, ...) are hoisted out of the right-hand side and evaluated once per batch and segment;
  parameters equal for every patient of a batch stay scalars.
* **Stiff, adaptive: variable-order BDF (orders 1–5, NDF coefficients)** — the algorithm of SciPy's
  ``BDF`` used by the single-run engine, so both engines make the same approximations. All patients share
  one step size and order; the error norm of a step is the largest per-patient RMS norm, so every patient
  is integrated at least as accurately as it would be alone. Plasma exosome clearance (12–90 /day) and
  CTC loss (~10 /day) against tumour timescales of weeks make explicit methods useless here.
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

import numpy as np
import xarray as xr

from exoniche.biology.mechanism import Mechanism
from exoniche.engines.compile import (
    ARRAY_NAMESPACE,
    Compiled,
    compile_mechanism,
    derivative,
    identifiers,
    state_dependent,
)
from exoniche.engines.problem import ParameterEvent, Problem, check_events
from exoniche.errors import ModelError, ScenarioError

NAME = "batched"

MAX_ORDER = 5
NEWTON_MAXITER = 4
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0
_EPS = np.finfo(float).eps
_KAPPA = np.array([0, -0.1850, -1 / 9, -0.0823, -0.0415, 0])
_GAMMA = np.hstack((0, np.cumsum(1 / np.arange(1, MAX_ORDER + 1))))
_ALPHA = (1 - _KAPPA) * _GAMMA
_ERROR_CONST = _KAPPA * _GAMMA + 1 / np.arange(1, MAX_ORDER + 2)


# ------------------------------------------------------------------------------ code generation
@dataclass
class BatchKernel:
    """Generated batched functions and the sparse structure of one mechanism."""

    compiled: Compiled
    prepare: object  # prepare(p_rows) -> tuple of hoisted values
    rhs: object  # rhs(y (n, P), hoisted) -> (n, P)
    initial: object  # initial(p_rows) -> list of n rows (scalars or (P,))
    groups: list  # colour groups of columns for the FD Jacobian
    jac_rows: list  # per column j: rows i with J[i, j] structurally non-zero
    lu: SparseLU


def _generate(mech: Mechanism, comp: Compiled) -> tuple:
    species = comp.species
    pnames = comp.parameters
    state_dep = state_dependent(mech, species)
    hoisted_exprs = [e for e in mech.expressions if e.name not in state_dep]
    dynamic_exprs = [e for e in mech.expressions if e.name in state_dep]
    used: set[str] = set()
    for text in [e.formula for e in dynamic_exprs] + [p.rate for p in mech.processes]:
        used |= identifiers(text)
    hoisted_names = [n for n in pnames + [e.name for e in hoisted_exprs] if n in used]
    src = ["def prepare(p):"]
    src += [f"    {name} = p[{i}]" for i, name in enumerate(pnames)]
    src += [f"    {e.name} = {e.formula}" for e in hoisted_exprs]
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
    # initial amounts may use parameter-only expressions (quasi-steady states), as in compile.py
    src += ["def initial(p):", *[f"    {name} = p[{i}]" for i, name in enumerate(pnames)],
            *[f"    {e.name} = {e.formula}" for e in hoisted_exprs],
            "    return [" + ", ".join(s.initial for s in mech.species) + "]", ""]
    ns: dict = dict(ARRAY_NAMESPACE)
    ns["np"] = np
    exec(compile("\n".join(src), "<exoniche-batched>", "exec"), ns)
    return ns["prepare"], ns["rhs"], ns["initial"]


def _colour_columns(sparsity: np.ndarray) -> list[np.ndarray]:
    """Greedy colouring: columns in one group share no row, so one perturbation serves them all."""
    n = sparsity.shape[1]
    groups: list[list[int]] = []
    rows_of: list[np.ndarray] = []
    for j in np.argsort(-sparsity.sum(axis=0), kind="stable"):
        col = sparsity[:, j]
        for g, rows in zip(groups, rows_of):
            if not np.any(rows & col):
                g.append(int(j))
                rows |= col
                break
        else:
            groups.append([int(j)])
            rows_of.append(col.copy())
    assert sum(len(g) for g in groups) == n
    return [np.array(sorted(g)) for g in groups]


class SparseLU:
    """Batched sparse LU of matrices with one fixed pattern, without pivoting.

    Values live in an array of shape (slots, P); ``slot[(i, j)]`` addresses entry (i, j) of the permuted
    matrix, fill-in included.
    """

    def __init__(self, pattern: np.ndarray):
        n = pattern.shape[0]
        sym = pattern | pattern.T
        # minimum-degree ordering on the symmetric pattern
        adj = [set(np.nonzero(sym[i])[0]) - {i} for i in range(n)]
        remaining = set(range(n))
        order = []
        while remaining:
            k = min(remaining, key=lambda v: (len(adj[v]), v))
            order.append(k)
            nb = adj[k]
            for a in nb:
                adj[a] |= nb - {a}
                adj[a].discard(k)
            remaining.discard(k)
            adj[k] = set()
        self.perm = np.array(order)
        A = pattern[np.ix_(self.perm, self.perm)].copy()
        np.fill_diagonal(A, True)
        F = A.copy()
        for k in range(n):
            rows = np.nonzero(F[k + 1:, k])[0] + k + 1
            cols = np.nonzero(F[k, k + 1:])[0] + k + 1
            if rows.size and cols.size:
                F[np.ix_(rows, cols)] = True
        self.n = n
        ii, jj = np.nonzero(F)
        self.nslots = ii.size
        slot = -np.ones((n, n), dtype=np.int64)
        slot[ii, jj] = np.arange(ii.size)
        self.slot = slot
        self.diag = slot[np.arange(n), np.arange(n)]
        self.steps = []
        for k in range(n):
            rows = np.nonzero(F[k + 1:, k])[0] + k + 1
            cols = np.nonzero(F[k, k + 1:])[0] + k + 1
            L = slot[rows, k]
            U = slot[k, cols]
            T = slot[np.ix_(rows, cols)].ravel() if rows.size and cols.size else np.zeros(0, dtype=np.int64)
            self.steps.append((int(self.diag[k]), rows, L, cols, U, T))
        # where the (unpermuted) pattern's entries go
        inv = np.empty(n, dtype=np.int64)
        inv[self.perm] = np.arange(n)
        pi, pj = np.nonzero(pattern | np.eye(n, dtype=bool))
        self.entry_rows, self.entry_cols = pi, pj
        self.entry_slots = slot[inv[pi], inv[pj]]

    def factor(self, values: np.ndarray) -> np.ndarray:
        """In-place LU of ``values`` (slots, P); returns it."""
        a = values
        for kk, _rows, L, _cols, U, T in self.steps:
            if L.size:
                a[L] /= a[kk]
                if U.size:
                    a[T] -= (a[L][:, None, :] * a[U][None, :, :]).reshape(T.size, -1)
        return a

    def blocks(self, lu: np.ndarray) -> list:
        """Per pivot: contiguous copies of its L column, U row and 1/pivot, gathered once per factorisation."""
        return [(lu[L] if L.size else None, lu[U] if U.size else None, 1.0 / lu[kk])
                for kk, rows, L, cols, U, T in self.steps]

    def solve(self, blocks: list, b: np.ndarray) -> np.ndarray:
        """Solve for each patient; ``b`` is (n, P) in the original species order."""
        x = b[self.perm]
        steps = self.steps
        for k in range(self.n):
            Lk = blocks[k][0]
            if Lk is not None:
                x[steps[k][1]] -= Lk * x[k]
        for k in range(self.n - 1, -1, -1):
            Uk, inv = blocks[k][1], blocks[k][2]
            if Uk is not None:
                x[k] -= np.einsum("ij,ij->j", Uk, x[steps[k][3]])
            x[k] *= inv
        out = np.empty_like(x)
        out[self.perm] = x
        return out


_KERNELS: dict = {}


def kernel(mech: Mechanism, params) -> BatchKernel:
    """Compile (once per mechanism and parameter-name list) the batched functions."""
    key = (id(mech), tuple(params))
    if key not in _KERNELS:
        comp = compile_mechanism(mech, params)
        prepare, rhs, initial = _generate(mech, comp)
        S = comp.sparsity
        groups = _colour_columns(S)
        jac_rows = [np.nonzero(S[:, j])[0] for j in range(S.shape[1])]
        _KERNELS[key] = BatchKernel(comp, prepare, rhs, initial, groups, jac_rows, SparseLU(S))
    return _KERNELS[key]


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
        self.newton_tol = max(10 * _EPS / rtol, min(0.03, rtol**0.5))
        self.D = np.zeros((MAX_ORDER + 3, self.n, self.P))
        self.D[0] = y0
        self.D[1] = f0 * self.h_abs
        self.order = 1
        self.n_equal_steps = 0
        self.J = self.jacobian(y0, f0)
        self.LU = None
        self.t_old = t0
        self.dense_D = None

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
        # map (row, col) -> position in the entry list
        pos = self._entry_pos()
        threshold = self.atol
        for cols in self.k.groups:
            yc = y[cols]
            step = np.sqrt(_EPS) * np.maximum(np.abs(yc), threshold[cols] * 1e3)
            yp = y.copy()
            yp[cols] = yc + step
            step = yp[cols] - yc  # exactly representable step
            df = self.fun(yp) - f
            for c, j in enumerate(cols):
                rows = self.k.jac_rows[j]
                J[pos[j]] = df[rows] / step[c]
        return J

    def _entry_pos(self):
        if not hasattr(self.k, "_pos"):
            lu = self.k.lu
            lookup = {(int(i), int(j)): e for e, (i, j) in enumerate(zip(lu.entry_rows, lu.entry_cols))}
            self.k._pos = [np.array([lookup[(int(i), j)] for i in self.k.jac_rows[j]], dtype=np.int64)
                           for j in range(self.n)]
            self.k._diag_pos = np.array([lookup[(i, i)] for i in range(self.n)])
        return self.k._pos

    def factor(self, c):
        self.stats["lu"] += 1
        lu = self.k.lu
        vals = np.zeros((lu.nslots, self.P))
        vals[lu.entry_slots] = -c * self.J
        vals[lu.entry_slots[self.k._diag_pos]] += 1.0
        return lu.blocks(lu.factor(vals))

    def _newton(self, t_new, y_predict, c, psi, LU, scale):
        d = 0.0
        y = y_predict.copy()
        dy_norm_old = None
        converged = False
        k = 0
        for k in range(NEWTON_MAXITER):
            f = self.fun(y)
            if not np.all(np.isfinite(f)):
                break
            dy = self.k.lu.solve(LU, c * f - psi - d)
            if not np.all(np.isfinite(dy)):
                break
            dy_norm = float(np.max(_rms(dy / scale)))
            rate = None if dy_norm_old is None else dy_norm / dy_norm_old
            if rate is not None and (
                    rate >= 1 or rate ** (NEWTON_MAXITER - k) / (1 - rate) * dy_norm > self.newton_tol):
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
            psi = np.tensordot(_GAMMA[1: order + 1], D[1: order + 1], axes=1) / _ALPHA[order]
            c = h_abs / _ALPHA[order]
            converged = False
            while not converged:
                if LU is None:
                    LU = self.factor(c)
                converged, n_iter, y_new, d = self._newton(t_new, y_predict, c, psi, LU, scale)
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
            safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
            scale = self.atol + self.rtol * np.abs(y_new)
            error_norm = float(np.max(_rms(_ERROR_CONST[order] * d / scale)))
            if error_norm > 1:
                factor = max(MIN_FACTOR, safety * error_norm ** (-1 / (order + 1)))
                h_abs *= factor
                _change_D(D, order, factor)
                self.n_equal_steps = 0
                self.stats["rejected"] += 1
            else:
                break
        self.stats["steps"] += 1
        self.n_equal_steps += 1
        self.t_old = t
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
        error_m_norm = (float(np.max(_rms(_ERROR_CONST[order - 1] * D[order] / scale)))
                        if order > 1 else np.inf)
        error_p_norm = (float(np.max(_rms(_ERROR_CONST[order + 1] * D[order + 2] / scale)))
                        if order < MAX_ORDER else np.inf)
        norms = np.array([error_m_norm, error_norm, error_p_norm])
        with np.errstate(divide="ignore"):
            factors = norms ** (-1 / np.arange(order, order + 3))
        order += int(np.argmax(factors)) - 1
        self.order = order
        factor = min(MAX_FACTOR, safety * float(np.max(factors)))
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


# ------------------------------------------------------------------------------ public API
def parameter_matrix(comp: Compiled, params_list) -> np.ndarray:
    """Stack parameter sets (or name->value dicts) into a (parameters, patients) matrix."""
    cols = []
    for ps in params_list:
        values = ps.numbers() if hasattr(ps, "numbers") else ps
        try:
            cols.append([float(values[name]) for name in comp.parameters])
        except KeyError as exc:
            raise ModelError(f"parameter set lacks {exc.args[0]!r} needed by the mechanism") from None
    return np.array(cols, dtype=float).T


def _rows(p: np.ndarray) -> list:
    """Rows equal for every patient become Python floats (cheaper arithmetic), others stay arrays."""
    return [float(r[0]) if np.all(r == r[0]) else r for r in p]


def checked_inputs(problem: Problem, comp: Compiled, p, species) -> tuple:
    """Checked inputs of a cohort engine's ``integrate``: ``(p, t_out, sidx, pidx, keep)``.

    ``p`` becomes a C-ordered float copy with the parameter events in force at day 0 applied; ``sidx`` and
    ``pidx`` map species and parameter names to rows; ``keep`` lists the rows of the species to return.
    """
    p = np.array(p, dtype=float, order="C", copy=True)
    if p.ndim != 2 or p.shape[0] != len(comp.parameters):
        raise ModelError(f"parameter matrix must have shape ({len(comp.parameters)}, patients), got {p.shape}")
    if p.shape[1] == 0:
        raise ScenarioError("patients: 0 patients to integrate; give at least 1")
    if not np.all(np.isfinite(p)):
        raise ModelError("parameter matrix has non-finite values")
    t_out = problem.times()
    sidx = {s: i for i, s in enumerate(comp.species)}
    pidx = {n: i for i, n in enumerate(comp.parameters)}
    keep = [sidx[s] for s in (species or comp.species)]
    for e in check_events(problem.events, sidx, pidx):  # values in force at t = 0 also set the initial state
        p[pidx[e.parameter]] = e.value
    return p, t_out, sidx, pidx, keep


def integrate(problem: Problem, p: np.ndarray, *, species: list[str] | None = None, stats: dict | None = None,
              kern: BatchKernel | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Integrate P patients that share ``problem``'s events and times but have their own parameters.

    Parameters
    ----------
    problem : Problem
        Mechanism, duration, output times, events and ``rtol`` (its ``params`` give the parameter names).
    p : ndarray, shape (parameters, P)
        Parameter values per patient, rows in the order of ``kernel(...).compiled.parameters``.
    species : list of str, optional
        Species to return (default all).

    Returns
    -------
    times : ndarray (T,)
    y : ndarray (len(species), T, P), amounts clipped at zero after a negativity check.
    """
    k = kern or kernel(problem.mechanism, problem.params)
    comp = k.compiled
    p, t_out, sidx, pidx, keep = checked_inputs(problem, comp, p, species)
    stats = stats if stats is not None else {}
    for key in ("rhs", "jac", "lu", "steps", "rejected"):
        stats.setdefault(key, 0)
    P = p.shape[1]
    n = len(comp.species)
    y = np.empty((n, P))
    for i, row in enumerate(k.initial(_rows(p))):
        y[i] = row
    out = np.empty((t_out.size, len(keep), P))  # time-major: each output time is one contiguous write
    filled = np.zeros(t_out.size, dtype=bool)
    atol = problem.rtol * 1e-3 * comp.scales
    times = sorted({e.time for e in problem.events if 0 <= e.time < problem.t_end})
    cuts = [0.0] + [t for t in times if t > 0] + [problem.t_end]
    for t0, t1 in zip(cuts[:-1], cuts[1:]):
        for e in problem.events:
            if e.time != t0:
                continue
            if isinstance(e, ParameterEvent):
                p[pidx[e.parameter]] = e.value
            else:
                y[sidx[e.species]] = y[sidx[e.species]] * e.factor + e.amount
        last = t1 == problem.t_end
        mask = (t_out >= t0) & ((t_out <= t1) if last else (t_out < t1))
        want = np.nonzero(mask)[0]
        hoisted = k.prepare(_rows(p))
        integ = _Integrator(k, hoisted, t0, y, t1, problem.rtol, atol, stats)
        pos = 0
        while pos < want.size and t_out[want[pos]] <= t0:  # outputs at the segment start
            out[want[pos]] = y[keep]
            pos += 1
        while integ.t < t1:
            integ.step()
            hi = pos
            while hi < want.size and t_out[want[hi]] <= integ.t:
                hi += 1
            if hi > pos:
                vals = integ.interpolate(t_out[want[pos:hi]], keep)
                out[want[pos:hi]] = vals
                pos = hi
        y = integ.D[0].copy()
        # the step landing exactly on t1 gives the end state; its output (if any) is exact
        if pos < want.size:
            out[want[pos:]] = y[keep][None]
        filled |= mask
    if not filled.all():
        raise ModelError("internal: some output times were not computed")
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


def run(problem: Problem, *, parameters=None, patients=None, seed=None, replicates: int = 1, progress=None,
        compiled=None) -> xr.Dataset:
    """Engine interface: integrate patients in one batch; returns an ``xarray.Dataset``.

    ``parameters`` is a (parameters, P) matrix (rows in ``kernel(...).compiled.parameters`` order) or a list
    of ``ParameterSet``; default: the problem's own parameters (one patient). Variables have dims
    (``patient``, ``time``). ``seed`` and ``replicates`` are accepted for interface compatibility.
    """
    return patient_dataset(NAME, kernel, integrate, problem, parameters, patients)


def patient_dataset(name: str, kernel_fn, integrate_fn, problem: Problem, parameters, patients) -> xr.Dataset:
    """The engine interface shared by the cohort engines: parameters in, (``patient``, ``time``) dataset out."""
    k = kernel_fn(problem.mechanism, problem.params)
    if parameters is None:
        pm = parameter_matrix(k.compiled, [problem.params])
    elif isinstance(parameters, np.ndarray):
        pm = parameters
    else:
        pm = parameter_matrix(k.compiled, parameters)
    stats: dict = {}
    times, y = integrate_fn(problem, pm, stats=stats, kern=k)
    ids = np.arange(pm.shape[1]) if patients is None else np.asarray(patients)
    data = {}
    for i, s in enumerate(problem.mechanism.species):
        data[s.name] = xr.DataArray(y[i].T, dims=("patient", "time"),
                                    attrs={"unit": s.unit, "description": s.description,
                                           "compartment": s.compartment})
    attrs = {"engine": name, "rtol": problem.rtol, "label": problem.label,
             **{f"n_{key}": int(v) for key, v in stats.items()}}
    return xr.Dataset(data, coords={"time": ("time", times, {"unit": "day"}), "patient": ids}, attrs=attrs)

__all__ = ["NAME", "BatchKernel", "SparseLU", "integrate", "kernel", "parameter_matrix", "patient_dataset", "run"]
