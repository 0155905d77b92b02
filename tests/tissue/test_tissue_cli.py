"""``exoniche tissue``: bad [tissue] input exits 2 naming the field; verify; the lung example (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "tissue" / "lung_niche.toml"
BASE = """duration_days = 2
[host]
immune_status = "immunodeficient"
[tumour]
preset = "4175-LuT"
initial_g = 0.1
[tissue]
"""


@pytest.mark.parametrize("table, field", [
    ('size_um = [100, 100]\nvoxel_um = 200', "tissue.voxel_um"),
    ('diffusion_um2_per_min = { exo_tumour = -40 }', "tissue.diffusion_um2_per_min.exo_tumour"),
    ('cells = { fibroblasts = 10 }', "tissue.cells.fibroblasts"),
    ('organ = "kidney"', "tissue.organ"),
    ('colour = "red"', "tissue.colour"),
    ('days = 5', "tissue.days"),
])
def test_bad_tissue_table_exits_2_naming_field(cli, tmp_path, table, field):
    f = tmp_path / "bad.toml"
    f.write_text(BASE + table + "\n", encoding="utf-8")
    code, out, err = cli("tissue", f, "--out", tmp_path / "out", "--json")
    assert code == 2 and field in err and "Traceback" not in err and out == ""


def test_scenario_without_tissue_table_exits_2(cli, tmp_path):
    f = tmp_path / "none.toml"
    f.write_text(BASE.replace("[tissue]\n", ""), encoding="utf-8")
    code, _, err = cli("tissue", f)
    assert code == 2 and "no tissue table" in err


@pytest.mark.slow
def test_verify_json(cli_json):
    doc = cli_json("tissue", "verify")
    assert set(doc) == {"point_source_rel_err", "mass_rel_err", "thread_identical"}
    assert doc["point_source_rel_err"] <= 0.01 and doc["mass_rel_err"] <= 1e-9 and doc["thread_identical"] is True


@pytest.mark.slow
def test_lung_example_v6_v11_v16_and_niche_before_first_tumour_cell(cli, tmp_path):
    code, out, err = cli("tissue", EXAMPLE, "--out", tmp_path / "lung", "--json")
    assert code == 0, err
    doc = json.loads(out)
    arms = {a["arm"]: a for a in doc["arms"]}
    ctrl, blocked = arms["control"], arms["release_blocked"]
    day1 = next(r for r in ctrl["per_day"] if r["day"] == 1.0)
    last = ctrl["per_day"][-1]
    # V6: lung-tropic exosomes mostly in S100A4+ fibroblasts
    shares = last["uptake_share"]
    assert shares["fibroblast"] > 0.5 and shares["fibroblast"] == max(shares.values())
    # V11: leakage within 24 h of exposure
    assert day1["niche_tissue"]["Perm"] > 1.5
    # V16: no niche when release is blocked
    for k, v in blocked["per_day"][-1]["niche_tissue"].items():
        assert v < 1.1, k
    assert blocked["events"]["niche_day"] is None
    # the niche forms before the first tumour cell arrives
    ev = ctrl["events"]
    assert ev["niche_day"] is not None and ev["first_tumour_cell_day"] is not None
    assert ev["niche_day"] < ev["first_tumour_cell_day"]
    # tissue and whole-body indices agree in direction and order of magnitude
    for k in ("S100", "Perm", "BMDC"):
        t, w = last["niche_tissue"][k], last["niche_whole_body"][k]
        assert t > 1.5 and w > 1.5 and 0.33 < t / w < 3, k
    run = doc["run"]
    for key in ("cells", "report", "animation"):
        assert Path(run[key]).stat().st_size > 0
