"""`exoniche biomarkers survival|monitor`: JSON shape, R-equal numbers, files written, named errors (exit 2)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REF = HERE.parent / "reference"
LUNG = REF / "data" / "lung.csv"
SERIES = HERE / "followup_data" / "monitor_series.csv"
BAD = HERE / "malformed_followup"
LUNG_ARGS = ("biomarkers", "survival", LUNG, "--time", "time", "--event", "status")


def test_survival_json_has_the_issue_shape_and_r_values(cli_json, tmp_path):
    ref = json.loads((REF / "fixtures" / "surv_lung.json").read_text())
    doc = cli_json(
        *LUNG_ARGS,
        *["--covariate", "age", "--covariate", "sex", "--covariate", "ph.ecog", "--missing", "drop"],
        "--at",
        "180,365",
        "--out",
        tmp_path,
    )
    assert [set(c) for c in doc["cox"]] == [
        {"covariate", "coef", "se", "z", "p", "hr", "hr_ci_low", "hr_ci_high"}
    ] * 3
    for c in doc["cox"]:
        r = ref["coxph_efron"]["coefficients"][c["covariate"]]
        assert c["coef"] == pytest.approx(r["coef"], rel=1e-6, abs=1e-9)
        assert c["se"] == pytest.approx(r["se_coef"], rel=1e-6)
        assert c["hr_ci_high"] == pytest.approx(r["upper_95"], rel=1e-6)
    assert doc["c_index"] == pytest.approx(ref["coxph_efron"]["concordance"]["c"], abs=1e-9)
    assert doc["logrank"] is None  # no --group
    km = doc["km"]
    assert (km["median"], km["median_ci_low"], km["median_ci_high"]) == (310, 285, 363)
    assert all(set(r) >= {"time", "survival", "ci_low", "ci_high", "at_risk"} for r in km["table"])
    at = {r["time"]: r for r in km["table"] if r["requested"]}
    assert sorted(at) == [180.0, 365.0]
    assert at[365.0]["survival"] == pytest.approx(
        ref["km_overall"]["at_times"]["strata"]["all"]["surv"][1], abs=1e-9
    )
    assert doc["ph_test"]["GLOBAL"]["chisq"] == pytest.approx(
        ref["coxph_efron"]["zph"]["table"]["GLOBAL"]["chisq"], rel=1e-6
    )
    assert (tmp_path / "km.png").stat().st_size > 10_000 and (tmp_path / "cox_forest.png").exists()
    assert json.loads((tmp_path / "survival.json").read_text())["c_index"] == doc["c_index"]


def test_survival_by_group_keys_km_by_level_and_matches_survdiff(cli_json):
    ref = json.loads((REF / "fixtures" / "surv_lung.json").read_text())
    doc = cli_json("biomarkers", "survival", LUNG, "--time", "time", "--event", "status", "--group", "sex")
    assert set(doc["km"]) == {"1", "2"}
    assert doc["km"]["2"]["median"] == ref["km_by_sex"]["table"]["sex=2"]["median"]
    assert doc["logrank"]["chisq"] == pytest.approx(ref["survdiff_sex"]["chisq"], rel=1e-9)
    assert doc["logrank"]["df"] == 1 and doc["cox"] == [] and doc["c_index"] is None


def test_survival_text_output_has_remark_table(cli):
    code, out, err = cli(
        *LUNG_ARGS,
        *["--covariate", "ph.ecog", "--group", "sex", "--missing", "drop"],
        "--at",
        "365",
    )
    assert code == 0, err
    assert "REMARK" in out and "ph.ecog" in out and "log-rank" in out and "C-index" in out


def test_monitor_json_flags_the_relapse_and_writes_report(cli_json, tmp_path):
    doc = cli_json(
        "biomarkers",
        "monitor",
        SERIES,
        "--patient",
        "P03",
        "--analytical-cv",
        "5%",
        "--within-cv",
        "PD-L1=0.15",
        "--within-cv",
        "0.15",
        "--out",
        tmp_path,
    )
    rules = {(a["marker"], a["rule"]) for a in doc["alerts"]}
    assert ("PD-L1", "rcv_rise") in rules and ("PD-L1", "change_point") in rules
    pdl1 = next(m for m in doc["markers"] if m["marker"] == "PD-L1")
    assert pdl1["change_point"]["time"] == 240
    # Fokkema's log-normal RCV with CV_A 5 % (given as "5%") and CV_I 15 %
    sigma = math.sqrt(math.log(1 + 0.05**2) + math.log(1 + 0.15**2))
    assert pdl1["rcv"]["up"] == pytest.approx(math.expm1(1.959963984540054 * math.sqrt(2) * sigma), rel=1e-9)
    html = Path(doc["files"]["html"]).read_text()
    assert "data:image/png;base64," in html and "rcv_rise" in html
    assert Path(doc["files"]["png"]).stat().st_size > 20_000


def test_monitor_stable_patient_text(cli):
    code, out, err = cli("biomarkers", "monitor", SERIES, "--patient", "P05", "--within-cv", "0.15")
    assert code == 0, err
    assert "Patient P05" in out and "PD-L1" in out


MALFORMED = [
    (
        "surv_negative_time.csv",
        ["survival", "--time", "time", "--event", "status"],
        ["'time'", "row 3", "negative"],
    ),
    ("surv_event_code_3.csv", ["survival", "--time", "time", "--event", "event"], ["'event'", "row 4", "3"]),
    (
        "surv_nonnumeric_time.csv",
        ["survival", "--time", "time", "--event", "event"],
        ["'time'", "row 3", "abc"],
    ),
    ("surv_event_text.csv", ["survival", "--time", "time", "--event", "event"], ["'event'", "row 3", "yes"]),
    (
        "surv_missing_covariate.csv",
        ["survival", "--time", "time", "--event", "event", "--covariate", "age"],
        ["'age'", "row 4", "missing"],
    ),
    (
        "surv_event_mixed_codings.csv",
        ["survival", "--time", "time", "--event", "event"],
        ["'event'", "row 4"],
    ),
    (
        "surv_single_group.csv",
        ["survival", "--time", "time", "--event", "event", "--group", "group"],
        ["'group'", "single level"],
    ),
    ("mon_patient_not_found.csv", ["monitor", "--patient", "P9"], ["'P9'", "not found", "'patient'"]),
    (
        "mon_single_time_point.csv",
        ["monitor", "--patient", "P1", "--within-cv", "0.1"],
        ["'P1'", "single time point", "rows 2, 3"],
    ),
    (
        "mon_nonnumeric_time.csv",
        ["monitor", "--patient", "P1", "--within-cv", "0.1"],
        ["'time'", "row 3", "day30"],
    ),
    (
        "mon_zero_value.csv",
        ["monitor", "--patient", "P1", "--within-cv", "0.1"],
        ["'value'", "row 3", "<= 0"],
    ),
    (
        "mon_duplicate_visit.csv",
        ["monitor", "--patient", "P1", "--within-cv", "0.1"],
        ["duplicated", "rows 3, 4"],
    ),
    ("cr_negative_code.csv", ["survival", "--time", "time", "--event", "event", "--competing"],
     ["'event'", "-1", "row 4", "0 (censored), 1 (event of interest)"]),
    ("cr_fractional_code.csv", ["survival", "--time", "time", "--event", "event", "--competing"],
     ["'event'", "1.5", "row 4"]),
    ("cr_code_gap.csv", ["survival", "--time", "time", "--event", "event", "--competing"],
     ["'event'", "without gaps", "[2]"]),
    ("surv_single_group.csv", ["survival", "--time", "time", "--event", "event", "--competing", "--group", "group"],
     ["'group'", "single level"]),
    (
        "mon_missing_value_column.csv",
        ["monitor", "--patient", "P1", "--within-cv", "0.1"],
        ["'value'", "level"],
    ),
]


@pytest.mark.parametrize("name,args,needles", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_followup_inputs_exit_2_naming_the_problem(cli, name, args, needles):
    cmd, *opts = args
    code, out, err = cli("biomarkers", cmd, BAD / name, *opts)
    assert code == 2, (out, err)
    flat = " ".join(err.split())
    assert "Traceback" not in err
    for needle in needles:
        assert needle in flat, (needle, flat)


def test_survival_competing_json_keys_and_cmprsk_values(cli_json, tmp_path):
    fx = json.loads((REF / "fixtures" / "cmprsk_competing.json").read_text())
    res = cli_json(
        "biomarkers", "survival", REF / "data" / "competing.csv", "--time", "time", "--event", "event",
        "--competing", "--group", "group", "--covariate", "x1", "--at", "5,10,20,30.5,45",
        "--out", tmp_path / "cr",
    )  # fmt: skip
    assert {"cif", "gray", "finegray"} <= set(res)
    assert set(res["cif"][0]) == {"group", "cause", "time", "estimate", "variance"}
    assert set(res["gray"][0]) == {"cause", "stat", "p", "df"}
    assert set(res["finegray"][0]) >= {"covariate", "coef", "se", "z", "p"}
    tp = fx["timepoints_group"]
    row = tp["rows"].index("B 1")
    b1 = [r for r in res["cif"] if r["group"] == "B" and r["cause"] == 1]
    assert [r["time"] for r in b1] == tp["times"]
    assert [r["estimate"] for r in b1] == pytest.approx([v for v in tp["est"][row]], abs=1e-9)
    gray = fx["cuminc_group"]["tests"]
    assert [g["stat"] for g in res["gray"]] == pytest.approx(gray["stat"], abs=1e-7)
    assert (tmp_path / "cr" / "cif_stacked.png").stat().st_size > 5000


def test_every_malformed_file_is_tested():
    assert {p.name for p in BAD.iterdir()} == {m[0] for m in MALFORMED}


def test_bad_options_exit_2(cli):
    code, _, err = cli("biomarkers", "survival", LUNG, "--time", "time", "--event", "status", "--at", "x")
    assert code == 2 and "--at" in err
    code, _, err = cli("biomarkers", "monitor", SERIES, "--patient", "P01", "--within-cv", "fifteen")
    assert code == 2 and "--within-cv" in err
    code, _, err = cli("biomarkers", "survival", LUNG, "--time", "tme", "--event", "status")
    assert code == 2 and "'tme'" in err


def test_survival_strata_matches_coxph_strata(cli_json):
    ref = json.loads((REF / "fixtures" / "surv_strata.json").read_text())["lung_efron"]
    res = cli_json(*LUNG_ARGS, "--covariate", "age", "--covariate", "ph.ecog", "--strata", "sex", "--missing", "drop")
    assert [c["coef"] for c in res["cox"]] == pytest.approx(ref["coef"], abs=1e-9)
    assert res["cox_model"]["strata"] == "sex" and res["ph_test"] is None
