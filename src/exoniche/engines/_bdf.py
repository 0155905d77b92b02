"""What the two cohort BDF engines share: method constants, the sparse structure and code-generation pieces.

``batched`` (NumPy, lock-step over patients) and ``numba_bdf`` (Numba, one patient at a time) both implement
SciPy's ``BDF`` (NDF formulas of orders 1-5, Shampine & Reichelt 1997): the constants, the Newton stopping
tolerance, the colouring of the Jacobian's columns, the sparse LU's ordering and symbolic factorisation and
the split of a mechanism's expressions into parameter-only and state-dependent ones live here once, so the
two engines cannot drift apart.
"""

from __future__ import annotations

import numpy as np

from exoniche.biology import Mechanism
from exoniche.engines.functions import identifiers, state_dependent

MAX_ORDER = 5
NEWTON_MAXITER = 4
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0
EPS = float(np.finfo(float).eps)
KAPPA = np.array([0, -0.1850, -1 / 9, -0.0823, -0.0415, 0])
GAMMA = np.hstack((0, np.cumsum(1 / np.arange(1, MAX_ORDER + 1))))
ALPHA = (1 - KAPPA) * GAMMA
ERROR_CONST = KAPPA * GAMMA + 1 / np.arange(1, MAX_ORDER + 2)


# CVODE's decay of its running Newton contraction-rate estimate (``crate = max(CRDOWN * crate, rate)``);
# the compiled engine uses it to accept a first Newton iterate (see ``numba_bdf``)
CRDOWN = 0.3


def newton_tol(rtol: float) -> float:
    """Newton iterations stop at this fraction of the error-test scale: 0.03, floored at 10 eps / rtol.

    SciPy's ``BDF`` caps the same quantity at ``rtol**0.5`` (1e-3 at rtol 1e-6). Measured on the v2 cohort
    benchmark (``benchmarks/bench_cohort_vs_roadrunner.py``, rtol 1e-6) that tighter stop costs 12 % more
    right-hand sides and 24 % more Jacobians and buys no accuracy: the error against the rtol 1e-10 reference
    is 6.05e-5 with 0.03 and 6.27e-5 with SciPy's cap. Both cohort engines use this one value.
    """
    return max(10 * EPS / rtol, 0.03)


def colour_columns(sparsity: np.ndarray) -> list[np.ndarray]:
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
    if sum(len(g) for g in groups) != n:
        raise AssertionError("internal: colouring lost a column")
    return [np.array(sorted(g)) for g in groups]


def _minimum_degree(sym: np.ndarray) -> np.ndarray:
    n = sym.shape[0]
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
    return np.array(order)


class SparseLU:
    """Batched sparse LU of matrices with one fixed pattern, without pivoting.

    Values live in an array of shape (slots, P); ``slot[(i, j)]`` addresses entry (i, j) of the permuted
    matrix, fill-in included. The numeric LU needs no pivoting: ``I - c J`` is diagonally dominant for the
    small ``c`` BDF uses, and a non-finite result is treated as a failed Newton iteration.

    Parameters
    ----------
    pattern : ndarray of bool, shape (n, n)
        Structural non-zeros of the Jacobian.
    """

    def __init__(self, pattern: np.ndarray):
        n = pattern.shape[0]
        self.perm = _minimum_degree(pattern | pattern.T)
        F = pattern[np.ix_(self.perm, self.perm)].copy()
        np.fill_diagonal(F, True)
        for k in range(n):  # symbolic factorisation: fill-in
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
        self.entry_of = {(int(i), int(j)): e for e, (i, j) in enumerate(zip(pi, pj))}
        self.diag_entries = np.array([self.entry_of[(i, i)] for i in range(n)], dtype=np.int64)

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
                for kk, _rows, L, _cols, U, _T in self.steps]

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


def jacobian_columns(sparsity: np.ndarray, lu: SparseLU) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per column j: the rows i with J[i, j] structurally non-zero, and their positions in ``lu``'s entries."""
    rows = [np.nonzero(sparsity[:, j])[0] for j in range(sparsity.shape[1])]
    pos = [np.array([lu.entry_of[(int(i), j)] for i in r], dtype=np.int64) for j, r in enumerate(rows)]
    return rows, pos


def split_expressions(mech: Mechanism, species) -> tuple[list, list]:
    """Split the mechanism's expressions into (parameter-only, state-dependent), each in declaration order.

    Parameter-only expressions (flow-weighted uptake rates, the Gompertz rate, ...) are evaluated once per
    patient and segment instead of in every right-hand side.
    """
    state_dep = state_dependent(mech, species)
    return ([e for e in mech.expressions if e.name not in state_dep],
            [e for e in mech.expressions if e.name in state_dep])


def used_names(texts) -> set[str]:
    """Every identifier the formula strings ``texts`` refer to."""
    used: set[str] = set()
    for text in texts:
        used |= identifiers(text)
    return used
