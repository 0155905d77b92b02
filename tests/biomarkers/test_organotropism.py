"""Organotropism: multinomial site model with cross-validated multi-class AUC and confusion matrix."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from exoniche.biomarkers.organotropism import dominant_site, organotropism, organotropism_table
from exoniche.biomarkers.roc_extra import multiclass_auc
from exoniche.errors import DataError


def _cohort(n=300, seed=1, informative=True):
    """Lung-tropic tumours shed ITGβ4-high exosomes, liver-tropic ones ITGαv-high (Hoshino 2015)."""
    rng = np.random.default_rng(seed)
    site = rng.choice(["lung", "liver", "brain"], size=n, p=[0.45, 0.35, 0.2])
    shift = informative * 1.0
    itgb4 = 10 ** rng.normal(np.where(site == "lung", shift, 0.0), 0.5)
    itgav = 10 ** rng.normal(np.where(site == "liver", shift, 0.0), 0.5)
    noise = 10 ** rng.normal(0.0, 0.5, n)
    return pd.DataFrame({"site": site, "itgb4": itgb4, "itgav": itgav, "noise": noise})


def test_informative_profile_predicts_site_and_is_reproducible():
    df = _cohort()
    a = organotropism(df["site"], df[["itgb4", "itgav", "noise"]], folds=5, seed=2)
    b = organotropism(df["site"], df[["itgb4", "itgav", "noise"]], folds=5, seed=2)
    assert a.to_dict() == b.to_dict()
    assert a.multiclass["auc"] > 0.75
    # the reported multi-class AUC is Hand & Till on the out-of-fold probabilities
    again = multiclass_auc(df["site"].to_numpy(), a.oof_probabilities, levels=a.sites, direction=">")
    assert again.auc == pytest.approx(a.multiclass["auc"], abs=1e-15)
    assert int(a.confusion.to_numpy().sum()) == len(df)
    assert np.trace(a.confusion.to_numpy()) / len(df) == pytest.approx(a.accuracy["accuracy"])
    assert a.accuracy["accuracy"] > a.accuracy["most_frequent_site_rate"]
    # ITGβ4 points to lung, ITGαv to liver
    assert a.coefficients.loc["lung", "itgb4"] > 0 > a.coefficients.loc["liver", "itgb4"]
    assert a.coefficients.loc["liver", "itgav"] > 0


def test_uninformative_markers_give_chance_auc():
    df = _cohort(n=400, informative=False)
    res = organotropism(df["site"], df[["itgb4", "itgav", "noise"]], folds=5, seed=0)
    assert abs(res.multiclass["auc"] - 0.5) < 0.08


def test_bad_sites_are_named_errors():
    df = _cohort(n=60)
    with pytest.raises(DataError, match="single level"):
        organotropism_table(df.assign(site="lung"), "site", ["itgb4"])
    df.loc[df.index[:2], "site"] = "bone"
    with pytest.raises(DataError, match=r"bone \(2\)"):
        organotropism_table(df, "site", ["itgb4"])
    res, dropped = organotropism_table(df, "site", ["itgb4"], min_per_site=5)
    assert dropped == {"bone": 2} and "bone" not in res.sites
    with pytest.raises(DataError, match="<= 0"):
        organotropism_table(df.assign(itgb4=0.0), "site", ["itgb4"], min_per_site=5)


def test_dominant_site_from_cohort_outcomes():
    out = pd.DataFrame({"metastases_founded_lung": [3, 0, 0, 1], "metastases_founded_liver": [1, 2, 0, 1]})
    assert dominant_site(out).tolist()[:2] == ["lung", "liver"]
    assert pd.isna(dominant_site(out).iloc[2]) and dominant_site(out).iloc[3] == "lung"
    with pytest.raises(DataError, match="cohort"):
        dominant_site(pd.DataFrame({"x": [1]}))


def test_cli_json(cli_json, tmp_path):
    path = tmp_path / "sites.csv"
    _cohort().to_csv(path, index=False)
    res = cli_json("biomarkers", "organotropism", path, "--site", "site", "--marker", "itgb4", "--marker", "itgav",
                   "--plot", tmp_path / "c.png")  # fmt: skip
    assert res["multiclass_auc"]["auc"] > 0.75 and res["sites"] == ["brain", "liver", "lung"]
    assert len(res["confusion"]["matrix"]) == 3 and res["dropped_sites"] == {}
    assert (tmp_path / "c.png").stat().st_size > 3000
    json.dumps(res)


def test_cli_single_level_exits_2(cli, tmp_path):
    path = tmp_path / "one.csv"
    _cohort(n=30).assign(site="lung").to_csv(path, index=False)
    code, _, err = cli("biomarkers", "organotropism", path, "--site", "site", "--marker", "itgb4")
    assert code == 2 and "single level" in err and "Traceback" not in err
