"""Cell kernels (Numba): counter-based random numbers, PhysiCell mechanics and motility, voxel coupling.

Mechanics follow PhysiCell (Ghaffarizadeh et al. 2018): overdamped cells whose velocity is the sum of
pairwise potentials, repulsion ``c_rep (1 - d/R)^2`` for ``d < R = r_i + r_j`` and adhesion
``c_adh (1 - d/S)^2`` for ``d < S = s (r_i + r_j)``, plus motility; positions advance by
Adams-Bashforth 2. Motility: with probability ``dt / persistence`` a cell picks a new direction
``bias * grad/|grad| + (1 - bias) * random`` (normalised) times its speed.

Random numbers are counter-based (a SplitMix64 hash of seed, cell id, step and stream), so a cell's
draws do not depend on the order in which threads visit cells: same seed, same numbers, any thread count.
Each cell gathers the forces on itself (no scatter), so the sums are in a fixed order too.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


@nb.njit(cache=True, inline="always")
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@nb.njit(cache=True)
def uniform(seed, uid, step, stream):
    """Return a uniform number in [0, 1) from the counter (seed, uid, step, stream)."""
    z = _mix(np.uint64(seed) * _GOLD + np.uint64(uid))
    z = _mix(z ^ (np.uint64(step) * _GOLD + np.uint64(stream)))
    return (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@nb.njit(cache=True)
def uniforms(seed, uids, step, stream):
    """Return :func:`uniform` for every cell id of ``uids``."""
    out = np.empty(uids.size)
    for i in range(uids.size):
        out[i] = uniform(seed, uids[i], step, stream)
    return out


@nb.njit(cache=True)
def voxel_index(pos, lo, dx, shape):
    """Flat voxel index (z, y, x order) of every cell."""
    n = pos.shape[0]
    out = np.empty(n, dtype=np.int64)
    nz, ny, nx = shape[0], shape[1], shape[2]
    for i in range(n):
        ix = min(max(int((pos[i, 0] - lo[0]) / dx), 0), nx - 1)
        iy = min(max(int((pos[i, 1] - lo[1]) / dx), 0), ny - 1)
        iz = min(max(int((pos[i, 2] - lo[2]) / dx), 0), nz - 1) if nz > 1 else 0
        out[i] = (iz * ny + iy) * nx + ix
    return out


@nb.njit(cache=True)
def _bins(pos, lo, size, nb_):
    """Counting-sort cells into cubic bins of edge ``size`` (serial: deterministic order)."""
    n = pos.shape[0]
    nbin = nb_[0] * nb_[1] * nb_[2]
    key = np.empty(n, dtype=np.int64)
    for i in range(n):
        bx = min(max(int((pos[i, 0] - lo[0]) / size), 0), nb_[0] - 1)
        by = min(max(int((pos[i, 1] - lo[1]) / size), 0), nb_[1] - 1)
        bz = min(max(int((pos[i, 2] - lo[2]) / size), 0), nb_[2] - 1)
        key[i] = (bz * nb_[1] + by) * nb_[0] + bx
    start = np.zeros(nbin + 1, dtype=np.int64)
    for i in range(n):
        start[key[i] + 1] += 1
    for b in range(nbin):
        start[b + 1] += start[b]
    fill = start[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        order[fill[key[i]]] = i
        fill[key[i]] += 1
    return key, start, order


def mechanics(pos, vprev, motility, radius, rep, adh, movable, lo, hi, rel_adh, dt, pressure, tumour_contact,  # noqa: C901
              is_tumour):  # one jitted pass over cell pairs, as PhysiCell's; split, the pair loop would run twice
    """One mechanics step in place: potentials + motility, Adams-Bashforth 2, walls at the domain edge.

    Also returns, per cell, the summed repulsion (PhysiCell's 'pressure' signal, scaled) and the number
    of touching tumour cells.
    """
    n = pos.shape[0]
    if n == 0:
        return
    size = 2.0 * rel_adh * np.max(radius)
    nb_ = np.empty(3, dtype=np.int64)
    for a in range(3):
        nb_[a] = max(1, int((hi[a] - lo[a]) / size) + 1)
    key, start, order = _bins(pos, lo, size, nb_)
    # velocities from the positions at the start of the step for every cell (as PhysiCell does), new
    # positions into a copy: updating pos in place would let a thread read a neighbour already moved
    new = pos.copy()
    for i in nb.prange(n):
        vx = motility[i, 0]
        vy = motility[i, 1]
        vz = motility[i, 2]
        p = 0.0
        tc = 0
        b = key[i]
        bx = b % nb_[0]
        by = (b // nb_[0]) % nb_[1]
        bz = b // (nb_[0] * nb_[1])
        for dz in range(-1, 2):
            cz = bz + dz
            if cz < 0 or cz >= nb_[2]:
                continue
            for dy in range(-1, 2):
                cy = by + dy
                if cy < 0 or cy >= nb_[1]:
                    continue
                for dx_ in range(-1, 2):
                    cx = bx + dx_
                    if cx < 0 or cx >= nb_[0]:
                        continue
                    c = (cz * nb_[1] + cy) * nb_[0] + cx
                    for t in range(start[c], start[c + 1]):
                        j = order[t]
                        if j == i:
                            continue
                        ex = pos[i, 0] - pos[j, 0]
                        ey = pos[i, 1] - pos[j, 1]
                        ez = pos[i, 2] - pos[j, 2]
                        d = np.sqrt(ex * ex + ey * ey + ez * ez)
                        d = max(d, 1e-5)
                        R = radius[i] + radius[j]
                        S = rel_adh * R
                        if d >= S:
                            continue
                        f = 0.0
                        if d < R:
                            q = 1.0 - d / R
                            fr = q * q * np.sqrt(rep[i] * rep[j])
                            f += fr
                            p += fr
                            if is_tumour[j]:
                                tc += 1
                        q = 1.0 - d / S
                        f -= q * q * np.sqrt(adh[i] * adh[j])
                        vx += f * ex / d
                        vy += f * ey / d
                        vz += f * ez / d
        pressure[i] = p
        tumour_contact[i] = tc
        if movable[i]:
            nx_ = pos[i, 0] + dt * (1.5 * vx - 0.5 * vprev[i, 0])
            ny_ = pos[i, 1] + dt * (1.5 * vy - 0.5 * vprev[i, 1])
            nz_ = pos[i, 2] + dt * (1.5 * vz - 0.5 * vprev[i, 2])
            vprev[i, 0] = vx
            vprev[i, 1] = vy
            vprev[i, 2] = vz
            # walls: stay one radius inside the domain (PhysiCell's virtual_wall_at_domain_edge)
            new[i, 0] = min(max(nx_, lo[0] + radius[i]), hi[0] - radius[i])
            new[i, 1] = min(max(ny_, lo[1] + radius[i]), hi[1] - radius[i])
            if hi[2] - lo[2] > 2 * radius[i]:
                new[i, 2] = min(max(nz_, lo[2] + radius[i]), hi[2] - radius[i])
    for i in nb.prange(n):
        pos[i, 0] = new[i, 0]
        pos[i, 1] = new[i, 1]
        pos[i, 2] = new[i, 2]


def update_motility(motility, pos, uid, speed, bias, persistence, chem_sub, fields, lo, dx, shape, seed, step, dt,
                    three_d):
    """Pick new motility directions (probability dt/persistence), biased up the chemotaxis gradient."""
    nz, ny, nx = shape[0], shape[1], shape[2]
    for i in nb.prange(pos.shape[0]):
        if speed[i] <= 0.0:
            motility[i, 0] = motility[i, 1] = motility[i, 2] = 0.0
            continue
        if uniform(seed, uid[i], step, 0) >= dt / max(persistence[i], dt):
            continue
        th = 2 * np.pi * uniform(seed, uid[i], step, 1)
        if three_d:
            cz = 2 * uniform(seed, uid[i], step, 2) - 1
            sz = np.sqrt(1 - cz * cz)
            rx, ry, rz = sz * np.cos(th), sz * np.sin(th), cz
        else:
            rx, ry, rz = np.cos(th), np.sin(th), 0.0
        gx = gy = gz = 0.0
        s = chem_sub[i]
        if s >= 0 and bias[i] > 0:
            ix = min(max(int((pos[i, 0] - lo[0]) / dx), 0), nx - 1)
            iy = min(max(int((pos[i, 1] - lo[1]) / dx), 0), ny - 1)
            iz = min(max(int((pos[i, 2] - lo[2]) / dx), 0), nz - 1) if nz > 1 else 0
            if nx > 1:
                gx = fields[s, iz, iy, min(ix + 1, nx - 1)] - fields[s, iz, iy, max(ix - 1, 0)]
            if ny > 1:
                gy = fields[s, iz, min(iy + 1, ny - 1), ix] - fields[s, iz, max(iy - 1, 0), ix]
            if nz > 1:
                gz = fields[s, min(iz + 1, nz - 1), iy, ix] - fields[s, max(iz - 1, 0), iy, ix]
            g = np.sqrt(gx * gx + gy * gy + gz * gz)
            if g > 0:
                gx, gy, gz = gx / g, gy / g, gz / g
        b = bias[i]
        dxv = b * gx + (1 - b) * rx
        dyv = b * gy + (1 - b) * ry
        dzv = b * gz + (1 - b) * rz
        nrm = np.sqrt(dxv * dxv + dyv * dyv + dzv * dzv)
        if nrm > 0:
            motility[i, 0] = speed[i] * dxv / nrm
            motility[i, 1] = speed[i] * dyv / nrm
            motility[i, 2] = speed[i] * dzv / nrm


PARALLEL_MIN_CELLS = 3000  # below this a thread team costs more than it saves; results are identical either way
mechanics_serial, mechanics_parallel = (nb.njit(cache=True)(mechanics), nb.njit(cache=True, parallel=True)(mechanics))
update_motility_serial, update_motility_parallel = (nb.njit(cache=True)(update_motility),
                                                    nb.njit(cache=True, parallel=True)(update_motility))


@nb.njit(cache=True)
def accumulate(vox, values, n_vox):
    """Sum per-cell ``values`` (n_cells, k) into voxels (k, n_vox), serially in cell order."""
    k = values.shape[1]
    out = np.zeros((k, n_vox))
    for i in range(vox.size):
        for s in range(k):
            out[s, vox[i]] += values[i, s]
    return out


