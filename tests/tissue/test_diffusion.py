"""The LOD diffusion-decay solver against analytic results (tiny grids; the 3-D point source is slow)."""

import numpy as np
import pytest

from exoniche.engines.tissue import verify
from exoniche.engines.tissue.diffusion import Solver


def test_mass_conserved_without_decay():
    assert verify.mass_error(n=8, steps=50) <= verify.MASS_TOL


def test_decay_only_matches_implicit_euler():
    # a uniform field has no gradient: LOD splits decay over the axes, (1 + dt lambda / 2)^2 per 2-D step
    f = np.full((1, 1, 6, 7), 2.0)
    Solver((1, 6, 7), 10.0, [100.0], [0.1]).step(f, 2.0)
    np.testing.assert_allclose(f, 2.0 / 1.1**2, rtol=1e-13)


def test_one_dimensional_decay_profile_with_dirichlet_face():
    # steady state of D u'' = lambda u with u(0) = 1 held and zero flux at the far end: discrete cosh profile
    n, dx, d, lam = 40, 10.0, 100.0, 0.01
    f = np.zeros((1, 1, 1, n))
    s = Solver((1, 1, n), dx, [d], [lam], dirichlet=[("xmin",)], value=[1.0])
    for _ in range(4000):
        s.step(f, 5.0)
    k = np.arccosh(1 + lam * dx**2 / (2 * d)) / dx  # exact decay of the discrete equation
    x = np.arange(n) * dx
    L = (n - 1) * dx + dx / 2  # zero-flux face half a voxel beyond the last centre
    expected = np.cosh(k * (L - x)) / np.cosh(k * L)
    np.testing.assert_allclose(f[0, 0, 0], expected, rtol=2e-3)


def test_sources_never_negative_and_uptake_removes():
    f = np.ones((1, 1, 5, 5))
    z = np.zeros_like(f)
    U = np.full_like(f, 50.0)
    Solver((1, 5, 5), 20.0, [10.0], [0.0]).step(f, 1.0, z, z, U, z)
    assert np.all(f > 0) and np.all(f < 1.0 / 50)


def test_threads_identical():
    assert verify.threads_identical(verify._diffusion_run)


@pytest.mark.slow
def test_point_source_steady_state_3d():
    res = verify.point_source_error()
    assert res["rel_err"] <= verify.POINT_SOURCE_TOL


@pytest.mark.parametrize("compiled_loop", [False, True])
def test_cell_uptake_conserves_substrate_between_voxels_and_cells(compiled_loop):
    # what the cells' sinks remove from the grid is what they internalise, step by step, also while
    # diffusion moves the substrate away from their voxels (no decay, zero-flux faces)
    from exoniche.engines.tissue.diffusion import run_steps

    shape, dx = (1, 12, 12), 20.0
    solver = Solver(shape, dx, [1e3], [0.0])
    fields = np.zeros((1, *shape))
    fields[0, 0, 6, 6] = 5.0
    vox = np.array([6 * 12 + 6, 6 * 12 + 7, 3 * 12 + 3], dtype=np.int64)
    uptake_vol = np.full((3, 1), 10.0 * 2494.0)  # rate x cell volume
    internal = np.zeros((3, 1))
    U = np.zeros((1, *shape))
    np.add.at(U.reshape(1, -1)[0], vox, uptake_vol[:, 0] / dx**3)
    zero = np.zeros_like(U)
    total0 = fields.sum() * dx**3
    if compiled_loop:
        run_steps(solver, fields, 200, 0.01, zero, zero, U, zero, internal, vox, uptake_vol, np.array([0]))
    else:
        for _ in range(200):
            solver.step(fields, 0.01, zero, zero, U, zero, (internal, vox, uptake_vol, np.array([0])))
    assert internal.sum() > 0.3 * total0
    assert fields.sum() * dx**3 + internal.sum() == pytest.approx(total0, rel=1e-12)
