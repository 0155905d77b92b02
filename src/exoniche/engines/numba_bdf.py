"""The ``compiled`` cohort engine: Numba-jitted right-hand side and variable-order BDF, one patient at a time.

Registered as ``compiled`` (the name ``exoniche cohort --engine`` and the run files use). Same interface as
:mod:`exoniche.engines.batched` (:class:`~exoniche.engines.base.PatientEngine`: ``kernel``, ``integrate``,
``run``), so a cohort can switch engines by name. Design
----------------------
* **Code generation.** The mechanism's rate-law strings become straight-line Python, as in ``functions.py``
  (``math.log``/``math.exp``, a ``pow`` that returns 0 for a base <= 0 and ``a * a`` for an exponent of 2,
  negative trial states read as 0).
  Parameter-only expressions are hoisted into ``prepare`` (once per patient and segment). The generated
  source and the solver below are written to one module file in a cache folder (named by the source's
  SHA-256) and jitted with ``cache=True``, so Numba compiles once per machine, not once per process.
* **Solver.** SciPy's ``BDF`` (NDF formulas, orders 1–5, the same step-size and order control, Newton
  iteration and Newton tolerance as ``batched.py``, all from :mod:`exoniche.engines._bdf`), but per patient
  with scalar norms, and with one addition from CVODE: a first Newton iterate is accepted when its
  correction times the contraction rate measured on the current LU (``crate``, 1 after each factorisation,
  then ``max(0.3 crate, rate)``) is below the Newton tolerance; SciPy needs two iterations to measure a rate.
  A patient's steps depend on nothing else, so results are
  independent of chunking and worker count. No fastmath: with it, a freshly compiled kernel and the cached
  one gave different round-off, which would break bit-identical resumes.
* **Jacobian**: forward differences over the colour groups of the sparsity pattern (one right-hand side
  per colour), refreshed only when Newton stalls. **LU**: ``_bdf.SparseLU``'s minimum-degree order and
  symbolic factorisation, flattened to index arrays; the numeric factorisation and solves are scalar loops.
* **Events** restart the integration at the segment boundaries the engine base prepares
  (:func:`exoniche.engines.base.segments`), as in every engine.

Requires ``numba`` (a dependency); without it, :func:`kernel` raises a ``ModelError`` naming the package.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import math
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from exoniche.biology import Mechanism
from exoniche.engines._bdf import (
    ALPHA,
    CRDOWN,
    EPS,
    ERROR_CONST,
    GAMMA,
    MAX_FACTOR,
    MAX_ORDER,
    MIN_FACTOR,
    NEWTON_MAXITER,
    SparseLU,
    colour_columns,
    jacobian_columns,
    newton_tol,
    split_expressions,
    used_names,
)
from exoniche.engines.base import Capabilities, PatientEngine
from exoniche.engines.functions import MechanismFunctions, compile_mechanism, derivative, identifiers
from exoniche.engines.problem import Problem
from exoniche.errors import ModelError

# status codes returned by the jitted solver
_OK, _TOO_SMALL, _NONFINITE, _NEGATIVE_BASE = 0, 1, 2, 100


# ------------------------------------------------------------------------------ solver (jitted via codegen)
# These functions are plain Python here; their source is copied into the generated module and jitted there,
# next to the mechanism's rhs, so that Numba can inline and cache everything as one unit. They call these
# generated functions, which exist only in that module:
rhs = prepare = initial = lu_factor = lu_solve = None  # placeholders for linters


def _rms(x, iscale):
    s = 0.0
    for i in range(x.size):
        v = x[i] * iscale[i]
        s += v * v
    return math.sqrt(s / x.size)


def _change_d(D, order, factor, R, U, RU, new):
    # D[:order+1] = (R(factor) @ R(1)).T @ D[:order+1]  (SciPy's change_D); R, U, RU, new are work arrays
    m = order + 1
    for j in range(m):
        R[0, j] = 1.0
        U[0, j] = 1.0
    for i in range(1, m):
        R[i, 0] = 0.0
        U[i, 0] = 0.0
        for j in range(1, m):
            R[i, j] = R[i - 1, j] * (i - 1 - factor * j) / i
            U[i, j] = U[i - 1, j] * (i - 1 - j) / i
    for i in range(m):
        for j in range(m):
            s = 0.0
            for q in range(m):
                s += R[i, q] * U[q, j]
            RU[i, j] = s
    n = D.shape[1]
    for a in range(m):
        for k in range(n):
            new[a, k] = 0.0
        for b in range(m):
            w = RU[b, a]
            if w != 0.0:
                for k in range(n):
                    new[a, k] += w * D[b, k]
    for a in range(m):
        for k in range(n):
            D[a, k] = new[a, k]


# Small element-wise passes of one BDF step, each its own function: compiled alone, LLVM vectorises them
# (element-wise, so no reassociation and the same bits); inlined in the one large step loop it left them scalar.
def _predict(D, order, y_predict, psi, scale, atol, rtol, ialpha):
    n = y_predict.size
    for i in range(n):
        y_predict[i] = D[0, i]
        psi[i] = 0.0
    for q in range(1, order + 1):
        g = GAMMA[q]
        for i in range(n):
            y_predict[i] += D[q, i]
            psi[i] += g * D[q, i]
    for i in range(n):
        scale[i] = 1.0 / (atol[i] + rtol * abs(y_predict[i]))
        psi[i] *= ialpha
    return 0


def _error_norm(ynew, d, atol, rtol, ec, scale):
    # scale = 1 / (atol + rtol |ynew|) for the order selection after the step, and the RMS norm of ec * d in
    # _rms's four chains (the same operations as writing ec * d out and calling _rms on it)
    n = d.size
    m = n - n % 4
    s0 = s1 = s2 = s3 = 0.0
    for i in range(n):
        scale[i] = 1.0 / (atol[i] + rtol * abs(ynew[i]))
    for i in range(0, m, 4):
        v0 = (ec * d[i]) * scale[i]
        v1 = (ec * d[i + 1]) * scale[i + 1]
        v2 = (ec * d[i + 2]) * scale[i + 2]
        v3 = (ec * d[i + 3]) * scale[i + 3]
        s0 += v0 * v0
        s1 += v1 * v1
        s2 += v2 * v2
        s3 += v3 * v3
    for i in range(m, n):
        v = (ec * d[i]) * scale[i]
        s0 += v * v
    return math.sqrt(((s0 + s1) + (s2 + s3)) / n)


def _update_d(D, order, d):
    n = d.size
    for i in range(n):
        D[order + 2, i] = d[i] - D[order + 1, i]
        D[order + 1, i] = d[i]
    for q in range(order, -1, -1):
        for i in range(n):
            D[q, i] += D[q + 1, i]
    return 0


def _rms_scaled(x, ec, iscale):
    s = 0.0
    for i in range(x.size):
        v = (ec * x[i]) * iscale[i]
        s += v * v
    return math.sqrt(s / x.size)


def _dense_row(D, c0, c1, c2, c3, c4, orow):
    D0, D1, D2, D3, D4, D5 = D[0], D[1], D[2], D[3], D[4], D[5]
    for i in range(orow.size):  # fixed length (terms beyond the order have coefficient 0): vectorises
        orow[i] = D0[i] + c0 * D1[i] + c1 * D2[i] + c2 * D3[i] + c3 * D4[i] + c4 * D5[i]
    return 0


def _jacobian(y, f, h, atol, J, groups_ptr, groups, col_ptr, col_rows, col_entry, yp, fp):
    n = y.size
    for g in range(groups_ptr.size - 1):
        for k in range(n):
            yp[k] = y[k]
        for q in range(groups_ptr[g], groups_ptr[g + 1]):
            j = groups[q]
            yp[j] = y[j] + math.sqrt(EPS) * max(abs(y[j]), atol[j] * 1e3)
        rhs(yp, h, fp)
        for q in range(groups_ptr[g], groups_ptr[g + 1]):
            j = groups[q]
            step = yp[j] - y[j]
            for e in range(col_ptr[j], col_ptr[j + 1]):
                i = col_rows[e]
                J[col_entry[e]] = (fp[i] - f[i]) / step


def _segment(y, h, t0, t_bound, rtol, atol, t_want, out_rows, out, stats, st):  # noqa: C901  one jitted BDF loop
    """BDF from t0 to t_bound; writes the dense output at ``t_want`` (t0 < t <= t_bound) to out[out_rows].

    Kept whole (hence the C901 exemption): SciPy's ``BdfSolver._step_impl`` and its step loop as one jitted
    function, with its work arrays local; split, they would have to travel through every call.
    """
    groups_ptr, groups, col_ptr, col_rows, col_entry, sizes = st
    n = y.size
    D = np.zeros((MAX_ORDER + 3, n))
    R = np.zeros((MAX_ORDER + 1, MAX_ORDER + 1))
    U = np.zeros((MAX_ORDER + 1, MAX_ORDER + 1))
    RU = np.zeros((MAX_ORDER + 1, MAX_ORDER + 1))
    dnew = np.zeros((MAX_ORDER + 1, n))
    J = np.zeros(sizes[0])
    a = np.zeros(sizes[1])
    lval = np.zeros(sizes[2])
    uval = np.zeros(sizes[3])
    dinv = np.zeros(n)
    f = np.empty(n)
    fp = np.empty(n)
    yp = np.empty(n)
    coef = np.zeros(MAX_ORDER + 1)
    y_predict = np.empty(n)
    ynew = np.empty(n)
    d = np.empty(n)
    psi = np.empty(n)
    scale = np.empty(n)
    tmp = np.empty(n)
    # initial step: Hairer & Wanner, as SciPy's select_initial_step
    rhs(y, h, f)
    stats[0] += 1
    interval = t_bound - t0
    for i in range(n):
        scale[i] = 1.0 / (atol[i] + abs(y[i]) * rtol)
    d0 = _rms(y, scale)
    d1 = _rms(f, scale)
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = 1e-6
    else:
        h0 = 0.01 * d0 / d1
    h0 = min(h0, interval)
    for i in range(n):
        yp[i] = y[i] + h0 * f[i]
    rhs(yp, h, fp)
    stats[0] += 1
    for i in range(n):
        tmp[i] = fp[i] - f[i]
    d2 = _rms(tmp, scale) / h0
    dmax = max(d1, d2)
    if dmax <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / dmax) ** 0.5
    h_abs = min(100 * h0, h1, interval)
    newton_tol_ = newton_tol(rtol)
    for i in range(n):
        D[0, i] = y[i]
        D[1, i] = f[i] * h_abs
    order = 1
    n_equal = 0
    _jacobian(y, f, h, atol, J, groups_ptr, groups, col_ptr, col_rows, col_entry, yp, fp)
    stats[0] += groups_ptr.size - 1
    stats[1] += 1
    lu_valid = False
    crate = 1.0
    t = t0
    pos = 0
    nw = t_want.size
    while t < t_bound:
        min_step = 10 * abs(np.nextafter(t, np.inf) - t)
        if h_abs < min_step:
            h_abs = min_step
        current_jac = False
        while True:
            if h_abs < min_step:
                return _TOO_SMALL, t
            t_new = t + h_abs
            if t_new - t_bound > 0:
                t_new = t_bound
                _change_d(D, order, abs(t_new - t) / h_abs, R, U, RU, dnew)
                n_equal = 0
                lu_valid = False
            h_abs = t_new - t
            _predict(D, order, y_predict, psi, scale, atol, rtol, 1.0 / ALPHA[order])
            c = h_abs / ALPHA[order]
            converged = False
            n_iter = 0
            while not converged:
                if not lu_valid:
                    lu_factor(J, c, a, lval, uval, dinv)
                    stats[2] += 1
                    lu_valid = True
                    crate = 1.0
                # Newton iteration (SciPy's solve_bdf_system)
                for i in range(n):
                    ynew[i] = y_predict[i]
                    d[i] = 0.0
                dy_norm_old = -1.0
                k = 0
                for k in range(NEWTON_MAXITER):
                    rhs(ynew, h, f)
                    stats[0] += 1
                    # solves for the residual c f - psi - d, formed as the solve reads it, and adds the solution dy
                    # to ynew and d as it writes it (no passes of their own). An iteration that breaks off below
                    # leaves ynew and d updated, but they are then never read: a retry or a new step starts again
                    # from the prediction. A non-finite f reaches dy through the solve (each x_k carries its own
                    # b_k), so the norm check below stops the iteration exactly where a check of f would.
                    # the solve also returns sum((dy * scale)^2): the Newton norm without a pass of its own
                    dy_norm = math.sqrt(lu_solve(lval, uval, dinv, c, f, psi, d, ynew, scale) / n)
                    if not np.isfinite(dy_norm):
                        break
                    has_rate = dy_norm_old >= 0.0
                    rate = dy_norm / dy_norm_old if has_rate and dy_norm_old > 0.0 else 0.0
                    if has_rate and dy_norm_old == 0.0:
                        rate = np.inf
                    if has_rate and (rate >= 1 or rate ** (NEWTON_MAXITER - k) / (1 - rate) * dy_norm > newton_tol_):
                        break
                    if has_rate:
                        crate = max(CRDOWN * crate, rate)
                    if dy_norm == 0 or (has_rate and rate / (1 - rate) * dy_norm < newton_tol_):
                        converged = True
                        break
                    if not has_rate and dy_norm * min(1.0, crate) < newton_tol_:
                        converged = True  # CVODE's first-iteration test with the rate estimated on this LU
                        break
                    dy_norm_old = dy_norm
                n_iter = k + 1
                if not converged:
                    if current_jac:
                        break
                    rhs(y_predict, h, tmp)
                    stats[0] += 1
                    _jacobian(y_predict, tmp, h, atol, J, groups_ptr, groups, col_ptr, col_rows, col_entry, yp, fp)
                    stats[0] += groups_ptr.size - 1
                    stats[1] += 1
                    lu_valid = False
                    current_jac = True
            if not converged:
                h_abs *= 0.5
                _change_d(D, order, 0.5, R, U, RU, dnew)
                n_equal = 0
                lu_valid = False
                continue
            safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
            error_norm = _error_norm(ynew, d, atol, rtol, ERROR_CONST[order], scale)
            if error_norm > 1:
                factor = max(MIN_FACTOR, safety * error_norm ** (-1.0 / (order + 1)))
                h_abs *= factor
                _change_d(D, order, factor, R, U, RU, dnew)
                n_equal = 0
                stats[4] += 1
            else:
                break
        stats[3] += 1
        n_equal += 1
        t = t_new
        _update_d(D, order, d)
        if n_equal >= order + 1:
            if order > 1:
                e_m = _rms_scaled(D[order], ERROR_CONST[order - 1], scale)
            else:
                e_m = np.inf
            if order < MAX_ORDER:
                e_p = _rms_scaled(D[order + 2], ERROR_CONST[order + 1], scale)
            else:
                e_p = np.inf
            best = -1.0
            delta = 0
            norms = (e_m, error_norm, e_p)
            for q in range(3):
                fq = np.inf if norms[q] == 0.0 else norms[q] ** (-1.0 / (order + q))
                if fq > best:
                    best = fq
                    delta = q - 1
            order += delta
            factor = min(MAX_FACTOR, safety * best)
            h_abs *= factor
            _change_d(D, order, factor, R, U, RU, dnew)
            n_equal = 0
            lu_valid = False
        # dense output (SciPy's BdfDenseOutput with the step size and order for the next step)
        while pos < nw and t_want[pos] <= t:
            row = out_rows[pos]
            prod = 1.0
            for q in range(MAX_ORDER):
                if q < order:
                    prod *= (t_want[pos] - (t - h_abs * q)) / (h_abs * (1 + q))
                    coef[q] = prod
                else:
                    coef[q] = 0.0
            _dense_row(D, coef[0], coef[1], coef[2], coef[3], coef[4], out[row])
            pos += 1
    for i in range(n):
        y[i] = D[0, i]
    # an output exactly at t_bound is the end state itself
    while pos < nw:
        row = out_rows[pos]
        for i in range(n):
            out[row, i] = y[i]
        pos += 1
    return _OK, t


def _check_output(o, oj, keep, scales, full, low, big, fin):
    """Copy o (T, n) into oj (T, keep) clipped at 0; _OK, or the code of the last species that fails.

    Time-major like the dense output, so every pass reads and writes contiguous rows; the per-species
    running minimum, largest magnitude and finiteness are arrays updated row by row (they vectorise over
    species). ``fin`` sums ``v - v``: 0 while every value is finite, NaN from the first NaN or infinity on
    (min/max cannot carry that: ``min(1.0, nan)`` is 1.0). With ``full`` (keep is every species in order)
    ``o`` *is* ``oj`` and the copy is the clip in place.
    """
    K = keep.size
    for kk in range(K):
        low[kk] = np.inf
        big[kk] = 0.0
        fin[kk] = 0.0
    for t in range(o.shape[0]):
        orow = o[t]
        jrow = oj[t]
        if full:  # its own loop: without the gather through keep it vectorises
            for kk in range(K):
                v = orow[kk]
                low[kk] = min(low[kk], v)
                big[kk] = max(big[kk], abs(v))
                fin[kk] += v - v
                jrow[kk] = max(v, 0.0)
        else:
            for kk in range(K):
                v = orow[keep[kk]]
                low[kk] = min(low[kk], v)
                big[kk] = max(big[kk], abs(v))
                fin[kk] += v - v
                jrow[kk] = max(v, 0.0)
    code = _OK
    for kk in range(K):
        if fin[kk] != 0.0:
            code = _NONFINITE
        elif low[kk] < -1e-9 * scales[keep[kk]] - 1e-6 * big[kk]:
            code = _NEGATIVE_BASE + keep[kk]
    return code


def _integrate_all(p_all, seg_t0, seg_t1, pev_ptr, pev_idx, pev_val, sev_ptr, sev_idx, sev_fac, sev_amt,
                   out_ptr, out_idx, t_out, rtol, atol, n_hoisted, keep, scales, out, status, stats, st):
    """All patients one after another; out is (P, T, len(keep)), checked and clipped at 0 per patient."""
    P = p_all.shape[1]
    n = atol.size
    T = t_out.size
    h = np.empty(n_hoisted)
    y = np.empty(n)
    full = keep.size == n
    for kk in range(keep.size):
        full = full and keep[kk] == kk
    o = np.empty((T, n))
    low = np.empty(keep.size)
    big = np.empty(keep.size)
    fin = np.empty(keep.size)
    for j in range(P):
        if full:  # the dense output goes straight into the patient's block (checked and clipped in place)
            o = out[j]
        p = p_all[:, j].copy()
        initial(p, y)
        for s in range(seg_t0.size):
            for q in range(pev_ptr[s], pev_ptr[s + 1]):
                p[pev_idx[q]] = pev_val[q]
            for q in range(sev_ptr[s], sev_ptr[s + 1]):
                y[sev_idx[q]] = y[sev_idx[q]] * sev_fac[q] + sev_amt[q]
            prepare(p, h)
            a, b = out_ptr[s], out_ptr[s + 1]
            lo = a
            while lo < b and t_out[out_idx[lo]] <= seg_t0[s]:
                for i in range(n):
                    o[out_idx[lo], i] = y[i]
                lo += 1
            code, t_fail = _segment(y, h, seg_t0[s], seg_t1[s], rtol, atol, t_out[out_idx[lo:b]], out_idx[lo:b],
                                    o, stats, st)
            if code != _OK:
                status[j] = code
                break
        if status[j] != _OK:
            continue
        # finite, non-negative up to round-off (then clipped at 0), as batched.integrate checks
        status[j] = _check_output(o, out[j], keep, scales, full, low, big, fin)
    return 0


_SOLVER_FUNCS = [newton_tol, _rms, _change_d, _predict, _error_norm, _update_d, _rms_scaled,
                 _dense_row, _jacobian, _segment, _check_output, _integrate_all]


# ------------------------------------------------------------------------------ code generation
@dataclass
class NumbaKernel:
    """The jitted module for one mechanism and its flattened sparse structure."""

    functions: MechanismFunctions
    module: object
    structure: tuple
    n_hoisted: int
    compile_seconds: float = 0.0


def _hoist(formula: str, const_names: set, consts: dict) -> str:
    """Replace the largest parameter-only calls/operations in ``formula`` by names ``_k<i>`` (in ``consts``)."""

    def constant(node) -> bool:
        names = [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]
        funcs = {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        return bool(names) and all(n in const_names or n in funcs for n in names)

    def hoisted(node, text=None):
        name = consts.setdefault(text or ast.unparse(node), f"_k{len(consts)}")
        return ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node)

    class Hoist(ast.NodeTransformer):
        def generic_visit(self, node):
            if isinstance(node, (ast.Call, ast.BinOp)) and constant(node):
                return hoisted(node)
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and constant(node.right):
                # x / K -> x * (1 / K): a multiplication instead of a division per call (1 ulp apart)
                left = self.visit(node.left)
                inv = hoisted(node.right, f"1.0 / ({ast.unparse(node.right)})")
                return ast.copy_location(ast.BinOp(left=left, op=ast.Mult(), right=inv), node)
            return super().generic_visit(node)

    tree = Hoist().visit(ast.parse(formula, mode="eval"))
    return ast.unparse(tree)


def _cse(assignments: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Common-subexpression elimination over straight-line assignments (each name assigned once).

    Every call or arithmetic operation that occurs more than once (anywhere in the list) is computed once,
    into ``_c<i>``, just before the first assignment that uses it. The trees are not reassociated, so each
    value is computed by exactly the same operations as before: results are bit-identical (no fastmath).
    LLVM does not do this itself here: ``pow`` and ``piecewise`` branch, which blocks its value numbering.
    """
    trees = [ast.parse(text, mode="eval").body for _, text in assignments]
    count: dict[str, int] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Call, ast.BinOp)):
                key = ast.dump(node)
                count[key] = count.get(key, 0) + 1
    names: dict[str, str] = {}
    out: list[tuple[str, str]] = []

    class Share(ast.NodeTransformer):
        def visit(self, node):
            key = ast.dump(node) if isinstance(node, (ast.Call, ast.BinOp)) else None
            if key is None or count.get(key, 0) < 2:
                return self.generic_visit(node)
            if key not in names:
                names[key] = f"_c{len(names)}"
                # children first: their temporaries are defined before this one
                out.append((names[key], ast.unparse(self.generic_visit(node))))
            return ast.Name(id=names[key], ctx=ast.Load())

    for (name, _), tree in zip(assignments, trees):
        out.append((name, ast.unparse(Share().visit(tree))))
    return out


def _generate_source(mech: Mechanism, comp: MechanismFunctions) -> tuple[str, int]:
    species, pnames = comp.species, comp.parameters
    hoisted_exprs, dynamic_exprs = split_expressions(mech, species)
    # parameter-only sub-expressions of state-dependent formulas (e.g. pow(K, hill) in a Hill function) are
    # computed once per segment too; the arithmetic is unchanged, only evaluated earlier
    consts: dict[str, str] = {}
    const_names = set(pnames) | {e.name for e in hoisted_exprs}
    dynamic = [(e.name, _hoist(e.formula, const_names, consts)) for e in dynamic_exprs]
    rates = [_hoist(p.rate, const_names, consts) for p in mech.processes]
    used = used_names([f for _, f in dynamic] + rates)
    hoisted = [n for n in pnames + [e.name for e in hoisted_exprs] + list(consts.values()) if n in used]
    # no fastmath (see the module docstring): a cached and a fresh kernel must round identically
    jit = "@njit(cache=True, nogil=True, error_model='numpy')"
    src = ['"""Generated by exoniche.engines.numba_bdf; do not edit."""', "import math", "import numpy as np",
           "from numba import njit", "",
           f"MAX_ORDER = {MAX_ORDER}", f"NEWTON_MAXITER = {NEWTON_MAXITER}", f"MIN_FACTOR = {MIN_FACTOR!r}",
           f"MAX_FACTOR = {MAX_FACTOR!r}", f"EPS = {EPS!r}", f"CRDOWN = {CRDOWN!r}",
           f"_OK, _TOO_SMALL, _NONFINITE, _NEGATIVE_BASE = {_OK}, {_TOO_SMALL}, {_NONFINITE}, {_NEGATIVE_BASE}",
           f"GAMMA = np.array({[float(v) for v in GAMMA]!r})", f"ALPHA = np.array({[float(v) for v in ALPHA]!r})",
           f"ERROR_CONST = np.array({[float(v) for v in ERROR_CONST]!r})", "",
           # strength reduction: the Hill exponents of the mechanism are 2; the branch on a per-patient
           # constant is always predicted, and a * a is ~10x cheaper than libm's pow (6 per right-hand side)
           jit, "def pow(a, b):", "    if a > 0.0:", "        return a * a if b == 2.0 else math.pow(a, b)",
           "    return 0.0", "",
           jit, "def ln(a):", "    return math.log(a)", "",
           jit, "def exp(a):", "    return math.exp(a)", "",
           jit, "def piecewise(a, c, b):", "    return a if c else b", ""]
    src += [jit, "def prepare(p, h):"]
    src += [f"    {name} = p[{i}]" for i, name in enumerate(pnames)]
    src += [f"    {e.name} = {e.formula}" for e in hoisted_exprs]
    src += [f"    {name} = {text}" for text, name in consts.items()]
    src += [f"    h[{i}] = {name}" for i, name in enumerate(hoisted)]
    src += ["    return 0", ""]
    src += [jit, "def rhs(y, h, dy):"]
    loads = {name: f"h[{i}]" for i, name in enumerate(hoisted)}
    # negative trial states are read as 0, as compile.py's scalar rhs does
    loads.update({name: f"y[{i}] if y[{i}] > 0.0 else 0.0" for i, name in enumerate(species)})
    # repeated sub-expressions (the two pow() of a Hill function, shared loads and denominators) once each
    body = _cse(dynamic + [(f"r{j}", r) for j, r in enumerate(rates)])
    src += ["    " + line for line in _place(loads, body, [(f"dy[{i}]", derivative(comp.stoich, i))
                                                       for i in range(len(species))])]
    src += ["    return 0", ""]
    src += [jit, "def initial(p, y):", *[f"    {name} = p[{i}]" for i, name in enumerate(pnames)],
            *[f"    {e.name} = {e.formula}" for e in hoisted_exprs]]
    src += [f"    y[{i}] = {s.initial}" for i, s in enumerate(mech.species)]
    src += ["    return 0", ""]
    src += _generate_lu(comp, jit)
    for fn in _SOLVER_FUNCS:
        src += [jit, inspect.getsource(fn), ""]
    return "\n".join(src), len(hoisted)


def _demand_order(body: list[tuple[str, str]], stores: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``body`` reordered depth-first from the stores: each store's inputs are computed just before it.

    Values then live from just before their first use rather than from their place in the declaration (all
    expressions first, then all rates); each statement is unchanged, so results are bit-identical.
    """
    text = dict(body)
    done: set[str] = set()
    out: list[tuple[str, str]] = []

    def visit(name: str) -> None:
        stack = [(name, False)]
        while stack:
            item, expanded = stack.pop()
            if item in done:
                continue
            if expanded:
                done.add(item)
                out.append((item, text[item]))
                continue
            stack.append((item, True))
            for dep in sorted(identifiers(text[item]), reverse=True):
                if dep in text and dep not in done:
                    stack.append((dep, False))

    for _, formula in stores:
        for name in sorted(identifiers(formula)):
            if name in text:
                visit(name)
    for name, _ in body:  # statements no store reads (none in a mechanism, but keep them)
        visit(name)
    return out


def _place(loads: dict[str, str], body: list[tuple[str, str]], stores: list[tuple[str, str]]) -> list[str]:
    """Straight-line code with each load just before its first use and each store just after its last input.

    ``loads`` maps a name to the expression that reads it (``h[3]``, ``y[0] if y[0] > 0.0 else 0.0``); ``body``
    is (name, formula) in order; ``stores`` are (target, formula) over body names. Only placement changes, not
    one operation, so results are bit-identical. Why: with every load at the top and every store at the end,
    ~270 values of the v2 right-hand side were live across the whole function and LLVM spilled them (half the
    instructions of the compiled rhs touched the stack).
    """
    body = _demand_order(body, stores)
    where = {name: k for k, (name, _) in enumerate(body)}
    after: dict[int, list[tuple[str, str]]] = {}
    for target, text in stores:
        deps = [where[n] for n in identifiers(text) if n in where]
        after.setdefault(max(deps, default=-1), []).append((target, text))
    out: list[str] = []
    loaded: set[str] = set()

    def emit(target: str, text: str) -> None:
        for name in sorted(identifiers(text)):
            if name in loads and name not in loaded:
                loaded.add(name)
                out.append(f"{name} = {loads[name]}")
        out.append(f"{target} = {text}")

    for target, text in after.get(-1, []):
        emit(target, text)
    for k, (name, text) in enumerate(body):
        emit(name, text)
        for target, store in after.get(k, []):
            emit(target, store)
    return out


def _slots_as_locals(init: list[str], body: list[str]) -> list[str]:
    """Rewrite the factorisation with slot ``a[s]`` as a local ``a<s>``, set up just before its first use.

    An array slot costs a load and a store at every update; as locals, LLVM keeps what fits in registers.
    ``init`` (zero fill-in, ``-c J``, ``+1`` on the diagonal) keeps its per-slot order; no operation changes, so
    results are bit-identical. (``a`` stays in the signature, unused.)
    """
    pattern = re.compile(r"\ba\[(\d+)\]")
    first: dict[int, list[str]] = {}
    for line in init:
        first.setdefault(int(pattern.search(line).group(1)), []).append(pattern.sub(r"a\1", line))
    out: list[str] = []
    for line in body:
        for sl in sorted({int(v) for v in pattern.findall(line)}):
            out += first.pop(sl, [])
        out.append(pattern.sub(r"a\1", line))
    for lines in first.values():  # slots the elimination never reads (none for a connected pattern)
        out += lines
    return out


def _generate_lu(comp: MechanismFunctions, jit: str) -> list[str]:
    """Straight-line sparse LU of ``I - c J`` (values in slot order) and its solve, for the fixed pattern."""
    lu = SparseLU(comp.sparsity)
    n = lu.n
    lookup = {(int(i), int(j)): e for e, (i, j) in enumerate(zip(lu.entry_rows, lu.entry_cols))}
    fac = []
    fac += [f"    a[{sl}] = 0.0" for sl in sorted(set(range(lu.nslots)) - {int(v) for v in lu.entry_slots})]  # fill-in
    fac += [f"    a[{int(sl)}] = -c * J[{e}]" for e, sl in enumerate(lu.entry_slots)]
    fac += [f"    a[{int(lu.entry_slots[lookup[(i, i)]])}] += 1.0" for i in range(n)]
    n_init = len(fac)
    sol_f, sol_b = [], []
    nl = nu = 0
    for k, (kk, rows, L, cols, Us, T) in enumerate(lu.steps):
        fac.append(f"    inv = 1.0 / a[{kk}]")
        fac.append(f"    dinv[{k}] = inv")
        for sl in L:
            fac.append(f"    a[{int(sl)}] *= inv")
        t = 0
        for sl in L:
            for su in Us:
                fac.append(f"    a[{int(T[t])}] -= a[{int(sl)}] * a[{int(su)}]")
                t += 1
        for r, sl in zip(rows, L):
            fac.append(f"    lval[{nl}] = a[{int(sl)}]")
            sol_f.append(f"    x{int(r)} -= lval[{nl}] * x{k}")
            nl += 1
        terms = []
        for cidx, su in zip(cols, Us):
            fac.append(f"    uval[{nu}] = a[{int(su)}]")
            terms.append(f" - uval[{nu}] * x{int(cidx)}")
            nu += 1
        sol_b.append(f"    x{k} = (x{k}{''.join(terms)}) * dinv[{k}]")
    fac = [jit, "def lu_factor(J, c, a, lval, uval, dinv):"] + _slots_as_locals(fac[:n_init], fac[n_init:])
    fac += ["    return 0", ""]
    # each x_k read from b just before its first use and written to out as soon as it is final (x_k is final
    # after its back-substitution line): fewer values live at once, the same operations in the same order
    # b = c f - psi - d (the Newton residual) is formed here, element by element, as it is read; the Newton
    # update ynew += x, d += x is applied as each x_k is written (d_k is read before it is updated)
    sol = [jit, "def lu_solve(lval, uval, dinv, c, f, psi, d, ynew, scale):", "    s0 = s1 = s2 = s3 = 0.0"]
    loaded: set[int] = set()
    nsq = 0
    for line in sol_f + sol_b[::-1]:
        for k in sorted({int(v) for v in re.findall(r"\bx(\d+)\b", line)}):
            if k not in loaded:
                loaded.add(k)
                i = int(lu.perm[k])
                sol.append(f"    x{k} = c * f[{i}] - psi[{i}] - d[{i}]")
        sol.append(line)
        if line.lstrip().startswith("x") and " = (" in line:
            k = int(line.split("=")[0].strip()[1:])
            i = int(lu.perm[k])
            # the squared scaled update goes to one of four partial sums in turn (no single add chain)
            sol += [f"    ynew[{i}] += x{k}", f"    d[{i}] += x{k}", f"    v = x{k} * scale[{i}]",
                    f"    s{nsq % 4} += v * v"]
            nsq += 1
    sol += ["    return (s0 + s1) + (s2 + s3)", ""]
    return fac + sol


def _cache_dir() -> Path:
    base = os.environ.get("EXONICHE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "exoniche")
    for root in (Path(base), Path(tempfile.gettempdir()) / "exoniche-cache"):
        d = root / "numba"
        try:
            d.mkdir(parents=True, exist_ok=True)
            if os.access(d, os.W_OK):
                return d
        except OSError:
            continue
    raise ModelError("compiled engine: no writable cache folder (set EXONICHE_CACHE_DIR)")


def _load_module(source: str):
    digest = hashlib.sha256(source.encode()).hexdigest()[:20]
    name = f"exoniche_mech_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    path = _cache_dir() / f"{name}.py"
    if not path.exists() or path.read_text() != source:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _structure(comp: MechanismFunctions) -> tuple:
    """Index arrays the jitted solver needs: colour groups and per-column Jacobian rows, and array sizes."""
    S = comp.sparsity
    lu = SparseLU(S)
    groups = colour_columns(S)
    groups_ptr = np.cumsum([0] + [g.size for g in groups]).astype(np.int64)
    groups_flat = np.concatenate(groups).astype(np.int64)
    rows, pos = jacobian_columns(S, lu)
    col_ptr = np.cumsum([0] + [r.size for r in rows])
    n_l = sum(step[2].size for step in lu.steps)
    n_u = sum(step[4].size for step in lu.steps)
    sizes = [lu.entry_rows.size, lu.nslots, max(n_l, 1), max(n_u, 1)]
    return groups_ptr, groups_flat, _i64(col_ptr), _i64(np.concatenate(rows)), _i64(np.concatenate(pos)), _i64(sizes)


def _i64(v) -> np.ndarray:
    return np.asarray(v, dtype=np.int64)


def _f64(v) -> np.ndarray:
    return np.asarray(v, dtype=float)


def _warm(k: NumbaKernel) -> None:
    """Trigger (or load from cache) the compilation with the argument types every call uses."""
    n = len(k.functions.species)
    z = np.zeros(0, dtype=np.int64)
    out = np.zeros((0, 1, n))
    k.module._integrate_all(np.zeros((len(k.functions.parameters), 0)), np.zeros(1), np.ones(1),
                            np.zeros(2, np.int64), z, np.zeros(0), np.zeros(2, np.int64), z, np.zeros(0),
                            np.zeros(0), np.zeros(2, np.int64), z, np.zeros(1), 1e-6, np.ones(n), k.n_hoisted,
                            np.arange(n, dtype=np.int64), np.ones(n), out, np.zeros(0, np.int64),
                            np.zeros(5, np.int64), k.structure)


def _flatten(plan) -> tuple:
    """Flatten the plan's segments into the arrays the jitted solver reads (events and outputs per segment)."""
    pev_ptr, pev_idx, pev_val = [0], [], []
    sev_ptr, sev_idx, sev_fac, sev_amt = [0], [], [], []
    out_ptr, out_idx = [0], []
    for seg in plan.segments:
        pev_idx += [plan.parameter_index[e.parameter] for e in seg.parameter_events]
        pev_val += [float(e.value) for e in seg.parameter_events]
        sev_idx += [plan.species_index[e.species] for e in seg.state_events]
        sev_fac += [float(e.factor) for e in seg.state_events]
        sev_amt += [float(e.amount) for e in seg.state_events]
        out_idx += [int(i) for i in seg.outputs]
        pev_ptr.append(len(pev_idx))
        sev_ptr.append(len(sev_idx))
        out_ptr.append(len(out_idx))
    t0 = _f64([seg.t0 for seg in plan.segments])
    t1 = _f64([seg.t1 for seg in plan.segments])
    return (t0, t1, _i64(pev_ptr), _i64(pev_idx), _f64(pev_val), _i64(sev_ptr), _i64(sev_idx), _f64(sev_fac),
            _f64(sev_amt), _i64(out_ptr), _i64(out_idx))


# ------------------------------------------------------------------------------ the engine
class NumbaEngine(PatientEngine):
    """Per-patient BDF, jitted by Numba; registered as ``compiled`` (the cohort default)."""

    name: ClassVar[str] = "compiled"
    capabilities: ClassVar[Capabilities] = Capabilities(patients=True)

    def installed(self) -> bool:
        """Whether ``numba`` is importable."""
        return importlib.util.find_spec("numba") is not None

    def _build_kernel(self, mech: Mechanism, params) -> NumbaKernel:
        if not self.installed():
            raise ModelError("compiled engine needs the 'numba' package (pip install numba); "
                             "or use the batched engine")
        t0 = time.perf_counter()
        comp = compile_mechanism(mech, params)
        source, n_hoisted = _generate_source(mech, comp)
        k = NumbaKernel(comp, _load_module(source), _structure(comp), n_hoisted)
        _warm(k)
        k.compile_seconds = time.perf_counter() - t0
        return k

    def integrate(self, problem: Problem, p: np.ndarray, *, species: list[str] | None = None,
                  stats: dict | None = None, kern: NumbaKernel | None = None,
                  out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Integrate each patient alone (see :meth:`PatientEngine.integrate <.base.PatientEngine.integrate>`).

        ``out``, optional: a C-contiguous float array of shape ``(P, T, len(species))`` (patient, output time,
        species) that receives the results in place, e.g. a slice of a cohort's own storage; the returned ``y``
        is then a view of it. Without it the engine allocates one.
        """
        k = kern or self.kernel(problem.mechanism, problem.params)
        comp = k.functions
        p, plan, keep = self.checked_inputs(problem, comp, p, species)
        stats = stats if stats is not None else {}
        t_out = plan.times
        P = p.shape[1]
        # patient-major and time-major, as the solver writes it: each patient's block is written once, row by row
        shape = (P, t_out.size, len(keep))
        if out is None:
            out = np.empty(shape)
        elif (not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != np.float64
              or not out.flags.c_contiguous or not out.flags.writeable):
            got = (f"shape {out.shape}, dtype {out.dtype}, C-contiguous {out.flags.c_contiguous}"
                   if isinstance(out, np.ndarray) else type(out).__name__)
            raise ModelError(f"out: expected a writeable C-contiguous float64 array of shape {shape} "
                             f"(patients, output times, species); got {got}")
        status = np.zeros(P, dtype=np.int64)
        counts = np.zeros(5, dtype=np.int64)
        atol = problem.rtol * 1e-3 * comp.scales
        k.module._integrate_all(p, *_flatten(plan), t_out, float(problem.rtol), _f64(atol), k.n_hoisted,
                                _i64(keep), _f64(comp.scales), out, status, counts, k.structure)
        for key, v in zip(("rhs", "jac", "lu", "steps", "rejected"), counts):
            stats[key] = stats.get(key, 0) + int(v)
        if np.any(status != _OK):
            j = int(np.argmax(status != _OK))
            code = int(status[j])
            if code >= _NEGATIVE_BASE:
                raise ModelError("compiled integration produced a negative amount of "
                                 f"{comp.species[code - _NEGATIVE_BASE]} (patient column {j} of {P})")
            why = "step size too small" if code == _TOO_SMALL else "non-finite values"
            raise ModelError(f"compiled integration failed for patient column {j} of {P}: {why}")
        return t_out, out.transpose(2, 1, 0)


ENGINE = NumbaEngine()
kernel = ENGINE.kernel
integrate = ENGINE.integrate
run = ENGINE.run

__all__ = ["ENGINE", "NumbaEngine", "NumbaKernel", "integrate", "kernel", "run"]
