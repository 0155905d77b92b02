"""Rules in PhysiCell's CBHG v3 grammar: parsing, errors, and PhysiCell's evaluation formula."""

import numpy as np
import pytest

from exoniche.engines.tissue.model import default_rules, rules_from_file
from exoniche.engines.tissue.rules import RuleSet, parse_rules
from exoniche.errors import DataError

PHYSICELL_ROWS = [
    "// a comment, as in PhysiCell's sample rules",
    "malignant epithelial cell,oxygen,decreases,necrosis,0,3.75,8,0",
    "malignant epithelial cell,oxygen,increases,cycle entry,0.003333,21.5,4,0",
    "malignant epithelial cell,pressure,decreases,cycle entry,0,1,4,0",
]


def test_physicell_sample_rows_parse():
    rules = parse_rules(PHYSICELL_ROWS)
    assert [r.behavior for r in rules] == ["necrosis", "cycle entry", "cycle entry"]
    assert rules[1].half_max == 21.5 and rules[1].hill_power == 4 and rules[1].direction == "increases"


def test_evaluation_follows_physicell_hypothesis_rule():
    rules = parse_rules(PHYSICELL_ROWS)
    base = 0.0007
    rs = RuleSet(rules, {("malignant epithelial cell", "cycle entry"): base})
    o2, p = np.array([10.0, 21.5, 40.0]), np.array([0.0, 1.0, 3.0])
    got = rs.evaluate("malignant epithelial cell", "cycle entry", {"oxygen": o2, "pressure": p}, 3)
    hu = (o2 / 21.5) ** 4 / (1 + (o2 / 21.5) ** 4)
    u = base + (0.003333 - base) * hu
    hd = (p / 1.0) ** 4 / (1 + (p / 1.0) ** 4)
    np.testing.assert_allclose(got, u + (0.0 - u) * hd)
    assert got[1] == pytest.approx((base + 0.003333) / 2 / 2)  # half-max up, half-max down


def test_unknown_cell_type_names_line_and_field(tmp_path):
    f = tmp_path / "cell_rules.csv"
    f.write_text("fibroblast,exo_tumour,increases,s100 secretion,1,1,1,0\nfibroblats,exo_tumour,increases,"
                 "s100 secretion,1,1,1,0\n")
    with pytest.raises(DataError, match=r"line 2: cell type: unknown value 'fibroblats'.*fibroblast"):
        rules_from_file(f)


def test_bad_direction_and_numbers():
    with pytest.raises(DataError, match="direction"):
        parse_rules(["a,b,up,c,1,1,1,0"])
    with pytest.raises(DataError, match="half-max"):
        parse_rules(["a,b,increases,c,1,0,1,0"])


def test_default_rules_cite_claims():
    rules = default_rules()
    assert len(rules) >= 15 and all(r.claims for r in rules)
