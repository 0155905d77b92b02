"""The built-in studies answer their question with a figure and a table, and their answers hold."""

from __future__ import annotations

from pathlib import Path

import pytest


def _run(cli_json, tmp_path, name):
    doc = cli_json("study", name, "--out", tmp_path / name)
    assert Path(doc["run"]["report"]).exists() and Path(doc["run"]["figure"]).exists()
    assert doc["question"] and doc["answer"] and doc["table"]
    return doc


def test_sources_tumour_exosomes_build_the_lung_niche(cli_json, tmp_path):
    doc = _run(cli_json, tmp_path, "sources")
    lung = [r for r in doc["table"] if r["organ"] == "lung"]
    for r in lung:
        assert r["tumour effect"] > 10 * abs(r["host effect"])


def test_interactions_integrins_and_pdl1_drive_lung_metastasis(cli_json, tmp_path):
    doc = _run(cli_json, tmp_path, "interactions")
    main = {r["term"]: r["lung metastases (log2 fold)"] for r in doc["table"] if r["kind"] == "main effect"}
    assert main["integrins"] > 1 and main["PD-L1"] > 1  # > 2-fold each
    assert set(main) == {"integrins", "miR-105", "VEGF", "PD-L1"}
    sobol = doc["sobol"]["indices"]["lung metastases"]  # Sobol indices beside the factorial, with CIs
    assert sobol["ST"]["PD-L1"] > sobol["ST"]["miR-105"] + sobol["ST_conf"]["PD-L1"]
    assert set(doc["sobol"]["indices"]) >= {"lung metastases", "lung niche score", "liver metastases"}


def test_resection_earlier_is_better_and_niche_decays(cli_json, tmp_path):
    doc = _run(cli_json, tmp_path, "resection")
    rows = {r["arm"]: r for r in doc["table"]}
    mets = [rows[f"resection day {d}"]["expected lung metastases"] for d in (7, 14, 21, 28, 42)]
    assert mets == sorted(mets) and mets[-1] < rows["no surgery"]["expected lung metastases"]
    assert rows["resection day 7"]["P(detectable metastasis)"] < rows["no surgery"]["P(detectable metastasis)"] - 0.3
    assert rows["resection day 21, 5 % left"]["expected lung metastases"] > rows["resection day 21"][
        "expected lung metastases"]
    assert doc["niche_half_life_days"]["lung"] is not None and doc["niche_half_life_days"]["lung"] < 14


@pytest.mark.slow
def test_schedules_trial_ranks_therapies(cli_json, tmp_path):
    doc = _run(cli_json, tmp_path, "schedules")
    rows = {r["schedule"]: r for r in doc["table"]}
    assert rows["resection d28"]["fold vs no therapy (paired, geo-mean)"] < 0.1
    assert rows["GW4869 early (d0-28)"]["fold vs no therapy (paired, geo-mean)"] < 1


def test_unknown_study_exits_2(cli):
    code, out, err = cli("study", "sourcez")
    assert code == 2 and 'did you mean "sources"' in err


def test_biomarkers_study_answers_open_question_4(cli_json, tmp_path):
    doc = _run(cli_json, tmp_path, "biomarkers")
    rows = {r["marker"]: r for r in doc["table"]}
    top = doc["table"][0]
    assert top["AUC metastasis"] == max(r["AUC metastasis"] for r in doc["table"])
    assert top["CI low"] < top["AUC metastasis"] < top["CI high"]
    # assay noise can only cost discrimination: the top marker's AUC falls from CV 0 % to 50 %
    assert top["AUC at CV 50 %"] < top["AUC at CV 0 %"] - 0.01
    # a CTC count has no analytical CV in the assay model: its AUC does not move with the CV
    assert rows["ctc_per_7_5ml"]["AUC at CV 0 %"] == rows["ctc_per_7_5ml"]["AUC at CV 50 %"]
    assert doc["best_panel"]["cv_auc"] > top["AUC metastasis"] - 0.05
    assert doc["site"]["multiclass_auc"] > 0.7 and len(doc["site"]["sites"]) >= 2
    th = doc["therapy"]
    assert 0 < th["n_responders"] < th["n_patients"] and th["best_predictor"] in ("pre-treatment level",
                                                                                 "4-week fold change")
    best = max(max(r["AUC response (pre-treatment)"], r["AUC response (4-week fold change)"]) for r in doc["table"])
    assert th["auc"] == best
    # narrower CIs need more cases: n scales as 1 / half-width^2
    one = [r for r in doc["sample_size"] if r["controls per case"] == "1:1"]
    assert [r["cases"] for r in one] == sorted((r["cases"] for r in one), reverse=True)
    ratio = (one[-1]["CI half-width"] / one[0]["CI half-width"]) ** 2
    assert one[0]["cases"] / one[-1]["cases"] == pytest.approx(ratio, rel=0.05)
