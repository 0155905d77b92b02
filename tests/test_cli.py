"""The command-line contract: --version, --help, --json documents, exit codes."""

from __future__ import annotations

import json

from exoniche import __version__

GROUPS = ("simulate", "run", "compare", "validate", "export", "params", "cohort", "biomarkers", "evidence")


def test_version(cli):
    code, out, _ = cli("--version")
    assert code == 0 and __version__ in out


def test_help_lists_every_command_group(cli):
    code, out, _ = cli("--help")
    assert code == 0
    for name in GROUPS:
        assert name in out


def test_evidence_search_pdl1_json_includes_a_claim_citing_38(cli_json):
    doc = cli_json("evidence", "search", "PD-L1")
    assert doc["n"] == len(doc["claims"]) > 0
    assert any(38 in c["refs"] for c in doc["claims"])


def test_evidence_stats_json_covers_every_section(cli_json):
    doc = cli_json("evidence", "stats")
    assert doc["n_claims"] >= 80
    assert all(n > 0 for n in doc["sections"].values())


def test_evidence_show_json_and_unknown_id(cli, cli_json):
    first = cli_json("evidence", "search", "ITGβ5")["claims"][0]
    doc = cli_json("evidence", "show", first["id"])
    assert doc["id"] == first["id"] and doc["refs"] == first["refs"]
    code, out, err = cli("evidence", "show", "NOPE-99")
    assert code == 2 and "NOPE-99" in err and out == "" and "Traceback" not in err


def test_evidence_graph_writes_file(cli_json, tmp_path):
    doc = cli_json("evidence", "graph", "--format", "json", "--out", tmp_path / "g.json")
    assert doc["edges"] > 0
    assert json.loads((tmp_path / "g.json").read_text())["links"]


def test_evidence_graph_bad_format_exits_2(cli, tmp_path):
    code, _, err = cli("evidence", "graph", "--format", "dot", "--out", tmp_path / "g.dot")
    assert code == 2 and "--format" in err


def test_unknown_command_is_a_usage_error(cli):
    code, _, err = cli("frobnicate")
    assert code == 2 and "Traceback" not in err
