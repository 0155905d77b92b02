"""exoniche's own model as a PEtab problem: petablint accepts it and the objective is the exact likelihood."""

import numpy as np
import pytest

from exoniche.calibration import petab_problem
from exoniche.engines import deterministic
from exoniche.errors import DataError
from exoniche.experiments.setup import Experiment, Injection
from exoniche.io.petab_export import write_petab

ESTIMATE = [("s100_rate_per_day", 1e-3, 1e3, "log10"), ("perm_rate_per_day", 1e-3, 1e3, "log10")]


def _education():
    prob = Experiment(injection=Injection("4175-LuT", times=(0, 2, 4), dose_ug=10), duration_days=7).problem()
    prob.rtol = 1e-10
    return prob


def test_exported_problem_passes_petablint_and_gives_the_exact_likelihood(tmp_path):
    prob = _education()
    ds = deterministic.run(prob)
    rows = [{"observable": s, "time": t, "measurement": float(ds[s].sel(time=t)), "sigma": 0.05 * float(ds[s].sel(
        time=t))} for s in ("Perm_lung", "S100_lung") for t in (1, 3, 5, 7)]
    path = write_petab(tmp_path, prob, rows, ESTIMATE)
    pe = petab_problem.load(path, engine="deterministic")  # raises on any petablint error
    assert pe.estimated == ["s100_rate_per_day", "perm_rate_per_day"] and pe.n_measurements == 8
    # the data are the model's own trajectory (events on days 2 and 4 included): residuals vanish
    sigma = np.array([r["sigma"] for r in rows])
    assert abs(pe.nllh(pe.nominal) - np.sum(0.5 * np.log(2 * np.pi * sigma**2))) < 1e-5
    assert pe.nllh(pe.nominal + np.array([0.3, 0.0])) > pe.nllh(pe.nominal) + 1.0


def test_bad_measurement_rows_are_named(tmp_path):
    prob = _education()
    with pytest.raises(DataError, match="measurement row 1: observable 'Perm_lungs'"):
        write_petab(tmp_path, prob, [{"observable": "Perm_lungs", "time": 1, "measurement": 1, "sigma": 1}], ESTIMATE)
    with pytest.raises(DataError, match="measurement row 1: sigma -1.0 must be > 0"):
        write_petab(tmp_path, prob, [{"observable": "Perm_lung", "time": 1, "measurement": 1, "sigma": -1}], ESTIMATE)
    with pytest.raises(DataError, match="missing field 'sigma'"):
        write_petab(tmp_path, prob, [{"observable": "Perm_lung", "time": 1, "measurement": 1}], ESTIMATE)


def test_export_petab_command(cli_json, tmp_path):
    table = tmp_path / "rows.tsv"
    table.write_text("observable\ttime\tmeasurement\tsigma\ttransformation\n"
                     "E_tum\t10\t5.0\t0.2\tlog10\nPerm_lung\t20\t1.5\t0.1\tlin\n")
    doc = cli_json("export", "petab", tmp_path / "pe", "--measurements", table, "--days", "30",
                   "--estimate", "extraction_target_lung:1e-5:1e-2:log10")
    assert doc["n_measurements"] == 2 and doc["estimated"] == ["extraction_target_lung"]
    assert not [f for f in doc["petablint"] if f.startswith("error")]
