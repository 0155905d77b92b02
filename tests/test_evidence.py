"""The review's claims as data: content, validation, search, stats and graph."""

from __future__ import annotations

import json

import networkx as nx
import pytest

from exoniche import evidence
from exoniche.errors import DataError
from exoniche.evidence.claims import REF_RANGE, SECTIONS, load_claims, parse_claims


def _with(claims, *words):
    return [c for c in claims if all(evidence.normalise(w) in evidence.normalise(c.sentence()) for w in words)]


def test_at_least_80_claims_and_every_section_covered():
    claims = load_claims()
    assert len(claims) >= 80
    assert {c.section for c in claims} == set(SECTIONS)


def test_every_reference_number_lies_in_the_bibliography():
    lo, hi = REF_RANGE
    for c in load_claims():
        assert all(lo <= r <= hi for r in c.refs), c.id


def test_itgb5_knockdown_lowers_liver_uptake_sevenfold_cites_25():
    hits = [c for c in _with(load_claims(), "ITGβ5", "liver") if c.size and "7" in c.size]
    assert hits, "the sevenfold liver-uptake claim is missing"
    assert all(25 in c.refs and c.direction == "down" for c in hits)


def test_key_numbers_of_the_review_are_present():
    claims = load_claims()
    sizes = {c.size for c in claims if c.size}
    assert any("21 of 44" in s for s in sizes)  # anti-PD-1 responders [38]
    assert _with(claims, "S100A8") and _with(claims, "S100P")
    assert any(38 in c.refs for c in _with(claims, "PD-L1", "CD8"))
    assert any(72 in c.refs for c in _with(claims, "MIF", "Kupffer"))


@pytest.mark.parametrize("query", ["ITGβ4", "ITGB4", "itgb4", "itg-β4"])
def test_search_is_case_and_greek_insensitive(query):
    reference = {c.id for c in evidence.search("ITGβ4")}
    assert reference, "no ITGβ4 claim"
    assert {c.id for c in evidence.search(query)} == reference


def test_search_unknown_text_finds_nothing():
    assert evidence.search("zebrafish-telomerase-xyz") == []


def test_normalise_folds_greek_and_punctuation():
    assert evidence.normalise("TGF-β") == evidence.normalise("tgfb") == "tgfb"
    assert evidence.normalise("ITGαvβ5") == "itgavb5"


def test_stats_reports_unused_claims_given_model_citations():
    first = load_claims()[0]
    result = evidence.stats(cited_by={"some_term": [first.id, "NOT-A-CLAIM"]})
    assert result["n_claims_used_by_model"] == 1
    assert first.id not in result["claims_without_model_term"]
    assert result["unknown_claim_ids_cited"] == ["NOT-A-CLAIM"]
    assert sum(result["sections"].values()) == result["n_claims"]


@pytest.mark.parametrize(
    "entry, field",
    [
        ({"id": "X-01", "section": "nowhere", "subject": "a", "relation": "increases", "object": "b", "refs": [1]},
         "section"),
        ({"id": "X-01", "section": "therapy", "subject": "a", "relation": "boosts", "object": "b", "refs": [1]},
         "relation"),
        ({"id": "X-01", "section": "therapy", "subject": "a", "relation": "increases", "object": "b", "refs": [105]},
         "refs"),
        ({"id": "X-01", "section": "therapy", "subject": "a", "relation": "increases", "object": "b"}, "refs"),
        ({"id": "X-01", "section": "therapy", "subject": "a", "relation": "increases", "object": "b", "refs": [1],
          "colour": "red"}, "colour"),
        ({"id": "X-01", "section": "therapy", "subject": "a", "relation": "increases", "object": "b", "refs": [1],
          "effect": {"direction": "sideways"}}, "effect.direction"),
    ],
)
def test_malformed_claim_names_entry_and_field(entry, field):
    with pytest.raises(DataError) as info:
        parse_claims([entry], "bad.yaml")
    message = str(info.value)
    assert "X-01" in message and field in message


def test_duplicate_ids_are_rejected():
    entry = {"id": "X-01", "section": "therapy", "subject": "a", "relation": "increases", "object": "b", "refs": [1]}
    with pytest.raises(DataError, match="duplicate id"):
        parse_claims([entry, dict(entry)], "dup.yaml")


def test_load_claims_from_a_broken_file(tmp_path):
    bad = tmp_path / "claims.yaml"
    bad.write_text("- id: [unclosed\n")
    with pytest.raises(DataError, match="not valid YAML"):
        load_claims(bad)


def test_graph_has_one_edge_per_claim_and_round_trips_graphml(tmp_path):
    g = evidence.build_graph()
    assert g.number_of_edges() == len(load_claims())
    path = evidence.write_graph(tmp_path / "e.graphml", "graphml")
    back = nx.read_graphml(path)
    assert back.number_of_edges() == g.number_of_edges()
    data = json.loads(evidence.write_graph(tmp_path / "e.json", "json").read_text())
    assert len(data["links"]) == g.number_of_edges()
