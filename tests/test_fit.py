"""Multi-start fits (resumable run folder, figures) and profile likelihoods on the PEtab benchmark problems."""

import json
from pathlib import Path

import numpy as np
import pytest

from exoniche import calibration
from exoniche.calibration import petab_problem
from exoniche.calibration._fit import FD_STEP

BENCH = Path(__file__).resolve().parent / "reference" / "petab"


def _yaml(name: str) -> Path:
    return BENCH / name / f"{name}.yaml"


def test_latin_hypercube_is_seeded_and_stratified():
    lo, hi = np.array([-5.0, 0.0]), np.array([5.0, 1.0])
    a = calibration.latin_hypercube(10, lo, hi, 3)
    assert np.array_equal(a, calibration.latin_hypercube(10, lo, hi, 3))
    assert not np.array_equal(a, calibration.latin_hypercube(10, lo, hi, 4))
    for j in range(2):  # one point per tenth of each axis
        bins = np.floor((a[:, j] - lo[j]) / (hi[j] - lo[j]) * 10).astype(int)
        assert sorted(bins) == list(range(10))


def test_gradient_matches_the_objective():
    prob = petab_problem.load(_yaml("Boehm_JProteomeRes2014"))
    x = prob.nominal + 0.05
    f, g = prob.nllh_grad(x, FD_STEP)
    d = np.zeros_like(x)
    d[0] = 1e-3
    slope = (prob.nllh(x + d) - prob.nllh(x - d)) / 2e-3
    assert abs(slope - g[0]) <= 1e-3 * max(1.0, abs(slope))
    assert np.isclose(f, prob.nllh(x))


def test_fit_command_writes_a_resumable_run_folder_and_profiles(cli_json, tmp_path):
    out = tmp_path / "perelson"
    first = cli_json("fit", _yaml("Perelson_Science1996"), "--starts", "4", "--seed", "7", "--out", out)
    assert set(first) >= {"best_nllh", "nominal_nllh", "n_starts", "n_converged", "parameters", "wall_s"}
    assert first["n_starts"] == 4 and first["resumed_starts"] == 0
    assert [p["id"] for p in first["parameters"]] == ["c", "delta", "sd_task0_model0_perelson1_V"]
    assert all(set(p) >= {"id", "estimate", "lower", "upper", "scale"} for p in first["parameters"])
    assert first["best_nllh"] <= first["nominal_nllh"]
    for name in ("waterfall.png", "fit_task0_model0_perelson1_V.png", "fit.json"):
        assert (out / name).is_file()
    assert len(list((out / "starts").glob("start_*.json"))) == 4
    again = cli_json("fit", _yaml("Perelson_Science1996"), "--starts", "4", "--seed", "7", "--out", out)
    assert again["resumed_starts"] == 4 and again["best_nllh"] == first["best_nllh"]
    report = cli_json("fit", "profile", out)
    assert (out / "profiles.png").is_file() and (out / "profiles.json").is_file()
    for p in report["parameters"]:
        assert p["class"] == "identifiable"
        assert p["ci_lower"] < p["estimate"] < p["ci_upper"]
    c = next(p for p in report["parameters"] if p["id"] == "c")
    assert 1.5 < c["ci_lower"] < 1.86 < c["ci_upper"] < 2.3  # virus clearance per day


def test_a_parameter_nothing_depends_on_profiles_structurally_flat(tmp_path):
    import shutil

    src = BENCH / "Perelson_Science1996"
    shutil.copytree(src, tmp_path / "p")
    table = tmp_path / "p" / "parameters_Perelson_Science1996.tsv"
    with table.open("a") as fh:  # an estimated parameter that neither the model nor an observable reads
        fh.write("unused\tunused\tlog10\t1E-05\t100000\t1\t1\n")
    prob = petab_problem.load(tmp_path / "p" / "Perelson_Science1996.yaml", lint=False)
    assert prob.estimated[-1] == "unused"
    start = calibration.optimise_start(prob, prob.nominal)
    rep = calibration.profile(prob, np.array(start["x"]), start["fval"], points=4)
    cls = {p["id"]: p["class"] for p in rep["parameters"]}
    assert cls["unused"] == "structurally flat"
    assert cls["c"] == "identifiable"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["Perelson_Science1996", "Boehm_JProteomeRes2014"])
def test_twenty_seeded_starts_reach_the_published_best_fit(name, tmp_path):
    prob = petab_problem.load(_yaml(name))
    summary = calibration.fit(prob, 20, 1, out=tmp_path)
    assert summary["best_nllh"] <= summary["nominal_nllh"] + 0.01
    assert json.loads((tmp_path / "fit.json").read_text())["best_nllh"] == summary["best_nllh"]
