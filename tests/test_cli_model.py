"""simulate, validate, params and model on the command line."""

from __future__ import annotations

import json


def test_simulate_json_writes_a_complete_run_folder(cli, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = cli("simulate", "--replicates", "20", "--days", "60", "--out", out, "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert [o["organ"] for o in doc["organs"]] == ["lung", "liver", "bone", "brain", "ln"]
    assert abs(sum(o["uptake_share"] for o in doc["organs"]) - 1) < 1e-9
    lung = doc["organs"][0]
    # lung-tropic default: the lung takes more tumour exosomes than any organ but the macrophage-rich liver
    second = sorted((o["uptake_share"] for o in doc["organs"]), reverse=True)[1]
    assert lung["uptake_share"] == second and lung["uptake_share"] > 0.15
    for name in ("parameters.json", "meta.json", "trajectories.parquet", "replicates.parquet", "report.html",
                 "exosomes_tumour.png", "niche_indices.png", "metastasis_risk.png"):
        assert (out / name).stat().st_size > 0, name
    assert json.loads((out / "meta.json").read_text())["seed"] == 20190339
    assert "data:image/png;base64" in (out / "report.html").read_text()


def test_simulate_same_seed_same_numbers(cli, tmp_path):
    runs = []
    for k in range(2):
        code, stdout, _ = cli("simulate", "--replicates", "30", "--days", "60", "--seed", "5",
                              "--out", tmp_path / f"r{k}", "--json")
        doc = json.loads(stdout)
        doc.pop("run")
        runs.append(doc)
    assert runs[0] == runs[1]


def test_simulate_bad_input_exits_2(cli, tmp_path):
    for args, word in ((("--tumour", "4175LuT"), "4175-LuT"), (("--initial-g", "-1"), "initial_g"),
                       (("--physiology", "rat"), "physiology"), (("--replicates", "0"), "replicates")):
        code, out, err = cli("simulate", *args, "--out", tmp_path / "x")
        assert code == 2 and word in err and "Traceback" not in err, (args, err)


def test_validate_json_one_target(cli_json):
    doc = cli_json("validate", "--id", "V3")
    assert doc["n"] == 1 and doc["targets"][0]["id"] == "V3" and doc["targets"][0]["passed"]
    assert set(doc["targets"][0]) >= {"id", "description", "measured", "expected", "tolerance", "passed"}


def test_validate_unknown_id_exits_2(cli):
    code, _, err = cli("validate", "--id", "V99")
    assert code == 2 and "V99" in err


def test_params_json_every_parameter_has_unit_and_provenance(cli_json):
    doc = cli_json("params", "--physiology", "mouse")
    assert doc["n"] == len(doc["parameters"]) > 100
    for p in doc["parameters"]:
        assert p["unit"] and p["kind"] in ("measured", "estimated", "calibrated", "scenario") and p["source"]


def test_model_json_lists_processes_with_claims(cli_json):
    doc = cli_json("model")
    assert len(doc["processes"]) > 50
    assert all(p["claims"] for p in doc["processes"])
    assert any(p["name"] == "tgfb_liver" and "ECM-19" in p["claims"] for p in doc["processes"])


def test_export_sbml_verify_json(cli_json, tmp_path):
    doc = cli_json("export", "sbml", tmp_path / "m.xml", "--verify")
    assert doc["libsbml_errors"] == 0
    assert doc["verify"]["max_rel_diff"] <= 1e-4 and doc["verify"]["passed"]
    assert (tmp_path / "m.xml").read_text().startswith("<?xml")


def test_export_sbml_bad_preset_and_path_exit_2(cli, tmp_path):
    code, _, err = cli("export", "sbml", tmp_path / "m.xml", "--preset", "nope")
    assert code == 2 and "nope" in err
    code, _, err = cli("export", "sbml", tmp_path / "missing" / "m.xml")
    assert code == 2 and "missing" in err


def test_calibrate_reproduces_the_packaged_calibrated_values(cli_json):
    doc = cli_json("calibrate", "--json")
    assert {d["dataset"] for d in doc["datasets"]} == {"plasma_kinetics", "experimental_metastasis",
                                                      "metastatic_efficiency"}
    for d in doc["datasets"]:
        for name, rel in d["relative_change"].items():
            assert rel < 0.01, (d["dataset"], name, d["parameters"][name], d["packaged"][name])
    plasma = next(d for d in doc["datasets"] if d["dataset"] == "plasma_kinetics")
    assert abs(plasma["simulated"]["t_half_beta_h"] / plasma["observed"]["t_half_beta_h"] - 1) < 0.01


def test_model_figure_is_drawn_from_the_declaration(cli, tmp_path):
    from exoniche import biology
    from exoniche.io.model_figure import circulation_graph

    code, out, err = cli("model", "--figure", tmp_path / "c.png")
    assert code == 0, err
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    g = circulation_graph(biology.mechanism())
    # every uptake site is fed from plasma by a declared process; the slow pool returns to plasma
    for site in ("B_inj_liver_target", "B_inj_spleen", "B_inj_lung_target", "B_inj_other", "E_inj_int"):
        assert g.has_edge("E_inj", site), site
    assert g.has_edge("E_inj_int", "E_inj")
