"""The interactions study's Sobol indices: the sampled model is the study's own experiment, and the indices
rank the cargo components as the knockouts do."""

import numpy as np

from exoniche.engines import deterministic
from exoniche.experiments.interventions import Intervention
from exoniche.experiments.setup import Experiment
from exoniche.experiments.studies import interactions as it
from exoniche.experiments.studies.common import niche_score


def test_cargo_levels_are_the_knockdowns_of_the_factorial():
    model, params = it.cargo_model(it.BASE)
    assert params["integrins"] == ["cargo_tum_itga6b4", "cargo_tum_itga6b1"]
    y = model(np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0], [0.5, 1.0, 1.0, 1.0]]))
    outcomes = list(it.SOBOL_OUTCOMES)
    for row, ivs in ((0, []), (1, [Intervention("knockdown", target="PD-L1", residual=0.0)]),
                     (2, [Intervention("knockdown", target="ITGα6", residual=0.5)])):
        ds = deterministic.run(Experiment(**it.BASE, interventions=ivs).problem())
        ref = {"lung metastases": ds["Col_lung"].values[-1], "liver metastases": ds["Col_liver"].values[-1],
               "lung niche score": niche_score(ds, "lung"), "CD8+ T spleen": ds["T_spleen"].values[-1]}
        for k, name in enumerate(outcomes):
            assert np.isclose(y[row, k], ref[name], rtol=1e-4), (row, name)


def test_sobol_indices_rank_the_components():
    res = it.sobol_indices(it.BASE, n=64, seed=1)
    assert res["n_runs"] == 64 * 6 and set(res["indices"]) == set(it.SOBOL_OUTCOMES)
    lung = res["indices"]["lung metastases"]
    assert set(lung) == {"S1", "S1_conf", "ST", "ST_conf"} and set(lung["ST"]) == set(it.FACTORS)
    # PD-L1 (systemic T-cell suppression) and the lung integrins carry the variance; miR-105 and VEGF do not
    assert lung["ST"]["PD-L1"] > 0.5 and lung["ST"]["integrins"] > 5 * lung["ST"]["miR-105"]
    niche = res["indices"]["lung niche score"]
    assert niche["ST"]["integrins"] > 0.2 and niche["ST"]["VEGF"] < 0.05
    assert all(v >= 0 for v in lung["ST_conf"].values())
