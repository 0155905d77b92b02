"""Virtual liquid biopsies: true levels from model state, noise, detection limits, schedules."""

from __future__ import annotations

import numpy as np
import pytest

from exoniche.errors import ScenarioError
from exoniche.observe import ASSAYS, Schedule, assay_catalogue, measure, parse_observe, true_levels


def _state(T=3, P=4, e=2.0, c=100.0):
    return {"E_tum": np.full((T, P), e), "E_inj": np.zeros((T, P)), "C": np.full((T, P), c)}


PV = {"plasma_volume_ml": 3000.0, "plasma_fraction_of_blood": 0.55, "cargo_tum_pdl1": 0.5, "cargo_tum_itga6b4": 1.0,
      "cargo_tum_itgavb5": 0.2, "cargo_tum_itgavb3": 0.1, "cargo_tum_mif": 0.3, "cargo_tum_mir105": 1.0,
      "cargo_tum_mir25": 0.1, "shed_cell_viability": 0.005}


def test_true_levels_are_background_plus_tumour_exosomes_times_cargo():
    lv = true_levels(_state(), PV, np.full(4, 1.5), ASSAYS)
    per_ml = 2.0 / 3000.0
    a = assay_catalogue()
    assert lv["pdl1"][0, 0] == pytest.approx(a["pdl1"].background + per_ml * 0.5)
    assert lv["itgav"][0, 0] == pytest.approx(a["itgav"].background + per_ml * 0.3)
    assert lv["mir21"][0, 0] == pytest.approx(a["mir21"].background + per_ml * 1.5)
    assert lv["exo_per_ml"][0, 0] == pytest.approx(1e10 + per_ml * 1e9)
    blood = 3000.0 / 0.55
    # only the viable share of shed cells is counted (intact EpCAM+ cells)
    assert lv["ctc_per_7_5ml"][0, 0] == pytest.approx(100.0 * 0.005 * 7.5 / blood * 0.8)


def _rngs(P, seed=0):
    return [np.random.default_rng([seed, j]) for j in range(P)]


def test_measurement_noise_has_the_stated_cv_and_lod_substitution():
    P = 20000
    true = {"pdl1": np.full((1, P), 1.0), "mif": np.full((1, P), 0.001)}
    s = Schedule(analytical_cv=(("pdl1", 0.1),), within_cv=(("pdl1", 0.2),))
    m = measure(true, s, _rngs(P))
    log_sd = np.std(np.log(m["pdl1"]))
    assert log_sd == pytest.approx(np.sqrt(np.log1p(0.1**2) + np.log1p(0.2**2)), rel=0.03)
    assert np.median(m["pdl1"]) == pytest.approx(1.0, rel=0.01)
    lod = assay_catalogue()["mif"].lod
    assert np.all(m["mif"][m["mif"] < lod] == lod / 2) and (m["mif"] == lod / 2).mean() > 0.9


def test_zero_cv_reproduces_true_levels_and_ctc_counts_are_poisson():
    P = 20000
    s = Schedule(analytical_cv=(("pdl1", 0.0),), within_cv=(("pdl1", 0.0),))
    true = {"pdl1": np.full((1, P), 0.7), "ctc_per_7_5ml": np.full((1, P), 3.0)}
    m = measure(true, s, _rngs(P))
    np.testing.assert_allclose(m["pdl1"], 0.7)
    counts = m["ctc_per_7_5ml"]
    assert counts.mean() == pytest.approx(3.0 + 0.5 * np.exp(-3.0), rel=0.02)  # zero counts reported as 0.5
    assert set(np.unique(counts[counts < 1])) == {0.5}


def test_a_patients_noise_does_not_depend_on_the_other_patients():
    true = {"pdl1": np.arange(1, 7, dtype=float).reshape(2, 3)}
    full = measure(true, Schedule(), _rngs(3))["pdl1"]
    alone = measure({"pdl1": true["pdl1"][:, 2:]}, Schedule(), [np.random.default_rng([0, 2])])["pdl1"]
    np.testing.assert_array_equal(full[:, 2:], alone)


def test_schedule_times_and_validation():
    assert list(parse_observe({"every_days": 28}).times(90)) == [0, 28, 56, 84]
    assert list(parse_observe({"times_days": [0, 30, 400]}).times(365)) == [0, 30]
    with pytest.raises(ScenarioError, match="cohort.observe.every_days"):
        parse_observe({"every_days": 0}, "s.toml")
    with pytest.raises(ScenarioError, match="cohort.observe.markers"):
        parse_observe({"markers": ["pdl2"]}, "s.toml")
    with pytest.raises(ScenarioError, match="cohort.observe.within_cv.pdl1"):
        parse_observe({"within_cv": {"pdl1": -0.1}}, "s.toml")
    with pytest.raises(ScenarioError, match="no blood draw"):
        Schedule(times_days=(400.0,)).times(365)
