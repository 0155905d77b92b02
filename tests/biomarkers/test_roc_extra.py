"""pROC additions against pROC 1.18 (fixture proc_extra.json from tests/reference/make_reference_extra.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exoniche.biomarkers import roc, roc_test
from exoniche.biomarkers.roc_extra import (
    auprc,
    auprc_ci,
    coords_at,
    multiclass_auc,
    power_roc_test,
    pr_curve,
)
from exoniche.errors import DataError

REF = Path(__file__).resolve().parents[1] / "reference"
FX = json.loads((REF / "fixtures" / "proc_extra.json").read_text())
ASAH = pd.read_csv(REF / "data" / "asah.csv")
Y = (ASAH["outcome"] == "Poor").to_numpy()
# (fixture key, marker, direction) of the pROC reference runs
MARKER_CASES = [("s100b", "s100b", "auto"), ("ndka", "ndka", "auto"), ("wfns", "wfns", "auto"),
                ("ndka_gt", "ndka", ">")]


def _na(v):
    return np.array([np.nan if x is None else float(x) for x in v])


def _roc(marker, direction="auto"):
    return roc(Y, ASAH[marker].to_numpy(dtype=float), direction=direction, name=marker)


@pytest.mark.parametrize(
    ("key", "marker", "direction"),
    [("s100b_sp", "s100b", "auto"), ("s100b_se", "s100b", "auto"), ("wfns_sp", "wfns", "auto"),
     ("wfns_se", "wfns", "auto"), ("ndka_gt_se", "ndka", ">")],
)  # fmt: skip
def test_coords_at_sensitivity_or_specificity_equal_proc(key, marker, direction):
    ref = FX["coords"][key]
    got = coords_at(_roc(marker, direction), ref["input"], ref["x"])
    np.testing.assert_allclose(got["threshold"], _na(ref["threshold"]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["specificity"], ref["specificity"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["sensitivity"], ref["sensitivity"], rtol=0, atol=1e-9)


def test_coords_at_out_of_range_is_an_error():
    with pytest.raises(DataError, match="outside"):
        coords_at(_roc("s100b"), "specificity", [1.5])


@pytest.mark.parametrize(("key", "marker", "direction"), MARKER_CASES)
def test_pr_curve_equals_proc_coords(key, marker, direction):
    ref = FX["pr"][key]
    r = _roc(marker, direction)
    pr = pr_curve(r)
    np.testing.assert_allclose(pr["threshold"], [float(t) for t in ref["threshold"]], rtol=0, atol=1e-9)
    np.testing.assert_allclose(pr["recall"], ref["recall"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(pr["precision"], _na(ref["precision"]), rtol=0, atol=1e-9)
    assert auprc(r) == pytest.approx(ref["auprc_trapezoid"], abs=1e-12)


def test_auprc_ci_is_reproducible_and_brackets_the_estimate():
    r = _roc("s100b")
    lo, hi = auprc_ci(r, n_boot=300, seed=4)
    assert (lo, hi) == auprc_ci(r, n_boot=300, seed=4)
    assert lo < auprc(r) < hi and hi - lo > 0.05
    # a random marker has AUPRC near the prevalence
    rng = np.random.default_rng(0)
    y = rng.random(4000) < 0.3
    assert auprc(roc(y, rng.normal(size=4000))) == pytest.approx(0.3, abs=0.03)


@pytest.mark.parametrize("item", FX["onesided"], ids=lambda i: f"{i['paired']}-{i['alternative']}")
def test_one_sided_delong_equals_proc(item):
    if item["paired"]:
        t = roc_test(_roc("s100b"), _roc("ndka"), alternative=item["alternative"])
    else:
        unp = pd.read_csv(REF / "data" / "roc_unpaired.csv")
        ra, rb = (roc(unp.loc[unp["sample"] == s, "outcome"].to_numpy() == 1,
                      unp.loc[unp["sample"] == s, "score"].to_numpy()) for s in ("A", "B"))  # fmt: skip
        t = roc_test(ra, rb, paired=False, alternative=item["alternative"])
        assert t.df == pytest.approx(item["df"], abs=1e-9)
    assert t.statistic == pytest.approx(item["statistic"], abs=1e-9)
    assert t.p == pytest.approx(item["p_value"], abs=1e-12)


def test_multiclass_univariate_equals_proc():
    for key in ("univariate_auto", "univariate_lt"):
        ref = FX["multiclass"][key]
        got = multiclass_auc(ASAH["gos6"].to_numpy(), ASAH["s100b"].to_numpy(), direction=ref["direction"])
        assert got.levels == ref["levels"]
        assert got.auc == pytest.approx(ref["auc"], abs=1e-12)
    ref = FX["multiclass"]["univariate_auto"]
    got = multiclass_auc(ASAH["gos6"].to_numpy(), ASAH["s100b"].to_numpy())
    assert [p["auc"] for p in got.pairs] == pytest.approx(ref["pair_auc"], abs=1e-12)
    assert [p["direction"] for p in got.pairs] == ref["pair_direction"]


def test_multiclass_score_matrix_equals_proc():
    ref = FX["multiclass"]["multivariate"]
    df = pd.read_csv(REF / ref["file"])
    got = multiclass_auc(df[ref["response"]].to_numpy(), df[ref["columns"]], levels=ref["levels"], direction=">")
    assert got.auc == pytest.approx(ref["auc"], abs=1e-12)
    for p in got.pairs:
        assert p["auc"] == pytest.approx(ref["pair_auc"][p["pair"]], abs=1e-12)
    with pytest.raises(DataError, match="direction"):
        multiclass_auc(df["site"].to_numpy(), df[ref["columns"]])
    with pytest.raises(DataError, match="level"):
        multiclass_auc(np.array(["a"] * 5), np.arange(5.0))


@pytest.mark.parametrize("item", FX["power_one_roc"], ids=lambda i: i["call"])
def test_power_roc_test_equals_proc(item):
    call = item["call"]
    alt = "one.sided" if "one.sided" in call else "two.sided"
    if call.startswith("auc=0.8, ncases=41"):
        got = power_roc_test(auc=0.8, ncases=41, ncontrols=72, alternative=alt)
    elif call.startswith("auc=0.75"):
        got = power_roc_test(auc=0.75, power=0.9, kappa=1.7)
    elif "sig.level=NULL" in call:
        got = power_roc_test(auc=0.7, ncases=60, ncontrols=60, power=0.8, sig_level=None)
    else:
        got = power_roc_test(ncases=41, ncontrols=72, power=0.8)
    for k in ("ncases", "ncontrols", "sig_level", "power"):
        assert got[k] == pytest.approx(item[k], abs=1e-9), k
    # pROC solves the AUC with uniroot (tolerance ~1e-4); we solve it to 1e-12
    assert got["auc"] == pytest.approx(item["auc"], abs=2e-4)


@pytest.mark.parametrize(("key", "marker", "direction"), MARKER_CASES)
def test_binormal_smoothing_and_obuchowski_variance_equal_proc(key, marker, direction):
    from exoniche.biomarkers.roc_extra import smooth_binormal, var_obuchowski

    ref = FX["smooth_binormal"][key]
    r = _roc(marker, direction)
    sm = smooth_binormal(r)
    assert sm.intercept == pytest.approx(ref["intercept"], abs=1e-9)
    assert sm.slope == pytest.approx(ref["slope"], abs=1e-9)
    np.testing.assert_allclose(sm.sensitivities, ref["sensitivities"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(sm.specificities, ref["specificities"], rtol=0, atol=1e-9)
    assert sm.auc == pytest.approx(ref["auc"], abs=1e-9)
    assert var_obuchowski(r) == pytest.approx(ref["var_obuchowski"], abs=1e-12)


@pytest.mark.slow
def test_bootstrap_ci_se_sp_thresholds_agree_with_proc_within_monte_carlo_error():
    """pROC's R random numbers cannot be reproduced: 2000 resamples each side, quantiles within 0.05."""
    from exoniche.biomarkers.roc_extra import ci_se, ci_sp, ci_thresholds

    ref = FX["ci_boot"]
    r = _roc("s100b")
    se = ci_se(r, ref["se"]["specificities"], n_boot=2000, seed=1)
    sp = ci_sp(r, ref["sp"]["sensitivities"], n_boot=2000, seed=2)
    th = ci_thresholds(r, ref["thresholds"]["thresholds"], n_boot=2000, seed=3)
    for got, key in ((se, "se"), (sp, "sp")):
        for q in ("low", "median", "high"):
            np.testing.assert_allclose(got[q], ref[key][q], atol=0.05)
    for q in ("low", "median", "high"):
        np.testing.assert_allclose(th[f"{q}_sp"], ref["thresholds"][f"sp_{q}"], atol=0.05)
        np.testing.assert_allclose(th[f"{q}_se"], ref["thresholds"][f"se_{q}"], atol=0.05)
    # the medians sit on the point estimates
    point = coords_at(r, "specificity", ref["se"]["specificities"])["sensitivity"]
    np.testing.assert_allclose(se["median"], point, atol=0.05)


@pytest.mark.parametrize("item", FX["power_two_roc"], ids=lambda i: i["call"])
def test_power_two_roc_curves_equals_proc(item):
    from exoniche.biomarkers.roc_extra import power_roc_test_two

    call = item["call"]
    other = _roc("wfns") if "wfns" in call else _roc("ndka")
    kw = {"alternative": "one.sided" if "one.sided" in call else "two.sided"}
    if "power=0.9" in call:
        kw["power"] = 0.9
    if "sig.level=NULL" in call:
        kw |= {"power": 0.8, "sig_level": None}
    got = power_roc_test_two(_roc("s100b"), other, **kw)
    for k in ("ncases", "ncontrols", "sig_level", "power"):
        assert got[k] == pytest.approx(item[k], abs=1e-9), k


def test_power_two_roc_curves_needs_paired_curves():
    from exoniche.biomarkers.roc_extra import power_roc_test_two

    other = roc(Y[:50], ASAH["ndka"].to_numpy()[:50])
    with pytest.raises(DataError, match="paired"):
        power_roc_test_two(_roc("s100b"), other)
