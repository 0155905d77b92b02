"""Malformed PEtab problems: exit 2 naming the file, row and column (no traceback); petablint findings surfaced."""

import shutil
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent / "reference" / "petab" / "Perelson_Science1996"
P, M, OBS = ("parameters_Perelson_Science1996.tsv", "measurementData_Perelson_Science1996.tsv",
           "observables_Perelson_Science1996.tsv")


def _edit(folder: Path, name: str, fn) -> None:
    path = folder / name
    lines = path.read_text().splitlines()
    path.write_text("\n".join(fn([line.split("\t") for line in lines])) + "\n")


def _drop_column(col):
    def fn(rows):
        k = rows[0].index(col)
        return ["\t".join(r[:k] + r[k + 1:]) for r in rows]
    return fn


def _set(row, col, value):
    def fn(rows):
        k = rows[0].index(col)
        rows[row - 1][k] = value
        return ["\t".join(r) for r in rows]
    return fn


def _set_param(pid, col, value):
    def fn(rows):
        k = rows[0].index(col)
        for r in rows:
            if r[0] == pid:
                r[k] = value
        return ["\t".join(r) for r in rows]
    return fn


def _duplicate_row(row):
    def fn(rows):
        return ["\t".join(r) for r in rows[:row]] + ["\t".join(rows[row - 1])] + ["\t".join(r) for r in rows[row:]]
    return fn


CASES = {
    "missing column": (M, _drop_column("time"), [M, "row 1", "column 'time'", "required column missing"]),
    "unknown observable": (M, _set(3, "observableId", "V_total"),
                           [M, "row 3", "column 'observableId'", "unknown observable 'V_total'"]),
    "unknown condition": (M, _set(5, "simulationConditionId", "condition9"),
                          [M, "row 5", "column 'simulationConditionId'", "unknown condition 'condition9'"]),
    "bounds inverted": (P, _set_param("c", "lowerBound", "1E+06"),
                        [P, "row 4", "column 'upperBound'", "bounds of c inverted"]),
    "non-positive bound on a log scale": (P, _set_param("delta", "lowerBound", "0"),
                                          [P, "row 5", "column 'lowerBound'", "log10 scale; must be > 0"]),
    "negative sigma": (M, _set(4, "noiseParameters", "-0.5"),
                       [M, "row 4", "column 'noiseParameters'", "sigma -0.5 must be > 0"]),
    "unknown transformation": (OBS, _set(2, "observableTransformation", "log2"),
                               [OBS, "row 2", "column 'observableTransformation'", "allowed: lin, log, log10"]),
    "petablint finding": (P, _duplicate_row(3), ["petablint reports", "error"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_problem_exits_2_naming_where(case, cli, tmp_path):
    folder = tmp_path / "problem"
    shutil.copytree(SRC, folder)
    name, fn, expected = CASES[case]
    _edit(folder, name, fn)
    code, out, err = cli("fit", "llh", folder / "Perelson_Science1996.yaml")
    assert code == 2, (out, err)
    assert "Traceback" not in err
    text = " ".join(err.split())
    for piece in expected:
        assert piece in text, (piece, text)


def test_missing_problem_file_is_named(cli, tmp_path):
    code, _, err = cli("fit", "llh", tmp_path / "nope.yaml")
    assert code == 2 and "nope.yaml" in err and "not found" in err
