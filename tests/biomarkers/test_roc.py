"""ROC, DeLong and partial AUC against pROC 1.18.0 fixtures (tests/reference), to 1e-6."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exoniche.biomarkers import delong_cov, placements, plot_rocs, roc, roc_test
from exoniche.errors import DataError

REF = __import__("pathlib").Path(__file__).resolve().parents[1] / "reference"
TOL = 1e-6
PAIRED = ["asah", "roc_ties", "roc_big"]


def _arr(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values])


def _load(name: str):
    fx = json.loads((REF / "fixtures" / f"proc_{name}.json").read_text())
    df = pd.read_csv(REF / fx["data"]["file"])
    return fx, df


def _paired_cases():
    for name in PAIRED:
        fx, _ = _load(name)
        for marker, by_dir in fx["rocs"].items():
            for direction in by_dir:
                yield pytest.param(name, marker, direction, id=f"{name}-{marker}-{direction}")


_CACHE: dict = {}


def _roc_for(name: str, marker: str, direction: str):
    key = (name, marker, direction)
    if key not in _CACHE:
        fx, df = _load(name)
        case = fx["data"]["levels"][1]
        y = (df[fx["data"]["response"]].astype(str) == str(case)).to_numpy()
        col = fx["data"]["marker_columns"][marker]
        _CACHE[key] = (
            roc(y, df[col].to_numpy(), direction=direction, name=marker),
            fx["rocs"][marker][direction],
        )
    return _CACHE[key]


@pytest.mark.parametrize(("name", "marker", "direction"), list(_paired_cases()))
def test_auc_delong_ci_direction(name, marker, direction):
    r, ref = _roc_for(name, marker, direction)
    assert r.direction == ref["direction"]
    assert (r.n_cases, r.n_controls) == (ref["n_cases"], ref["n_controls"])
    assert r.auc == pytest.approx(ref["auc"], abs=TOL)
    assert r.var == pytest.approx(ref["var_delong"], abs=TOL * 1e-3)
    assert r.ci[0] == pytest.approx(ref["ci_delong"]["lower"], abs=TOL)
    assert r.ci[1] == pytest.approx(ref["ci_delong"]["upper"], abs=TOL)


@pytest.mark.parametrize(("name", "marker", "direction"), list(_paired_cases()))
def test_curve_coords_and_partial_auc(name, marker, direction):
    r, ref = _roc_for(name, marker, direction)
    if ref["curve"] is not None:
        thr = _arr(ref["curve"]["thresholds"])
        assert len(thr) == len(r.thresholds)
        np.testing.assert_allclose(r.thresholds, thr, atol=TOL)  # equal infinities pass
        np.testing.assert_allclose(r.sensitivities, _arr(ref["curve"]["sensitivities"]), atol=TOL)
        np.testing.assert_allclose(r.specificities, _arr(ref["curve"]["specificities"]), atol=TOL)
    for key, method in (("best_youden", "youden"), ("best_closest_topleft", "closest.topleft")):
        got = r.coords(method)
        for col, values in ref[key].items():
            np.testing.assert_allclose(got[col].to_numpy(), _arr(values), atol=TOL, err_msg=f"{key}.{col}")
    for item in ref["partial"]:
        value = r.partial_auc(tuple(item["partial_auc"]), item["focus"], item["correct"])
        if item["value"] is None:
            assert np.isnan(value), item
        else:
            assert value == pytest.approx(item["value"], abs=TOL), item


def _paired_tests():
    for name in PAIRED:
        fx, _ = _load(name)
        for i, t in enumerate(fx["roc_test_paired"]):
            yield pytest.param(name, i, id=f"{name}-{t['roc1']}-{t['roc2']}-{t['direction_arg']}")


@pytest.mark.parametrize(("name", "i"), list(_paired_tests()))
def test_paired_delong_test(name, i):
    fx, _ = _load(name)
    t = fx["roc_test_paired"][i]
    r1, _ = _roc_for(name, t["roc1"], t["direction_arg"])
    r2, _ = _roc_for(name, t["roc2"], t["direction_arg"])
    res = roc_test(r1, r2)
    assert res.paired is True
    assert res.statistic == pytest.approx(t["statistic"], abs=TOL)
    assert res.p == pytest.approx(t["p_value"], abs=TOL)
    assert res.diff == pytest.approx(t["estimate_difference"], abs=TOL)
    assert res.diff_ci[0] == pytest.approx(t["conf_int"]["lower"], abs=TOL)
    assert res.diff_ci[1] == pytest.approx(t["conf_int"]["upper"], abs=TOL)
    assert bool(res.warnings) == bool(t["warnings"])


def test_unpaired_delong_test():
    fx = json.loads((REF / "fixtures" / "proc_roc_unpaired.json").read_text())
    df = pd.read_csv(REF / fx["data"]["file"])
    for t in fx["roc_test_unpaired"]:
        d = t["direction_arg"]
        ra, rb = (
            roc(
                df.loc[df["sample"] == s, "outcome"], df.loc[df["sample"] == s, "score"].to_numpy(), d, name=s
            )
            for s in ("A", "B")
        )
        for r, s in ((ra, "A"), (rb, "B")):
            ref = fx["rocs"][s][d]
            assert r.auc == pytest.approx(ref["auc"], abs=TOL)
            assert r.ci[1] == pytest.approx(ref["ci_delong"]["upper"], abs=TOL)
            np.testing.assert_allclose(r.sensitivities, _arr(ref["curve"]["sensitivities"]), atol=TOL)
        res = roc_test(ra, rb)
        assert res.paired is False
        assert res.statistic == pytest.approx(t["statistic"], abs=TOL)
        assert res.df == pytest.approx(t["parameter"]["df"], abs=TOL)
        assert res.p == pytest.approx(t["p_value"], abs=TOL)


def test_fast_delong_equals_kernel_definition():
    """Sun & Xu's midrank placements equal the O(m n) Mann-Whitney kernel, ties included."""
    rng = np.random.default_rng(1)
    cases = rng.integers(0, 6, size=(3, 40)).astype(float)
    controls = rng.integers(0, 6, size=(3, 55)).astype(float)
    v10, v01 = placements(cases, controls)
    psi = (cases[:, :, None] > controls[:, None, :]) + 0.5 * (cases[:, :, None] == controls[:, None, :])
    np.testing.assert_allclose(v10, psi.mean(axis=2), atol=1e-12)
    np.testing.assert_allclose(v01, psi.mean(axis=1), atol=1e-12)
    cov = delong_cov(v10, v01)
    expected = np.cov(psi.mean(axis=2)) / 40 + np.cov(psi.mean(axis=1)) / 55
    np.testing.assert_allclose(cov, expected, atol=1e-14)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(-20, 20)), min_size=4, max_size=60).filter(
        lambda rows: 0 < sum(r[0] for r in rows) < len(rows)
    )
)
def test_auc_of_negated_score_is_complement(rows):
    y = np.array([r[0] for r in rows])
    s = np.array([r[1] for r in rows], dtype=float)
    a = roc(y, s, direction="<").auc
    assert roc(y, -s, direction="<").auc == pytest.approx(1 - a, abs=1e-12)
    assert roc(y, s, direction=">").auc == pytest.approx(1 - a, abs=1e-12)
    lo, hi = roc(y, s).ci
    assert (np.isnan(lo) and min(y.sum(), (~y).sum()) < 2) or 0 <= lo <= hi <= 1


def test_bootstrap_ci_is_seeded_and_brackets_auc():
    r, _ = _roc_for("asah", "s100b", "auto")
    a = r.ci_bootstrap(n_boot=500, seed=7)
    assert a == r.ci_bootstrap(n_boot=500, seed=7)
    assert a != r.ci_bootstrap(n_boot=500, seed=8)
    assert a[0] < r.auc < a[1]
    # stratified bootstrap width is close to DeLong's on 113 subjects
    assert abs((a[1] - a[0]) - (r.ci[1] - r.ci[0])) < 0.05


def test_input_errors_are_named():
    with pytest.raises(DataError, match="direction"):
        roc([0, 1], [1, 2], direction="up")
    with pytest.raises(DataError, match="at least one case"):
        roc([1, 1], [1, 2])
    with pytest.raises(DataError, match="missing or infinite"):
        roc([0, 1], [np.nan, 2])
    with pytest.raises(DataError, match="bool or 0/1"):
        roc([0, 2], [1, 2])
    r1, r2 = roc([0, 1, 1], [1, 2, 3]), roc([0, 0, 1], [1, 2, 3])
    with pytest.raises(DataError, match="not on the same subjects"):
        roc_test(r1, r2, paired=True)


def test_to_frame_counts_and_plot(tmp_path):
    r, _ = _roc_for("asah", "s100b", "auto")
    frame = r.to_frame()
    assert list(frame.columns[:3]) == ["threshold", "sensitivity", "specificity"]
    assert ((frame.tp + frame.fn) == r.n_cases).all() and ((frame.tn + frame.fp) == r.n_controls).all()
    # trapezoid area under the table's curve is the AUC
    assert np.trapezoid(frame.sensitivity, frame.specificity) == pytest.approx(r.auc, abs=1e-12)
    ax = plot_rocs([r, _roc_for("asah", "ndka", "auto")[0]])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("s100b: AUC 0.731" in t and "CI 0.630" in t for t in labels), labels
    assert ax.get_xlabel().startswith("1 − specificity")
    ax.figure.savefig(tmp_path / "roc.png")
    assert (tmp_path / "roc.png").stat().st_size > 10_000
