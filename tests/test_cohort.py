"""Cohort definitions: validation with named fields, and draws that depend only on (seed, patient)."""

from __future__ import annotations

import numpy as np
import pytest

from exoniche.engines import batched
from exoniche.errors import ScenarioError
from exoniche.experiments.cohort import parse_cohort, sample_patients, uniforms
from exoniche.experiments.setup import Experiment

EXP = Experiment(physiology="human", tumour="4175-LuT", tumour_initial_g=10.0, duration_days=30.0)


def _order():
    prob = EXP.problem()
    return batched.kernel(prob.mechanism, prob.params).functions.parameters


@pytest.mark.parametrize("raw, field", [
    ({"parameters": {"tumour_initial_g": {"cv": -0.5}}}, "cohort.parameters.tumour_initial_g.cv"),
    ({"parameters": {"tumour_inital_g": {"cv": 0.5}}}, "cohort.parameters.tumour_inital_g"),
    ({"size": 0}, "cohort.size"),
    ({"sizes": 10}, "cohort.sizes"),
    ({"parameters": {"tumour_initial_g": {"distribution": "gamma", "cv": 1}}},
     "cohort.parameters.tumour_initial_g.distribution"),
    ({"parameters": {"tumour_initial_g": {"distribution": "uniform", "low": 5, "high": 1}}},
     "cohort.parameters.tumour_initial_g.high"),
    ({"tumours": {"4175-LuX": 1.0}}, "cohort.tumours.4175-LuX"),
    ({"primary_sites": {"venous": -1}}, "cohort.primary_sites.venous"),
    ({"parameters": {"tumour_initial_g": {"cv": 1}, "cargo_tum_pdl1": {"cv": 1}},
      "correlations": [{"parameters": ["tumour_initial_g", "cargo_tum_pdl1"], "rho": 1.5}]},
     "cohort.correlations[0].rho"),
])
def test_bad_cohort_definitions_name_the_field(raw, field):
    with pytest.raises(ScenarioError) as info:
        parse_cohort(raw, "s.toml")
    assert f"s.toml: {field}:" in str(info.value)


def test_unknown_parameter_suggests_the_close_name():
    with pytest.raises(ScenarioError, match="did you mean \"tumour_initial_g\""):
        parse_cohort({"parameters": {"tumour_inital_g": {"cv": 0.5}}}, "s.toml")


def test_patient_draws_depend_only_on_seed_and_id():
    c = parse_cohort({"seed": 5, "tumours": {"4175-LuT": 0.5, "BxPC-3-LiT": 0.5},
                      "parameters": {"tumour_initial_g": {"cv": 1.0},
                                     "extraction_target_liver": {"distribution": "uniform", "low": 0.02,
                                                                 "high": 0.05}}})
    order = _order()
    full = sample_patients(c, EXP, np.arange(0, 40), order)
    part = sample_patients(c, EXP, np.arange(17, 23), order)
    np.testing.assert_array_equal(part.p, full.p[:, 17:23])
    assert list(part.tumour) == list(full.tumour[17:23])
    other_seed = sample_patients(parse_cohort({"seed": 6, "parameters": {"tumour_initial_g": {"cv": 1.0}}}), EXP,
                                 np.arange(0, 40), order)
    i = order.index("tumour_initial_g")
    assert not np.allclose(other_seed.p[i], full.p[i])


def test_lognormal_uniform_categorical_and_correlation_follow_their_definition():
    n = 20000
    c = parse_cohort({"seed": 1, "tumours": {"4175-LuT": 0.25, "BxPC-3-LiT": 0.75},
                      "primary_sites": {"venous": 0.5, "portal": 0.5},
                      "parameters": {"tumour_initial_g": {"cv": 0.5, "median": 2.0},
                                     "cargo_tum_pdl1": {"cv": 0.3},
                                     "extraction_target_liver": {"distribution": "uniform", "low": 0.02, "high": 0.05}},
                      "correlations": [{"parameters": ["tumour_initial_g", "cargo_tum_pdl1"], "rho": 0.6}]})
    order = _order()
    b = sample_patients(c, EXP, np.arange(n), order)
    m = b.p[order.index("tumour_initial_g")]
    assert np.median(m) == pytest.approx(2.0, rel=0.03)
    assert np.std(m) / np.mean(m) == pytest.approx(0.5, rel=0.05)
    u = b.p[order.index("extraction_target_liver")]
    assert u.min() >= 0.02 and u.max() <= 0.05 and np.mean(u) == pytest.approx(0.035, rel=0.01)
    assert np.mean(b.tumour == "BxPC-3-LiT") == pytest.approx(0.75, abs=0.015)
    assert np.mean(b.site == "portal") == pytest.approx(0.5, abs=0.015)
    assert set(b.p[order.index("ctc_route_portal")]) == {0.0, 1.0}
    # PD-L1 median is each patient's own preset value: 0.3 for both presets here
    pdl1 = b.p[order.index("cargo_tum_pdl1")]
    assert np.median(pdl1) == pytest.approx(0.3, rel=0.03)
    rho = np.corrcoef(np.log(m), np.log(pdl1))[0, 1]
    assert rho == pytest.approx(0.6, abs=0.03)
    # miR-21 level follows the drawn preset (observation only)
    assert np.all(b.mir21[b.tumour == "4175-LuT"] == 1.0)


def test_uniforms_are_open_unit_interval_and_stream_specific():
    u = uniforms(3, np.arange(100000), 0)
    assert u.min() > 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.005
    assert not np.allclose(u[:100], uniforms(3, np.arange(100), 1))


def test_with_size_rejects_zero_patients():
    with pytest.raises(ScenarioError, match="--patients"):
        parse_cohort({}).with_size(0)


def test_patient_generators_equal_default_rng():
    """The cheap per-patient generators give default_rng([seed, stream, id])'s state and draws, fallback included."""
    from exoniche.experiments.cohort import patient_generators

    for seed, stream, ids in [(2019, 1002, np.arange(0, 500)), (0, 0, np.array([0, 1, 2**32 - 1])),
                              (2**32 - 1, 1001, np.arange(10**6 - 50, 10**6)), (7, 1001, np.array([3, 2**32, 2**40]))]:
        got = 0
        for pid, g in zip(ids, patient_generators(seed, stream, ids), strict=True):
            ref = np.random.default_rng([seed, stream, int(pid)])
            assert g.bit_generator.state == ref.bit_generator.state
            assert np.array_equal(g.standard_normal(4), ref.standard_normal(4))
            got += 1
        assert got == ids.size


def test_first_detections_equal_sample_metastases():
    """The cohort's vectorised metastasis draws give sample_metastases' counts and first days, bit for bit."""
    from exoniche.engines.stochastic import first_detections, sample_metastases

    rng = np.random.default_rng(3)
    times = np.arange(0.0, 101.0)
    n_pat, n_org = 40, 3
    cum = [np.cumsum(rng.exponential(s, (n_pat, times.size)), axis=1) * (rng.random((n_pat, 1)) > 0.3)
           for s in (0.05, 1.0, 20.0)]
    alpha = rng.uniform(0.01, 0.1, n_pat)
    caps = [rng.uniform(0.5, 5.0, n_pat), np.full(n_pat, 1e-10), rng.uniform(1e-3, 2.0, n_pat)]
    count, first = first_detections(times, cum, alpha, caps, 1e-9, 1e-2, 100.0,
                                    (np.random.default_rng([1, j]) for j in range(n_pat)))
    for j in range(n_pat):
        r = np.random.default_rng([1, j])
        for m in range(n_org):
            n, _, _, f = sample_metastases(times, cum[m][j], float(alpha[j]), float(caps[m][j]), 1e-9, 1e-2, 100.0, r)
            assert count[j, m] == n
            assert (np.isnan(f) and np.isnan(first[j, m])) or f == first[j, m]
    assert np.isfinite(first).any() and np.isnan(first[count > 0]).any()
