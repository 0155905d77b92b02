"""Batched engine: agreement with the single-run engine, events, sparse LU, result type."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from exoniche.engines import batched, deterministic
from exoniche.engines.problem import ParameterEvent
from exoniche.experiments.setup import Experiment, Injection


def _rel(a: np.ndarray, b: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """|a - b| relative to the species' own peak (the SBML verification's measure), species x time."""
    return np.abs(a - b) / np.maximum(np.abs(b).max(axis=1), 1e-9 * scales)[:, None]


def _assert_agrees(prob, changes: list[dict], tol: float = 1e-4) -> None:
    """Batched run of all patients vs the single-run engine patient by patient."""
    k, sets, pm = _patients(prob, changes)
    times, y = batched.integrate(prob, pm)
    assert y.shape == (len(k.compiled.species), times.size, len(changes))
    for i, ps in enumerate(sets):
        ds = deterministic.run(dataclasses.replace(prob, params=ps))
        ref = np.vstack([ds[s].values for s in k.compiled.species])
        rel = _rel(y[:, :, i], ref, k.compiled.scales)
        assert rel.max() <= tol, (i, k.compiled.species[int(np.argmax(rel.max(axis=1)))], rel.max())


def _patients(prob, changes: list[dict]):
    k = batched.kernel(prob.mechanism, prob.params)
    sets = [prob.params.with_values(c) for c in changes]
    return k, sets, batched.parameter_matrix(k.compiled, sets)


CHANGES = [
    {},
    {"tumour_initial_g": 40.0, "cargo_tum_pdl1": 1.5, "extraction_target_liver": 0.02},
    {"tumour_initial_g": 0.5, "colonisation_potential": 3.0, "ctc_route_portal": 1.0, "cargo_tum_mir25": 1.0},
]


@pytest.mark.parametrize("rtol", [1e-8])
def test_batched_agrees_with_single_run_engine_on_every_species_and_time(rtol):
    prob = dataclasses.replace(Experiment(physiology="human", tumour="4175-LuT", tumour_initial_g=10.0,
                                          duration_days=120.0).problem(), rtol=rtol)
    _assert_agrees(prob, CHANGES)


def test_batched_at_default_rtol_stays_close_to_single_run_engine():
    prob = Experiment(physiology="human", tumour="BxPC-3-LiT", tumour_initial_g=5.0, duration_days=90.0).problem()
    _assert_agrees(prob, CHANGES[:2])


def test_batched_applies_species_and_parameter_events_like_the_single_run_engine():
    exp = Experiment(physiology="mouse", immune_status="immunodeficient", tumour="4175-LuT", tumour_initial_g=0.05,
                     duration_days=10.0,
                     injection=Injection(source="4175-LuT", times=(0.0, 2.0, 4.0)))
    prob = dataclasses.replace(exp.problem(), rtol=1e-8)
    prob.events.append(ParameterEvent(3.0, "pd1_blockade", 0.9, "anti-PD-1 on"))
    prob.events.append(ParameterEvent(7.0, "pd1_blockade", 0.0, "anti-PD-1 off"))
    _assert_agrees(prob, [{}, {"extraction_target_liver": 0.05}])


def test_run_returns_labelled_dataset_with_patient_dimension_and_non_negative_amounts():
    prob = Experiment(physiology="human", tumour="4175-LuT", tumour_initial_g=10.0, duration_days=30.0).problem()
    k, sets, pm = _patients(prob, CHANGES)
    ds = batched.run(prob, parameters=sets, patients=[10, 11, 12])
    assert ds["N"].dims == ("patient", "time")
    assert list(ds["patient"].values) == [10, 11, 12]
    assert ds["N"].attrs["unit"] == "g"
    assert ds.attrs["engine"] == "batched" and ds.attrs["n_steps"] > 0
    for s in k.compiled.species:
        assert float(ds[s].min()) >= 0.0
    # tumour mass differs between patients as their initial masses do
    assert ds["N"].values[1, 0] == pytest.approx(40.0) and ds["N"].values[2, 0] == pytest.approx(0.5)


def test_batch_composition_changes_results_only_at_solver_tolerance():
    prob = Experiment(physiology="human", tumour="4175-LuT", tumour_initial_g=10.0, duration_days=60.0).problem()
    k, sets, pm = _patients(prob, CHANGES)
    _, alone = batched.integrate(prob, pm[:, :1])
    _, together = batched.integrate(prob, pm)
    assert _rel(together[:, :, 0], alone[:, :, 0], k.compiled.scales).max() < 1e-4


def test_sparse_lu_solves_like_dense_solve():
    rng = np.random.default_rng(0)
    prob = Experiment(physiology="human", tumour="4175-LuT").problem()
    k = batched.kernel(prob.mechanism, prob.params)
    lu = k.lu
    n, P = lu.n, 5
    J = rng.normal(size=(lu.entry_rows.size, P))
    vals = np.zeros((lu.nslots, P))
    vals[lu.entry_slots] = -0.01 * J
    diag = [e for e, (i, j) in enumerate(zip(lu.entry_rows, lu.entry_cols)) if i == j]
    vals[lu.entry_slots[diag]] += 1.0
    dense = np.zeros((P, n, n))
    for e, (i, j) in enumerate(zip(lu.entry_rows, lu.entry_cols)):
        dense[:, i, j] = -0.01 * J[e]
    dense[:, np.arange(n), np.arange(n)] += 1.0
    b = rng.normal(size=(n, P))
    x = lu.solve(lu.blocks(lu.factor(vals.copy())), b)
    ref = np.linalg.solve(dense, b.T[:, :, None])[:, :, 0].T
    np.testing.assert_allclose(x, ref, rtol=1e-10, atol=1e-12)


def test_zero_patients_is_a_named_error():
    from exoniche.errors import ScenarioError

    prob = Experiment(physiology="human", tumour="4175-LuT").problem()
    k = batched.kernel(prob.mechanism, prob.params)
    with pytest.raises(ScenarioError, match="patients"):
        batched.integrate(prob, np.zeros((len(k.compiled.parameters), 0)))
