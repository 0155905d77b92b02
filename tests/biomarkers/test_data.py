"""Reading measurement tables and validating them: formats, row numbering, missing-value policy, long format."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from exoniche.biomarkers import data
from exoniche.errors import DataError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "outcome": [0, 1, 0, 1],
            "m1": [1.5, 2.0, np.nan, 3.25],
            "m2": [1, 2, 3, 4],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".txt", ".parquet", ".xlsx"])
def test_every_format_reads_back_the_same_table(tmp_path, frame, suffix):
    path = tmp_path / f"t{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False, sep="," if suffix == ".csv" else "\t")
    got = data.read_table(path)
    assert list(got.columns) == list(frame.columns)
    assert list(got.index) == [2, 3, 4, 5]  # spreadsheet row numbers: header is row 1
    np.testing.assert_allclose(got["m1"].to_numpy(dtype=float), frame["m1"].to_numpy(), equal_nan=True)
    with pytest.raises(DataError, match=r"'m1' has missing values at row 4"):
        data.numeric_column(got, "m1")


def test_semicolon_csv_with_decimal_comma(tmp_path):
    (tmp_path / "eu.csv").write_text("id;outcome;m1\nA;1;1,5\nB;0;2,25\n", encoding="utf-8")
    got = data.read_table(tmp_path / "eu.csv")
    assert data.numeric_column(got, "m1").tolist() == [1.5, 2.25]


def test_bom_and_blank_padded_header(tmp_path):
    (tmp_path / "bom.csv").write_bytes("\ufeffid , outcome,m1\nA,1,3\nB,0,4\n".encode())
    assert list(data.read_table(tmp_path / "bom.csv").columns) == ["id", "outcome", "m1"]


def test_missing_drop_keeps_row_labels(tmp_path, frame):
    frame.to_csv(tmp_path / "t.csv", index=False)
    df = data.read_table(tmp_path / "t.csv")
    kept = data.numeric_column(df, "m1", missing="drop")
    assert list(kept.index) == [2, 3, 5]
    y, X = data.outcome_and_markers(df, "outcome", ["m1", "m2"], missing="drop")
    assert list(X.index) == [2, 3, 5] and y.tolist() == [False, True, True]
    with pytest.raises(DataError, match="missing: unknown value 'mean'"):
        data.numeric_column(df, "m1", missing="mean")


def test_in_memory_frames_are_named_by_index(frame):
    with pytest.raises(DataError, match="at index 2"):
        data.numeric_column(frame, "m1", source="mine")


def test_binary_outcome_levels(frame):
    assert data.binary_outcome(frame, "outcome").tolist() == [False, True, False, True]
    assert data.binary_outcome(frame, "outcome", positive="0").tolist() == [True, False, True, False]
    assert data.binary_outcome(frame.assign(outcome=[0.0, 1.0, 0.0, 1.0]), "outcome", positive="1").sum() == 2
    with pytest.raises(DataError, match="say which one is the case level"):
        data.binary_outcome(frame.assign(outcome=["x", "y", "x", "y"]), "outcome")
    with pytest.raises(DataError, match="no cases"):
        data.binary_outcome(frame.assign(outcome=0), "outcome", positive=1)
    with pytest.raises(DataError, match="no controls"):
        data.binary_outcome(frame.assign(outcome=1), "outcome", positive=1)
    with pytest.raises(DataError, match=r"3 levels .* \('z' at index 3\)"):
        data.binary_outcome(frame.assign(outcome=["x", "y", "x", "z"]), "outcome", positive="x")


def test_duplicates_constant_and_combined_checks(frame):
    with pytest.raises(DataError, match="duplicated id id='a' at index 0, 2"):
        data.check_unique_ids(frame.assign(id=["a", "b", "a", "d"]), "id")
    with pytest.raises(DataError, match="marker 'm2' is constant"):
        data.outcome_and_markers(frame.assign(m2=7), "outcome", ["m2"])
    with pytest.raises(DataError, match="both the outcome and a marker"):
        data.outcome_and_markers(frame, "outcome", ["outcome"])
    with pytest.raises(DataError, match="given more than once"):
        data.outcome_and_markers(frame, "outcome", ["m2", "m2"])


def test_long_to_wide_round_trip_and_duplicates():
    long = pd.DataFrame(
        {
            "patient": ["p1", "p1", "p1", "p2"],
            "time": [0, 0, 7, 0],
            "marker": ["pdl1", "itgb4", "pdl1", "pdl1"],
            "value": [1.0, 2.0, 3.0, 4.0],
        }
    )
    wide = data.long_to_wide(long)
    assert list(wide.columns) == ["patient", "time", "itgb4", "pdl1"]
    assert wide["pdl1"].tolist() == [1.0, 3.0, 4.0]
    assert np.isnan(wide.loc[1, "itgb4"])  # not measured at that visit, not a missing cell
    back = data.wide_to_long(wide, ["itgb4", "pdl1"])
    assert len(back) == 4
    dup = pd.concat([long, long.iloc[[2]]], ignore_index=True)
    with pytest.raises(DataError, match="duplicated id patient='p1', time=7.0, marker='pdl1'"):
        data.long_to_wide(dup)
    assert data.is_long(long) and not data.is_long(wide)


def test_excel_sheets(tmp_path, frame):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as xl:
        frame.to_excel(xl, sheet_name="cohort", index=False)
        frame.assign(m2=0).to_excel(xl, sheet_name="other", index=False)
    assert data.read_table(path, sheet="other")["m2"].eq(0).all()
    assert data.read_table(path, sheet="1")["m2"].eq(0).all()
    with pytest.raises(DataError, match="unknown sheet 'cohrt' \\(did you mean \"cohort\"\\?\\)"):
        data.read_table(path, sheet="cohrt")
