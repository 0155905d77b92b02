"""Implicit locally-one-dimensional (LOD) diffusion-decay, as BioFVM solves it.

Each time step solves, for every substrate and each axis in turn,
``(1 + dt*lambda/ndim) u_i - a (u_{i-1} - 2 u_i + u_{i+1}) = u_i_old`` with ``a = D dt / dx^2``
by the Thomas algorithm along every grid line (Ghaffarizadeh et al. 2016, Bioinformatics 32:1256).
Zero-flux (Neumann) faces drop the missing neighbour, so without decay the total amount is conserved
to round-off. Dirichlet faces (per substrate and face) hold their value: the end rows of the lines
that cross them become identity rows, and the face voxels are written back after each sweep.
Dirichlet voxels inside the domain (a clamped vessel) take a slower general path.

Sources and sinks (cells, vessels) enter by BioFVM's implicit per-voxel update
``u <- (u + dt (S T + Q)) / (1 + dt (S + U))`` before the sweeps: secretion rate ``S`` towards the
target ``T``, uptake rate ``U``, net source ``Q`` (amount per volume per time); no step can make a
concentration negative.

Fields are stored ``(substrate, z, y, x)`` with x contiguous (a 2-D grid has ``nz = 1``); sweeps run
Thomas on blocks of neighbouring lines at once so the inner loop is over contiguous memory. Lines are
independent, so the numbers are identical for any thread count.
"""

from __future__ import annotations

import numba as nb
import numpy as np

BLOCK = 64  # lines solved together
# Below this many voxels a thread team costs more than it saves (on busy cores ~1 ms per parallel region):
# the same kernels run compiled serially. Lines are independent either way, so the numbers do not change.
PARALLEL_MIN_VOXELS = 40_000


def _dual(fn):
    """Compile ``fn`` twice: serial and with ``prange`` threads."""
    return nb.njit(cache=True)(fn), nb.njit(cache=True, parallel=True)(fn)
FACES = ("zmin", "zmax", "ymin", "ymax", "xmin", "xmax")


@nb.njit(cache=True)
def _coefficients(n, a, diag0, d_lo, d_hi):
    """Thomas coefficients of one line: sub-diagonal, 1/pivot and c' (identity rows at Dirichlet ends)."""
    lo0 = np.empty(n)
    inv0 = np.empty(n)
    cp0 = np.empty(n)
    for i in range(n):
        lo = -a if i > 0 else 0.0
        hi = -a if i < n - 1 else 0.0
        b = diag0 - lo - hi
        if (i == 0 and d_lo) or (i == n - 1 and d_hi):
            lo, hi, b = 0.0, 0.0, 1.0
        m = b if i == 0 else b - lo * cp0[i - 1]
        lo0[i] = lo
        inv0[i] = 1.0 / m
        cp0[i] = hi / m
    return lo0, inv0, cp0


def _sweep_blocks(u, outer, n, inner, lo0, inv0, cp0):
    """Constant-coefficient solve along the middle axis of ``u`` viewed as (outer, n, inner)."""
    nblk = (inner + BLOCK - 1) // BLOCK
    for job in nb.prange(outer * nblk):
        o = job // nblk
        k0 = (job % nblk) * BLOCK
        k1 = min(k0 + BLOCK, inner)
        base = o * n * inner
        for k in range(k0, k1):
            u[base + k] *= inv0[0]
        for i in range(1, n):
            row = base + i * inner
            lo = lo0[i]
            f = inv0[i]
            for k in range(k0, k1):
                u[row + k] = (u[row + k] - lo * u[row - inner + k]) * f
        for i in range(n - 2, -1, -1):
            row = base + i * inner
            c = cp0[i]
            for k in range(k0, k1):
                u[row + k] -= c * u[row + inner + k]


_sweep_blocks_serial, _sweep_blocks_parallel = _dual(_sweep_blocks)


def _sweep_rows(u, outer, n, lo0, inv0, cp0):
    """Constant-coefficient solve along contiguous rows, BLOCK rows at a time."""
    nblk = (outer + BLOCK - 1) // BLOCK
    for job in nb.prange(nblk):
        r0 = job * BLOCK
        r1 = min(r0 + BLOCK, outer)
        for r in range(r0, r1):
            u[r * n] *= inv0[0]
        for i in range(1, n):
            lo = lo0[i]
            f = inv0[i]
            for r in range(r0, r1):
                idx = r * n + i
                u[idx] = (u[idx] - lo * u[idx - 1]) * f
        for i in range(n - 2, -1, -1):
            c = cp0[i]
            for r in range(r0, r1):
                idx = r * n + i
                u[idx] -= c * u[idx + 1]


_sweep_rows_serial, _sweep_rows_parallel = _dual(_sweep_rows)


def _sweep_masked(u, outer, n, inner, a, diag0, mask, value):
    """General solve where any voxel may be a Dirichlet voxel (identity row)."""
    for job in nb.prange(outer * inner):
        o = job // inner
        k = job % inner
        base = o * n * inner + k
        cp = np.empty(n)
        for i in range(n):
            idx = base + i * inner
            if mask[idx]:
                lo, hi, b, r = 0.0, 0.0, 1.0, value[idx]
            else:
                lo = -a if i > 0 else 0.0
                hi = -a if i < n - 1 else 0.0
                b = diag0 - lo - hi
                r = u[idx]
            m = b if i == 0 else b - lo * cp[i - 1]
            cp[i] = hi / m
            u[idx] = r / m if i == 0 else (r - lo * u[idx - inner]) / m
        for i in range(n - 2, -1, -1):
            idx = base + i * inner
            u[idx] -= cp[i] * u[idx + inner]


_sweep_masked_serial, _sweep_masked_parallel = _dual(_sweep_masked)


def _sources(u, S, T, U, Q, dt):
    for i in nb.prange(u.size):
        v = (u[i] + dt * (S[i] * T[i] + Q[i])) / (1.0 + dt * (S[i] + U[i]))
        u[i] = v if v > 0.0 else 0.0


_sources_serial, _sources_parallel = _dual(_sources)


@nb.njit(cache=True)
def _set(u, idx, vals):
    for j in range(idx.size):
        u[idx[j]] = vals[j]


class Solver:
    """LOD diffusion-decay for ``n_substrates`` fields on a (nz, ny, nx) grid of voxel edge ``dx`` (µm).

    Parameters
    ----------
    shape : (nz, ny, nx); nz = 1 for a 2-D grid
    dx : voxel edge (µm)
    diffusion, decay : per-substrate coefficient (µm^2/min) and decay rate (1/min)
    dirichlet : per substrate, the faces (names in ``FACES``) that hold a value; others are zero-flux
    value : Dirichlet values, (n_substrates, nz, ny, nx) array or one number per substrate
    mask : optional extra Dirichlet voxels inside the domain (bool, same shape as ``value``)
    """

    def __init__(self, shape, dx: float, diffusion, decay, dirichlet=None, value=None, mask=None):
        self.shape = tuple(int(s) for s in shape)
        self.dx = float(dx)
        self.diffusion = np.asarray(diffusion, dtype=float)
        self.decay = np.asarray(decay, dtype=float)
        ns = self.diffusion.size
        full = (ns, *self.shape)
        self.faces = [tuple(f) for f in (dirichlet or [()] * ns)]
        value = np.zeros(ns) if value is None else np.asarray(value, dtype=float)
        self.value = np.ascontiguousarray(np.broadcast_to(value.reshape(ns, 1, 1, 1) if value.ndim == 1 else value,
                                                          full), dtype=float)
        self.inner_mask = np.zeros(full, dtype=np.bool_) if mask is None else np.ascontiguousarray(mask, np.bool_)
        self.ndim = sum(1 for s in self.shape if s > 1)
        nz, ny, nx = self.shape
        # (outer, n, inner) views and face names for the z, y and x sweeps
        self._axes = [(o, n, i, lo, hi) for (o, n, i, lo, hi) in
                      ((1, nz, ny * nx, "zmin", "zmax"), (nz, ny, nx, "ymin", "ymax"), (nz * ny, nx, 1, "xmin", "xmax"))
                      if n > 1]
        self._fixed = []
        for s in range(ns):
            m = self.inner_mask[s].copy()
            sl = {"zmin": (0, slice(None), slice(None)), "zmax": (-1, slice(None), slice(None)),
                  "ymin": (slice(None), 0, slice(None)), "ymax": (slice(None), -1, slice(None)),
                  "xmin": (slice(None), slice(None), 0), "xmax": (slice(None), slice(None), -1)}
            for f in self.faces[s]:
                m[sl[f]] = True
            idx = np.flatnonzero(m.reshape(-1))
            self._fixed.append((idx, self.value[s].reshape(-1)[idx].copy()))
        self._coef = {}

    def _coefficients(self, s, n, a, diag0, lo, hi):
        key = (s, n, a, diag0, lo, hi)
        if key not in self._coef:
            self._coef[key] = _coefficients(n, a, diag0, lo in self.faces[s], hi in self.faces[s])
        return self._coef[key]

    def step(self, fields: np.ndarray, dt: float, S=None, T=None, U=None, Q=None) -> np.ndarray:
        """Advance ``fields`` (n_substrates, nz, ny, nx) by ``dt`` minutes in place."""
        par = fields[0].size >= PARALLEL_MIN_VOXELS
        sources = _sources_parallel if par else _sources_serial
        masked_sweep = _sweep_masked_parallel if par else _sweep_masked_serial
        rows = _sweep_rows_parallel if par else _sweep_rows_serial
        blocks = _sweep_blocks_parallel if par else _sweep_blocks_serial
        for s in range(fields.shape[0]):
            u = fields[s].reshape(-1)
            if S is not None:
                sources(u, S[s].reshape(-1), T[s].reshape(-1), U[s].reshape(-1), Q[s].reshape(-1), dt)
            idx, vals = self._fixed[s]
            _set(u, idx, vals)
            a = self.diffusion[s] * dt / self.dx**2
            diag0 = 1.0 + dt * self.decay[s] / max(self.ndim, 1)
            masked = bool(self.inner_mask[s].any())
            for outer, n, inner, lo, hi in self._axes:
                if masked:
                    masked_sweep(u, outer, n, inner, a, diag0, self._full_mask(s), self.value[s].reshape(-1))
                elif inner == 1:
                    rows(u, outer, n, *self._coefficients(s, n, a, diag0, lo, hi))
                else:
                    blocks(u, outer, n, inner, *self._coefficients(s, n, a, diag0, lo, hi))
                _set(u, idx, vals)
        return fields

    def _full_mask(self, s):
        m = np.zeros(int(np.prod(self.shape)), dtype=np.bool_)
        m[self._fixed[s][0]] = True
        return m


@nb.njit(cache=True)
def _run_steps(fields, nsteps, dt, S, T, U, Q, axes, coef, fixed_idx, fixed_val, fixed_ptr,
               internal, vox, uptake_vol, sub_index):
    """``nsteps`` full steps (sources, sweeps, Dirichlet faces, cell internalisation) in one compiled loop."""
    ns = fields.shape[0]
    for _ in range(nsteps):
        for s in range(ns):
            u = fields[s]
            _sources_serial(u, S[s], T[s], U[s], Q[s], dt)
            for j in range(fixed_ptr[s], fixed_ptr[s + 1]):
                u[fixed_idx[j]] = fixed_val[j]
            for a in range(axes.shape[0]):
                outer, n, inner = axes[a, 0], axes[a, 1], axes[a, 2]
                lo0, inv0, cp0 = coef[s, a, 0, :n], coef[s, a, 1, :n], coef[s, a, 2, :n]
                if inner == 1:
                    _sweep_rows_serial(u, outer, n, lo0, inv0, cp0)
                else:
                    _sweep_blocks_serial(u, outer, n, inner, lo0, inv0, cp0)
                for j in range(fixed_ptr[s], fixed_ptr[s + 1]):
                    u[fixed_idx[j]] = fixed_val[j]
        for i in range(vox.size):
            for k in range(sub_index.size):
                internal[i, k] += dt * uptake_vol[i, k] * fields[sub_index[k], vox[i]]


def run_steps(solver: Solver, fields, nsteps: int, dt: float, S, T, U, Q, internal=None, vox=None,
              uptake_vol=None, sub_index=None):
    """``nsteps`` steps of ``solver`` in one compiled loop (small grids without inner Dirichlet voxels),
    adding each cell's uptake to ``internal`` as the tissue model does; same numbers as repeated ``step``."""
    if any(m.any() for m in solver.inner_mask):
        for _ in range(nsteps):
            solver.step(fields, dt, S, T, U, Q)
            if internal is not None:
                from exoniche.engines.tissue.cells import internalise

                internalise(internal, vox, uptake_vol, fields.reshape(fields.shape[0], -1), dt, sub_index)
        return fields
    ns = fields.shape[0]
    axes = np.array([(o, n, i) for (o, n, i, _, _) in solver._axes], dtype=np.int64).reshape(-1, 3)
    nmax = int(axes[:, 1].max()) if axes.size else 1
    coef = np.zeros((ns, max(len(axes), 1), 3, nmax))
    for s in range(ns):
        a = solver.diffusion[s] * dt / solver.dx**2
        diag0 = 1.0 + dt * solver.decay[s] / max(solver.ndim, 1)
        for j, (_, n, _, lo, hi) in enumerate(solver._axes):
            c = solver._coefficients(s, n, a, diag0, lo, hi)
            for r in range(3):
                coef[s, j, r, :n] = c[r]
    ptr = np.zeros(ns + 1, dtype=np.int64)
    for s in range(ns):
        ptr[s + 1] = ptr[s] + solver._fixed[s][0].size
    idx = np.concatenate([f[0] for f in solver._fixed]).astype(np.int64)
    val = np.concatenate([f[1] for f in solver._fixed]).astype(float)
    flat = fields.reshape(ns, -1)
    if internal is None:
        internal, vox = np.zeros((0, 1)), np.zeros(0, dtype=np.int64)
        uptake_vol, sub_index = np.zeros((0, 1)), np.zeros(1, dtype=np.int64)
    _run_steps(flat, nsteps, dt, *(np.ascontiguousarray(x).reshape(ns, -1) for x in (S, T, U, Q)), axes, coef,
               idx, val, ptr, internal, vox, np.ascontiguousarray(uptake_vol), np.asarray(sub_index, np.int64))
    return fields
