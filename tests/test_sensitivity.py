"""Global sensitivity: Sobol indices of the Ishigami function against the analytic values; scenario runs."""

from pathlib import Path

import numpy as np
import pytest

from exoniche.calibration import sensitivity
from exoniche.errors import ScenarioError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sensitivity" / "default_lung.toml"


def _ishigami(X, a=7.0, b=0.1):
    return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])


def _analytic(a=7.0, b=0.1):
    v1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * np.pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / var, np.array([v1 + v13, v2, v13]) / var


def test_ishigami_sobol_indices_within_their_confidence_intervals():
    names = ["x1", "x2", "x3"]
    res = sensitivity.analyse(_ishigami, names, [(-np.pi, np.pi)] * 3, "sobol", n=4096, seed=11)
    s1, st = _analytic()
    idx = res["indices"]["y0"]
    for k, nm in enumerate(names):
        assert abs(idx["S1"][nm] - s1[k]) <= idx["S1_conf"][nm], (nm, idx["S1"][nm], s1[k])
        assert abs(idx["ST"][nm] - st[k]) <= idx["ST_conf"][nm], (nm, idx["ST"][nm], st[k])
    assert res["n_runs"] == 4096 * (3 + 2)  # N (k + 2) without second order


def test_ishigami_morris_ranks_x3_below_x1_and_x2():
    res = sensitivity.analyse(_ishigami, ["x1", "x2", "x3"], [(-np.pi, np.pi)] * 3, "morris", n=200, seed=3)
    mu = res["indices"]["y0"]["mu_star"]
    assert mu["x3"] < mu["x1"] and mu["x3"] < mu["x2"]


def test_scenario_sobol_is_resumable_and_plotted(cli_json, tmp_path):
    args = ["sensitivity", EXAMPLE, "--method", "sobol", "--n", "8", "--params",
            "capillary_arrest_fraction=0.5:0.95,colonisation_baseline", "--outputs", "lung_metastases,lung_niche",
            "--out", tmp_path]
    first = cli_json(*args)
    assert first["n_runs"] == 8 * (2 + 2) and first["chunks_resumed"] == 0
    assert (tmp_path / "indices.png").is_file() and (tmp_path / "sensitivity.json").is_file()
    idx = first["indices"]["lung_metastases"]
    # expected lung metastases are proportional to colonisation_baseline: it dominates
    assert idx["ST"]["colonisation_baseline"] > idx["ST"]["capillary_arrest_fraction"]
    again = cli_json(*args)
    assert again["chunks_resumed"] >= 1 and again["chunks_run"] == 0
    assert again["indices"] == first["indices"]


def test_bad_sensitivity_input_is_named():
    with pytest.raises(ScenarioError, match="--outputs: unknown output 'lung_metastasis'"):
        sensitivity.scenario_sensitivity(EXAMPLE, "sobol", 8, ["colonisation_baseline"], ["lung_metastasis"])
    with pytest.raises(ScenarioError, match="--params: unknown parameter 'colonization_baseline'"):
        sensitivity.scenario_sensitivity(EXAMPLE, "sobol", 8, ["colonization_baseline"], ["lung_metastases"])
    with pytest.raises(ScenarioError, match="--method"):
        sensitivity.analyse(_ishigami, ["a"], [(0, 1)], "fast")
