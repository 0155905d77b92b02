"""Competing risks against R's cmprsk 2.2-11 (fixture from tests/reference/make_reference_extra.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exoniche.biomarkers.competing import (
    _cif_one,
    analyze_competing,
    competing_codes,
    competing_risks,
    fine_gray,
    gray_test,
)
from exoniche.errors import DataError

REF = Path(__file__).resolve().parents[1] / "reference"
FX = json.loads((REF / "fixtures" / "cmprsk_competing.json").read_text())
DF = pd.read_csv(REF / FX["data"]["file"])
T, E = DF["time"].to_numpy(float), DF["event"].to_numpy()
TOL = 1e-9


def _na(values):
    return np.array([np.nan if v is None else float(v) for v in values])


@pytest.mark.parametrize(("key", "col"), [("cuminc_group", "group"), ("cuminc_all", None), ("cuminc_x2", "x2")])
def test_cuminc_curves_equal_cmprsk(key, col):
    for name, ref in FX[key]["curves"].items():
        level, cause = name.rsplit(" ", 1)
        sel = np.ones(len(DF), bool) if col is None else (DF[col].astype(str) == level).to_numpy()
        x, f, v = _cif_one(T[sel], E[sel], int(cause))
        np.testing.assert_allclose(x, ref["time"], rtol=0, atol=TOL)
        np.testing.assert_allclose(f, ref["est"], rtol=0, atol=TOL)
        np.testing.assert_allclose(v, ref["var"], rtol=0, atol=TOL)


@pytest.mark.parametrize(
    ("key", "col", "rho"), [("cuminc_group", "group", 0), ("cuminc_x2", "x2", 0), ("cuminc_group_rho1", "group", 1)]
)
def test_gray_test_equals_cmprsk(key, col, rho):
    ref = FX[key]["tests"]
    for i, cause in enumerate(ref["cause"]):
        stat, p, df = gray_test(T, E, DF[col].to_numpy(), int(cause), rho)
        assert stat == pytest.approx(ref["stat"][i], abs=1e-7)
        assert p == pytest.approx(ref["pv"][i], abs=1e-9)
        assert df == ref["df"][i]


@pytest.mark.parametrize("key", ["timepoints_group", "timepoints_all"])
def test_cif_rows_at_times_equal_timepoints(key):
    tp = FX[key]
    group = DF["group"] if key == "timepoints_group" else None
    res = competing_risks(T, E, group, at=tp["times"], group_name="group" if group is not None else None)
    rows = pd.DataFrame(res.cif_rows())
    for i, name in enumerate(tp["rows"]):
        level, cause = name.rsplit(" ", 1)
        mine = rows[(rows["group"] == (level if group is not None else "all")) & (rows["cause"] == int(cause))]
        assert mine["time"].tolist() == tp["times"]
        np.testing.assert_allclose(_na(mine["estimate"]), _na(tp["est"][i]), rtol=0, atol=TOL)
        np.testing.assert_allclose(_na(mine["variance"]), _na(tp["var"][i]), rtol=0, atol=TOL)


@pytest.mark.parametrize(("key", "failcode", "cols"), [("crr_cause1", 1, 4), ("crr_cause2", 2, 2)])
def test_fine_gray_equals_crr(key, failcode, cols):
    ref = FX[key]
    X = DF[["x1", "x2"]].assign(groupB=(DF["group"] == "B") * 1.0, groupC=(DF["group"] == "C") * 1.0)
    fit = fine_gray(T, E, X.iloc[:, :cols], failcode)
    assert fit.names == ref["terms"] and fit.converged == ref["converged"]
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=0, atol=1e-7)
    np.testing.assert_allclose(fit.se, ref["se"], rtol=0, atol=1e-7)
    np.testing.assert_allclose(fit.var, ref["var"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(fit.z, ref["z"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(fit.p, ref["p"], rtol=0, atol=1e-9)
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-7)


def test_event_codes_outside_0_to_k_are_named_errors():
    with pytest.raises(DataError, match=r"event value -1 at row 3"):
        competing_codes([0, 1, -1, 2])
    with pytest.raises(DataError, match=r"1.5"):
        competing_codes([0, 1, 1.5])
    with pytest.raises(DataError, match=r"without gaps.*\[2\]"):
        competing_codes([0, 1, 3, 1])
    with pytest.raises(DataError, match="no event of interest"):
        competing_codes([0, 2, 2])


def test_single_level_group_is_an_error():
    df = DF.assign(one="x")
    with pytest.raises(DataError, match="single level"):
        analyze_competing(df, "time", "event", group="one")


def test_without_competing_events_cif_is_one_minus_km():
    """With a single cause the Aalen-Johansen CIF is 1 - Kaplan-Meier."""
    from exoniche.biomarkers.survival import KaplanMeier

    e = np.where(E == 1, 1, 0)
    x, f, _ = _cif_one(T, e, 1)
    km = KaplanMeier().fit(T, e == 1)
    s = km.at(x[1:-1:2])["survival"].to_numpy()
    np.testing.assert_allclose(f[2:-1:2], 1 - s, atol=1e-12)


def test_stacked_plot(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    res = competing_risks(T, E, DF["group"], group_name="group")
    ax = res.plot()
    ax.figure.savefig(tmp_path / "cif.png")
    assert (tmp_path / "cif.png").stat().st_size > 5000
