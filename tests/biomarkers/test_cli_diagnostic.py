"""`exoniche biomarkers roc|cutpoint|panel|response` end to end, and the malformed-file corpus (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
MALFORMED = HERE / "malformed"
REF = HERE.parents[0] / "reference"
ASAH = REF / "data" / "asah.csv"
ROC_ARGS = ("--outcome", "outcome", "--positive", "case", "--marker", "m1", "--marker", "m2", "--id", "id")
LONG_ARGS = (
    "--outcome",
    "response",
    "--positive",
    "yes",
    "--marker",
    "pdl1",
    "--baseline",
    "0",
    "--on-time",
    "6",
)

# file, command, extra args, phrases the one error message must contain (column / row / what is wrong)
CORPUS = [
    ("missing_value.csv", "roc", ROC_ARGS, ["'m1'", "missing values", "row 4", "--missing drop"]),
    ("missing_value.parquet", "roc", ROC_ARGS, ["'m2'", "missing values", "row 11"]),
    ("missing_outcome.csv", "roc", ROC_ARGS, ["outcome column 'outcome'", "missing values", "row 5"]),
    ("non_numeric.csv", "roc", ROC_ARGS, ["'m1'", "non-numeric", "row 3", "'high'"]),
    ("non_numeric.xlsx", "cutpoint", ROC_ARGS, ["'m1'", "non-numeric", "row 7", "'n/a?'"]),
    ("nonnumeric.tsv", "roc", ROC_ARGS, ["'m1'", "non-numeric", "row 9", "'<LOD'"]),
    ("semicolon_nonnumeric.csv", "roc", ROC_ARGS, ["'m2'", "non-numeric", "row 5", "'n.d.'"]),
    ("infinite_value.csv", "roc", ROC_ARGS, ["'m1'", "infinite", "row 6"]),
    ("constant_marker.csv", "roc", ROC_ARGS, ["marker 'm2'", "constant", "1.5"]),
    ("constant_marker.csv", "panel", ROC_ARGS, ["marker 'm2'", "constant"]),
    ("no_cases.csv", "roc", ROC_ARGS, ["'outcome'", "no cases", "'case'"]),
    ("no_controls.csv", "cutpoint", ROC_ARGS, ["'outcome'", "no controls"]),
    ("three_levels.csv", "roc", ROC_ARGS, ["'outcome'", "3 levels", "'unclear'", "row 8"]),
    ("duplicated_ids.csv", "roc", ROC_ARGS, ["duplicated id", "'P03'", "rows 4, 9"]),
    ("duplicated_ids.csv", "panel", ROC_ARGS, ["duplicated id", "'P03'"]),
    ("duplicate_column.csv", "roc", ROC_ARGS, ["'m1'", "appears twice", "columns 3 and 4"]),
    ("empty_column_name.csv", "roc", ROC_ARGS, ["column 4", "no name"]),
    ("ragged_row.csv", "roc", ROC_ARGS, ["line 5", "Expected 4 fields"]),
    ("empty.csv", "roc", ROC_ARGS, ["empty.csv", "empty"]),
    ("header_only.csv", "roc", ROC_ARGS, ["header but no data rows"]),
    ("non_utf8.csv", "roc", ROC_ARGS, ["not UTF-8", "line 8"]),
    ("binary_garbage.csv", "roc", ROC_ARGS, ["'.csv' says text", "binary"]),
    ("truncated.parquet", "roc", ROC_ARGS, ["truncated", "Parquet"]),
    ("csv_named.parquet", "roc", ROC_ARGS, ["'.parquet' says Parquet", "content is text"]),
    ("csv_named.xlsx", "cutpoint", ROC_ARGS, ["'.xlsx' says Excel", "content is text"]),
    ("unknown_suffix.dat", "roc", ROC_ARGS, ["'.dat'", "allowed: .csv"]),
    ("no_such_file.csv", "roc", ROC_ARGS, ["no_such_file.csv", "not found"]),
    ("valid.csv", "roc", ("--outcome", "outcome", "--positive", "case", "--marker", "m9"),
     ["unknown column 'm9'", "columns: id, outcome, m1, m2"]),
    ("valid.csv", "roc", ("--outcome", "status", "--positive", "case", "--marker", "m1"), ["unknown column 'status'"]),
    ("valid.csv", "roc", ("--outcome", "outcome", "--positive", "cases", "--marker", "m1"),
     ["unknown positive level 'cases'", "did you mean \"case\""]),
    ("valid.csv", "roc", ("--outcome", "outcome", "--marker", "m1"), ["--positive"]),
    ("valid.csv", "roc", (*ROC_ARGS, "--direction", "up"), ["direction", "'up'"]),
    ("valid.csv", "roc", (*ROC_ARGS, "--missing", "impute"), ["missing", "'impute'", "allowed: error, drop"]),
    ("valid.csv", "cutpoint", (*ROC_ARGS, "--method", "best"), ["cut-point method", "'best'"]),
    ("valid.csv", "panel", (*ROC_ARGS, "--max-size", "5"), ["max-size", "between 1 and"]),
    ("valid.csv", "panel", (*ROC_ARGS, "--folds", "7", "--max-size", "1"), ["7-fold", "at least 7 cases"]),
    ("valid.csv", "roc", (*ROC_ARGS, "--alternative", "bigger"), ["alternative", "'bigger'", "greater"]),
    ("valid.csv", "panel", (*ROC_ARGS, "--method", "combiroc"), ["--signal-threshold"]),
    ("valid.csv", "panel", (*ROC_ARGS, "--method", "combiroc", "--signal-threshold", "1e9"),
     ["signal-threshold", "every marker is negative"]),
    ("valid.csv", "panel", (*ROC_ARGS, "--method", "combiroc", "--signal-threshold", "1", "--min-sp", "150"),
     ["min-sp", "[0, 100]"]),
    ("valid.csv", "panel", (*ROC_ARGS, "--method", "panelomix", "--min-sp", "95"), ["min-sp", "fraction"]),
    ("long_duplicate_visit.csv", "response", LONG_ARGS, ["duplicated id", "patient='B'", "time=6", "rows 5, 6"]),
    ("long_missing_visit.csv", "response", LONG_ARGS, ["without an on-treatment value", "'pdl1'", "B"]),
    ("long_missing_visit.csv", "response", (*LONG_ARGS[:4], "--marker", "pd-l1", *LONG_ARGS[6:]),
     ["unknown marker 'pd-l1'"]),
]  # fmt: skip


def _one_message(err: str) -> str:
    """The console may wrap a long message; words are what matter."""
    return " ".join(err.split())


@pytest.mark.parametrize(
    ("name", "command", "args", "phrases"), CORPUS, ids=[f"{c[1]}-{c[0]}" for c in CORPUS]
)
def test_malformed_file_exits_2_with_named_error(cli, name, command, args, phrases):
    code, out, err = cli("biomarkers", command, MALFORMED / name, *args)
    assert code == 2, (out, err)
    message = _one_message(err)
    assert message.startswith("error:"), err
    assert "Traceback" not in err
    for phrase in phrases:
        assert phrase in message, (phrase, message)


def test_corpus_has_at_least_20_malformed_files():
    files = {p.name for p in MALFORMED.iterdir() if p.suffix != ".py" and p.name != "valid.csv"}
    assert len(files) >= 20
    assert files <= {c[0] for c in CORPUS}, files - {c[0] for c in CORPUS}


def test_missing_drop_is_explicit_and_reported(cli_json):
    res = cli_json("biomarkers", "roc", MALFORMED / "missing_value.csv", *ROC_ARGS, "--missing", "drop")
    assert res["markers"][0]["n_cases"] + res["markers"][0]["n_controls"] == 11


def test_roc_json_shape_and_values(cli_json, tmp_path):
    fx = json.loads((REF / "fixtures" / "proc_asah.json").read_text())
    res = cli_json(
        "biomarkers", "roc", ASAH, "--outcome", "outcome", "--positive", "Poor",
        "--marker", "s100b", "--marker", "ndka,wfns", "--out", tmp_path / "out",
    )  # fmt: skip
    assert [m["marker"] for m in res["markers"]] == ["s100b", "ndka", "wfns"]
    for m in res["markers"]:
        ref = fx["rocs"][m["marker"]]["auto"]
        assert set(m) >= {"marker", "auc", "ci_low", "ci_high", "n_cases", "n_controls", "direction"}
        assert m["auc"] == pytest.approx(ref["auc"], abs=1e-6)
        assert m["ci_low"] == pytest.approx(ref["ci_delong"]["lower"], abs=1e-6)
        assert (m["n_cases"], m["n_controls"], m["direction"]) == (41, 72, ref["direction"])
    assert [(c["a"], c["b"]) for c in res["comparisons"]] == [
        ("s100b", "ndka"),
        ("s100b", "wfns"),
        ("ndka", "wfns"),
    ]
    refs = {(t["roc1"], t["roc2"]): t for t in fx["roc_test_paired"] if t["direction_arg"] == "auto"}
    for c in res["comparisons"]:
        t = refs[(c["a"], c["b"])]
        assert set(c) >= {"a", "b", "z", "p", "diff", "diff_ci_low", "diff_ci_high", "paired"}
        assert c["paired"] is True
        assert c["z"] == pytest.approx(t["statistic"], abs=1e-6)
        assert c["p"] == pytest.approx(t["p_value"], abs=1e-6)
        assert c["diff_ci_high"] == pytest.approx(t["conf_int"]["upper"], abs=1e-6)
    out = tmp_path / "out"
    assert (out / "roc.png").stat().st_size > 20_000
    assert json.loads((out / "roc.json").read_text())["markers"][0]["auc"] == res["markers"][0]["auc"]
    assert "threshold" in (out / "roc_curves.csv").read_text().splitlines()[0]


def test_roc_unpaired_by_sample(cli_json):
    fx = json.loads((REF / "fixtures" / "proc_roc_unpaired.json").read_text())
    t = next(t for t in fx["roc_test_unpaired"] if t["direction_arg"] == "auto")
    res = cli_json("biomarkers", "roc", REF / "data" / "roc_unpaired.csv", "--outcome", "outcome",
                   "--marker", "score", "--sample", "sample")  # fmt: skip
    (c,) = res["comparisons"]
    assert c["paired"] is False
    assert c["z"] == pytest.approx(t["statistic"], abs=1e-6)
    assert c["p"] == pytest.approx(t["p_value"], abs=1e-6)


def test_roc_bootstrap_and_partial_options(cli_json):
    args = ("biomarkers", "roc", ASAH, "--outcome", "outcome", "--positive", "Poor", "--marker", "s100b",
            "--bootstrap", "300", "--seed", "3", "--partial", "1,0.8", "--partial-correct")  # fmt: skip
    a, b = cli_json(*args), cli_json(*args)
    m = a["markers"][0]
    assert m == b["markers"][0]  # same seed, same numbers
    ref = json.loads((REF / "fixtures" / "proc_asah.json").read_text())["rocs"]["s100b"]["auto"]["partial"]
    want = next(p["value"] for p in ref if p["focus"] == "specificity" and p["correct"])
    assert m["partial_auc"] == pytest.approx(want, abs=1e-6)
    assert m["boot_ci_low"] < m["auc"] < m["boot_ci_high"]


def test_cutpoint_json(cli_json, tmp_path):
    res = cli_json("biomarkers", "cutpoint", ASAH, "--outcome", "outcome", "--positive", "Poor", "--marker", "s100b",
                   "--method", "youden", "--method", "sp>=0.9", "--out", tmp_path / "stard.csv")  # fmt: skip
    youden, constrained = res["cutpoints"]
    assert youden["threshold"] == pytest.approx(0.205, abs=1e-9)  # pROC's best_youden threshold
    assert (youden["tp"], youden["fp"], youden["fn"], youden["tn"]) == (26, 14, 15, 58)
    assert constrained["specificity"] >= 0.9
    assert youden["sensitivity_ci_low"] == pytest.approx(0.46936254803283345, abs=1e-9)  # R binom.test
    assert "how chosen" in (tmp_path / "stard.csv").read_text()


def test_panel_json_and_plot(cli_json, tmp_path):
    res = cli_json("biomarkers", "panel", ASAH, "--outcome", "outcome", "--positive", "Poor",
                   "--marker", "s100b,ndka,wfns,age", "--max-size", "2", "--repeats", "2",
                   "--plot", tmp_path / "p.png")  # fmt: skip
    assert res["n_panels"] == 4 + 6
    top = res["panels"][0]
    assert set(top) >= {"panel", "cv_auc", "oof_auc", "delta_auc", "delta_p", "best_single"}
    assert (tmp_path / "p.png").stat().st_size > 10_000


def test_response_wide_and_long(cli_json, tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    n = 60
    resp = rng.random(n) < 0.4
    pre = np.exp(rng.normal(0.8 * ~resp, 0.5))
    on = pre * np.exp(rng.normal(0.9 * resp, 0.4))
    wide = pd.DataFrame({"patient": range(n), "responder": np.where(resp, "yes", "no"), "pre": pre, "on": on})
    wide.to_csv(tmp_path / "wide.csv", index=False)
    long = pd.concat([wide.assign(time=0, value=pre), wide.assign(time=6, value=on)]).assign(marker="pdl1")[
        ["patient", "time", "marker", "value", "responder"]
    ]
    long.to_csv(tmp_path / "long.csv", index=False)
    a = cli_json("biomarkers", "response", tmp_path / "wide.csv", "--outcome", "responder", "--positive", "yes",
                 "--pre", "pre", "--on", "on")  # fmt: skip
    b = cli_json("biomarkers", "response", tmp_path / "long.csv", "--outcome", "responder", "--positive", "yes",
                 "--marker", "pdl1", "--baseline", "0", "--on-time", "6", "--plot", tmp_path / "r.png")  # fmt: skip
    assert [p["predictor"] for p in a["predictors"]] == ["pre_treatment", "log2_fold_change"]
    for pa, pb in zip(a["predictors"], b["predictors"], strict=True):
        assert pa["auc"] == pytest.approx(pb["auc"], abs=1e-12)
    pre_p, fc_p = a["predictors"]
    assert pre_p["direction"] == ">"  # responders start lower
    assert fc_p["direction"] == "<" and fc_p["auc"] > 0.75  # and rise on treatment
    assert a["comparison"]["paired"] is True
    assert (tmp_path / "r.png").exists()


def test_tables_print_without_json(cli):
    code, out, _ = cli(
        "biomarkers", "roc", ASAH, "--outcome", "outcome", "--positive", "Poor", "--marker", "s100b"
    )
    assert code == 0 and "0.731" in out
    code, out, _ = cli("biomarkers", "cutpoint", ASAH, "--outcome", "outcome", "--positive", "Poor",
                       "--marker", "s100b")  # fmt: skip
    assert code == 0 and "26 / 14 / 15 / 58" in out


def test_panel_combiroc_json_equals_combiroc(cli_json):
    fx = json.loads((REF / "fixtures" / "combiroc_demo.json").read_text())
    case = fx["cases"][0]
    res = cli_json(
        "biomarkers", "panel", REF / "data" / "combiroc_demo.csv", "--method", "combiroc", "--outcome", "Class",
        "--positive", "A", "--id", "Patient.ID", "--signal-threshold", "450", "--min-positive", "1",
        "--min-se", "40", "--min-sp", "80",
    )  # fmt: skip
    combos = res["combinations"]
    assert [c["combination"] for c in combos] == case["ranked_all"]["markers"]
    assert [c["combination"] for c in combos if c["meets_min"]] == case["ranked_combs"]["markers"]
    assert [c["youden"] for c in combos] == pytest.approx(case["ranked_all"]["youden"], abs=1e-9)


def test_panel_panelomix_json(cli_json):
    res = cli_json(
        "biomarkers", "panel", REF / "data" / "combiroc_demo.csv", "--method", "panelomix", "--outcome", "Class",
        "--positive", "A", "--id", "Patient.ID", "--max-size", "2", "--min-sp", "0.9", "--folds", "4",
    )  # fmt: skip
    assert res["apparent"]["sp"] >= 0.9 and 1 <= res["rule"]["k"] <= len(res["rule"]["markers"]) <= 2
    assert len(res["fold_rules"]) == 4


def test_roc_pr_and_one_sided_test_equal_proc(cli_json):
    fx = json.loads((REF / "fixtures" / "proc_extra.json").read_text())
    res = cli_json(
        "biomarkers", "roc", ASAH, "--outcome", "outcome", "--positive", "Poor", "--marker", "s100b",
        "--marker", "ndka", "--pr", "--bootstrap", "200", "--alternative", "greater",
    )  # fmt: skip
    s100b = res["markers"][0]
    assert s100b["auprc"] == pytest.approx(fx["pr"]["s100b"]["auprc_trapezoid"], abs=1e-12)
    assert s100b["auprc_ci_low"] < s100b["auprc"] < s100b["auprc_ci_high"] and s100b["auprc_boot_n"] == 200
    greater = next(t for t in fx["onesided"] if t["paired"] and t["alternative"] == "greater")
    assert res["comparisons"][0]["p"] == pytest.approx(greater["p_value"], abs=1e-12)


def test_roc_percent_scale(cli_json):
    args = ("biomarkers", "roc", ASAH, "--outcome", "outcome", "--positive", "Poor", "--marker", "s100b",
            "--marker", "ndka")  # fmt: skip
    plain, pct = cli_json(*args), cli_json(*args, "--percent")
    fx = json.loads((REF / "fixtures" / "proc_asah.json").read_text())["rocs"]["s100b"]["auto"]
    assert pct["percent"] is True
    assert pct["markers"][0]["auc"] == pytest.approx(100 * fx["auc"], abs=1e-9)
    assert pct["markers"][0]["var_delong"] == pytest.approx(1e4 * fx["var_delong"], abs=1e-9)
    assert pct["comparisons"][0]["diff"] == pytest.approx(100 * plain["comparisons"][0]["diff"], abs=1e-9)
    assert pct["comparisons"][0]["p"] == plain["comparisons"][0]["p"]
