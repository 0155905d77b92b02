"""Threshold-rule panels against CombiROC 0.3.4 (fixture from tests/reference/make_reference_extra.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exoniche.biomarkers.threshold_panel import combiroc, local_maxima_thresholds, panelomix
from exoniche.errors import DataError

REF = Path(__file__).resolve().parents[1] / "reference"
FX = json.loads((REF / "fixtures" / "combiroc_demo.json").read_text())
DEMO = pd.read_csv(REF / FX["data"]["file"])
MARKERS = FX["data"]["markers"]


def _run(case, frame=DEMO):
    y = (frame["Class"] == case["case_class"]).to_numpy()
    return combiroc(
        y, frame[MARKERS], case["signalthr"], case["combithr"], case["max_length"], case["min_SE"], case["min_SP"]
    )


@pytest.mark.parametrize("case", FX["cases"], ids=lambda c: f"thr{c['signalthr']}_k{c['combithr']}")
def test_combinations_equal_combiroc(case):
    res = _run(case)
    ref = case["combi"]
    # enumeration order (CombiROC's combi table) = our table sorted back by enumeration position
    by_name = res.table.set_index("combination")
    assert sorted(by_name.index) == sorted(ref["markers"])
    got = by_name.loc[ref["markers"]]
    assert got["positives_case"].tolist() == ref["positives_case"]
    assert got["positives_control"].tolist() == ref["positives_control"]
    np.testing.assert_allclose(got["se"], ref["se"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["sp"], ref["sp"], rtol=0, atol=1e-9)
    assert got["size"].tolist() == ref["n_markers"]


@pytest.mark.parametrize("case", FX["cases"], ids=lambda c: f"thr{c['signalthr']}_k{c['combithr']}")
def test_ranking_and_gold_equal_ranked_combs(case):
    res = _run(case)
    assert res.table["combination"].tolist() == case["ranked_all"]["markers"]
    np.testing.assert_allclose(res.table["youden"], case["ranked_all"]["youden"], rtol=0, atol=1e-9)
    gold = res.table[res.table["meets_min"]]
    assert gold["combination"].tolist() == case["ranked_combs"]["markers"]
    np.testing.assert_allclose(gold["se"], case["ranked_combs"]["se"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(gold["sp"], case["ranked_combs"]["sp"], rtol=0, atol=1e-9)


def test_column_order_does_not_change_labels():
    case = FX["cases"][0]
    shuffled = DEMO[["Patient.ID", "Class", *MARKERS[::-1]]]
    a, b = _run(case), _run(case, shuffled)
    pd.testing.assert_frame_equal(a.table, b.table)


def test_json_shape():
    d = _run(FX["cases"][0]).to_dict()
    assert set(d["combinations"][0]) == {
        "combination", "markers", "positives_case", "positives_control", "se", "sp", "youden", "meets_min"
    }
    assert d["combinations"][0]["combination"] == "-".join(d["combinations"][0]["markers"])


def test_threshold_above_every_value_is_an_error():
    y = (DEMO["Class"] == "A").to_numpy()
    with pytest.raises(DataError, match="every marker is negative"):
        combiroc(y, DEMO[MARKERS], 1e9)
    with pytest.raises(DataError, match="min-positive"):
        combiroc(y, DEMO[MARKERS], 450, 0)


def test_local_maxima_are_undominated_corners():
    y = (DEMO["Class"] == "A").to_numpy()
    x = DEMO["Marker1"].to_numpy(dtype=float)
    t = local_maxima_thresholds(y, x)
    assert t.size > 0
    se = np.array([(x[y] >= v).mean() for v in t])
    sp = np.array([(x[~y] < v).mean() for v in t])
    # along increasing thresholds sensitivity falls and specificity rises strictly between corners
    assert np.all(np.diff(se) < 0) and np.all(np.diff(sp) > 0)


def test_panelomix_meets_specificity_and_is_reproducible():
    y = (DEMO["Class"] == "A").to_numpy()
    a = panelomix(y, DEMO[MARKERS], max_size=2, min_sp=0.9, folds=4, seed=3)
    b = panelomix(y, DEMO[MARKERS], max_size=2, min_sp=0.9, folds=4, seed=3)
    assert a.to_dict() == b.to_dict()
    assert a.apparent["sp"] >= 0.9
    pos = a.rule.predict(DEMO[MARKERS])
    assert a.apparent["tp"] == int((pos & y).sum())
    # a single marker cannot beat the searched panel on the data it was chosen on
    single = panelomix(y, DEMO[MARKERS], max_size=1, min_sp=0.9, folds=4, seed=3)
    assert a.apparent["se"] >= single.apparent["se"]
    cv = a.cross_validated
    assert cv["tp"] + cv["fn"] == y.sum() and cv["se_ci_low"] <= cv["se"] <= cv["se_ci_high"]
