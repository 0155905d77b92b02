"""Cut-points against pROC's coords and R's binom.test (Clopper-Pearson)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exoniche.biomarkers import clopper_pearson, cutpoint, roc, stard_table
from exoniche.errors import DataError

REF = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="module")
def asah():
    fx = json.loads((REF / "fixtures" / "proc_asah.json").read_text())
    df = pd.read_csv(REF / "data" / "asah.csv")
    return fx, df


# binom.test(k, n)$conf.int in R 4.2.2
@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (26, 41, 0.46936254803283345, 0.77877213793893474),
        (58, 72, 0.69533106670131661, 0.88941621332151044),
        (0, 10, 0.0, 0.30849710781876083),
        (10, 10, 0.69150289218123917, 1.0),
        (3, 50, 0.012548587835334061, 0.165481946603772911),
    ],
)
def test_clopper_pearson_equals_r(k, n, low, high):
    assert clopper_pearson(k, n) == pytest.approx((low, high), abs=1e-10)


@pytest.mark.parametrize("marker", ["s100b", "ndka", "wfns"])
@pytest.mark.parametrize(
    ("method", "key"), [("youden", "best_youden"), ("closest_topleft", "best_closest_topleft")]
)
def test_best_threshold_is_procs(asah, marker, method, key):
    fx, df = asah
    ref = fx["rocs"][marker]["auto"][key]
    r = roc(df["outcome"] == "Poor", df[marker].to_numpy(), name=marker)
    c = cutpoint(r, method)
    assert [c.threshold, *c.tied_thresholds] == pytest.approx(ref["threshold"], abs=1e-9)
    assert c.tp / c.n_cases == pytest.approx(ref["sensitivity"][0], abs=1e-12)
    assert c.tn / c.n_controls == pytest.approx(ref["specificity"][0], abs=1e-12)


def test_counts_follow_direction_and_measures(asah):
    _, df = asah
    y = (df["outcome"] == "Poor").to_numpy()
    s = df["s100b"].to_numpy()
    c = cutpoint(roc(y, s), threshold=0.205)
    assert (c.tp, c.fp) == (int(np.sum(s[y] > 0.205)), int(np.sum(s[~y] > 0.205)))
    flipped = cutpoint(roc(y, -s), threshold=-0.205)  # auto picks '>' for the negated marker
    assert flipped.direction == ">" and (flipped.tp, flipped.fp, flipped.fn, flipped.tn) == (
        c.tp,
        c.fp,
        c.fn,
        c.tn,
    )
    m = c.measures().set_index("measure")["estimate"]
    se, sp = c.tp / c.n_cases, c.tn / c.n_controls
    assert m["lr_positive"] == pytest.approx(se / (1 - sp))
    assert m["lr_negative"] == pytest.approx((1 - se) / sp)
    assert m["ppv"] == pytest.approx(c.tp / (c.tp + c.fp))
    assert c.table_2x2().loc["total", "total"] == len(y)


@pytest.mark.parametrize("bound", [0.8, 0.9, 0.95])
def test_constrained_cutpoints_meet_the_bound_and_are_best(asah, bound):
    _, df = asah
    r = roc(df["outcome"] == "Poor", df["ndka"].to_numpy())
    se_c = cutpoint(r, f"se>={bound}")
    assert se_c.tp / se_c.n_cases >= bound
    ok = np.isfinite(r.thresholds) & (r.sensitivities >= bound)
    assert se_c.tn / se_c.n_controls == pytest.approx(r.specificities[ok].max())
    sp_c = cutpoint(r, f"sp >= {bound}")
    assert sp_c.tn / sp_c.n_controls >= bound


def test_errors_and_stard_table(asah):
    _, df = asah
    r = roc(df["outcome"] == "Poor", df["s100b"].to_numpy(), name="s100b")
    with pytest.raises(DataError, match="unknown value 'optimal'"):
        cutpoint(r, "optimal")
    with pytest.raises(DataError, match=r"bound must lie in \[0, 1\]"):
        cutpoint(r, "se>=1.5")
    table = stard_table([cutpoint(r), cutpoint(r, "sp>=0.9")])
    assert table.loc[0, "TP / FP / FN / TN"] == "26 / 14 / 15 / 58"
    assert table.loc[0, "sensitivity"] == "0.634 (0.469–0.779)"
    assert "Youden" in table.loc[0, "how chosen"]


def _coords_cases():
    fx = json.loads((REF / "fixtures" / "proc_coords_ties.json").read_text())
    return [pytest.param(c, id=f"{c['marker']}{c['direction_arg']}") for c in fx["coords"]]


@pytest.mark.parametrize("ref", _coords_cases())
def test_fixed_threshold_ties_count_as_positive_like_proc(ref):
    """pROC's coords(input='threshold'): a sample equal to the threshold is positive (>= for '<')."""
    df = pd.read_csv(REF / ref["file"])
    case = ref["levels"][1]
    y = (df["outcome"].astype(str) == str(case)).to_numpy()
    r = roc(y, df[ref["marker"]].to_numpy(dtype=float), direction=ref["direction_arg"], name=ref["marker"])
    assert r.direction == ref["direction"]
    for i, t in enumerate(ref["threshold"]):
        c = cutpoint(r, threshold=t)
        # pROC stores the counts as se * n_cases etc. (doubles within 1e-12 of the integers)
        want = tuple(round(ref[k][i]) for k in ("tp", "fp", "fn", "tn"))
        assert (c.tp, c.fp, c.fn, c.tn) == want
        assert c.tp / c.n_cases == pytest.approx(ref["sensitivity"][i], abs=1e-12)
        assert c.tn / c.n_controls == pytest.approx(ref["specificity"][i], abs=1e-12)


def test_issue_example_s100b_at_005():
    df = pd.read_csv(REF / "data" / "asah.csv")
    c = cutpoint(roc(df["outcome"] == "Poor", df["s100b"].to_numpy(), name="s100b"), threshold=0.05)
    assert c.tn == 5 and c.tn / c.n_controls == pytest.approx(5 / 72)
    assert c.to_dict()["positive_if"] == "s100b >= 0.05"
