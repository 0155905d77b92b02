"""exoniche's own calibration as a PEtab problem: petablint accepts it, it reproduces `exoniche calibrate`'s
read-outs at the packaged values, and a fit from it recovers the packaged calibration."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from exoniche import biology
from exoniche.calibration import petab_problem
from exoniche.errors import DataError
from exoniche.experiments import model_calibration as mc

PACKAGED = {
    "distribution_extraction": biology.base_parameters("mouse").value("distribution_extraction"),
    "distribution_volume_ratio": biology.base_parameters("mouse").value("distribution_volume_ratio"),
    "colonisation_baseline__mouse": biology.base_parameters("mouse").value("colonisation_baseline"),
    "colonisation_baseline__human": biology.base_parameters("human").value("colonisation_baseline"),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from typer.testing import CliRunner

    from exoniche.cli import app

    out = tmp_path_factory.mktemp("petab") / "calibration"
    res = CliRunner().invoke(app, ["export", "petab", str(out), "--json"])
    assert res.exit_code == 0, res.output
    import json

    return out, json.loads(res.stdout)


def test_export_is_petablint_clean_with_the_calibration_datasets(exported):
    out, doc = exported
    assert not [f for f in doc["petablint"] if f.startswith(("error", "critical"))]
    assert doc["estimated"] == list(PACKAGED) and doc["n_measurements"] == 3
    assert doc["conditions"] == ["mouse_iv_B16F10_exosomes", "mouse_portal_B16F1_cells", "human_4175LuT_reference"]
    pe = petab_problem.load(out, engine="deterministic")
    pdf = pe.petab.parameter_df
    for pid, value in PACKAGED.items():  # nominal = packaged value; bounds = exoniche calibrate's search box
        assert pdf.loc[pid, "nominalValue"] == pytest.approx(value, rel=1e-12)
        assert pdf.loc[pid, "parameterScale"] == "log"
    assert pdf.loc["colonisation_baseline__human", "lowerBound"] == mc.DATASETS["metastatic_efficiency"][
        "colonisation_baseline"][0]
    fixed = pdf[pdf["estimate"] == 0]
    assert len(fixed) > 100 and "ctc_shedding_per_g_per_day" in fixed.index  # everything else fixed
    cdf = pe.petab.condition_df  # host-dependent values per condition, the baseline mapped per host
    assert cdf.loc["human_4175LuT_reference", "colonisation_baseline"] == "colonisation_baseline__human"
    assert cdf.loc["mouse_portal_B16F1_cells", "C_inj"] == 1e5 and cdf.loc["mouse_iv_B16F10_exosomes", "E_inj"] > 0
    assert float(cdf.loc["human_4175LuT_reference", "body_weight_kg"]) == 70.0


def test_exported_observables_are_exoniche_calibrates_readouts(exported):
    out, _ = exported
    pe = petab_problem.load(out, engine="deterministic")
    sim = pe.simulate(pe.nominal)[:, 0]
    obs = list(pe.petab.measurement_df["observableId"])
    beta = mc._simulate_plasma({k: PACKAGED[k] for k in mc.DATASETS["plasma_kinetics"]})["t_half_beta_h"]
    assert sim[obs.index("obs_t_half_beta_h")] == pytest.approx(beta, rel=1e-4)  # measured: 3e-6
    assay = mc.experimental_metastasis_assay(PACKAGED["colonisation_baseline__mouse"])
    assert sim[obs.index("obs_liver_metastases_per_injected_cell_day13")] == pytest.approx(assay, rel=1e-6)
    # exoniche calibrate integrates the shedding with the trapezoid rule on its output grid, the SBML read-out
    # species as part of the ODE (measured: 3e-6 apart)
    eff = mc.metastatic_efficiency(PACKAGED["colonisation_baseline__human"])
    assert sim[obs.index("obs_metastases_per_shed_cell")] == pytest.approx(eff, rel=1e-4)


def test_objective_is_likelihood_plus_exoniche_calibrates_penalty(exported):
    out, _ = exported
    pe = petab_problem.load(out, engine="deterministic")
    x = pe.nominal + np.array([0.3, -0.2, 0.0, 0.0])
    # the plasma pair carries N(ln packaged, 10) on the ln scale: exoniche calibrate's 0.1 * (x - x0) penalty
    expected = sum(-norm.logpdf(x[k], pe.nominal[k], 10.0) for k in range(2))
    assert pe.prior_nll(x) == pytest.approx(expected, rel=1e-12)
    assert pe.objective(x) == pytest.approx(pe.nllh(x) + expected, rel=1e-12)
    # the datum's log residual weighted as exoniche calibrate weights it (half the ln-width of its range)
    row = mc.dataset("plasma_kinetics").set_index("quantity").loc["t_half_beta_h"]
    sd = math.log(row["high"] / row["low"]) / 2
    assert pe.petab.measurement_df["noiseParameters"].iloc[0] == pytest.approx(sd)


def test_bad_prior_is_named(tmp_path, exported):
    import shutil

    out, _ = exported
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    path = next(bad.glob("parameters_*.tsv"))
    path.write_text(path.read_text().replace("parameterScaleNormal\t-6.", "gamma\t-6.", 1))
    with pytest.raises(DataError, match=r"row 2, column 'objectivePriorType': 'gamma'"):
        petab_problem.load(bad, lint=False, engine="deterministic")


@pytest.mark.slow
def test_fit_from_exported_problem_recovers_the_packaged_calibration(cli_json, exported, tmp_path):
    out, _ = exported
    run = tmp_path / "fit"
    doc = cli_json("fit", out, "--starts", "3", "--seed", "1", "--out", run)  # compiled engine
    assert doc["objective"] == "nllh + prior" and doc["n_converged"] == 3
    assert doc["best_nllh"] <= doc["nominal_nllh"] + 1e-6
    est = {p["id"]: p["estimate"] for p in doc["parameters"]}
    for pid, value in PACKAGED.items():  # packaged values are rounded to 3 digits
        assert est[pid] == pytest.approx(value, rel=5e-3), pid
    refit = {}  # exoniche calibrate's own least-squares refit, which the packaged values round
    for r in mc.calibrate():
        for name, v in r.parameters.items():
            refit[name.replace(" (mouse)", "__mouse").replace(" (human)", "__human")] = v
    assert set(refit) == set(PACKAGED)
    for pid, value in refit.items():
        assert est[pid] == pytest.approx(value, rel=1e-4), pid
    rep = cli_json("fit", "profile", run)
    cls = {p["id"]: p["class"] for p in rep["parameters"]}
    assert cls["colonisation_baseline__mouse"] == cls["colonisation_baseline__human"] == "identifiable"
    # one half-life cannot pin down two parameters: only the weak prior keeps the pair from a flat valley
    assert cls["distribution_extraction"] != "identifiable" and cls["distribution_volume_ratio"] != "identifiable"


def test_export_petab_needs_both_or_neither_of_measurements_and_estimate(cli, tmp_path):
    code, _, err = cli("export", "petab", str(tmp_path / "pe"), "--estimate", "s100_rate_per_day:1e-3:1e3:log10")
    assert code == 2 and "--measurements and --estimate go together" in err
