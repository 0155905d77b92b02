"""Scenario files: loading, arm merging, interventions as events, and the malformed-file corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exoniche.engines import Event, ParameterEvent
from exoniche.errors import ScenarioError
from exoniche.experiments.interventions import Intervention, catalogue, intervention_events
from exoniche.experiments.scenario import load_scenario, loads_scenario

MALFORMED = Path(__file__).parent / "scenarios" / "malformed"
EXPECTED = json.loads((MALFORMED / "expected.json").read_text(encoding="utf-8"))

BASE = """
name = "t"
duration_days = 60
replicates = 7
seed = 11
[host]
physiology = "mouse"
immune_status = "immunodeficient"
[tumour]
preset = "4175-LuT"
initial_g = 0.05
"""


def test_corpus_is_large_enough():
    assert len(list(MALFORMED.glob("*.toml"))) >= 30
    assert set(EXPECTED) == {p.name for p in MALFORMED.glob("*.toml")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_file_exits_2_naming_the_field(cli, name):
    path = MALFORMED / name
    code, out, err = cli("run", path, "--out", "/nonexistent-never-written")
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert str(path) in err and EXPECTED[name] in err, err


def test_base_only_file_has_one_arm_and_settings():
    sc = loads_scenario(BASE, "x.toml")
    assert list(sc.arms) == ["baseline"] and sc.replicates == 7 and sc.seed == 11 and sc.cohort is None
    assert sc.base.tumour == "4175-LuT" and sc.base.physiology == "mouse"


def test_arms_merge_into_base_and_can_remove_injection():
    sc = loads_scenario(BASE + """
[injection]
source = "B16-F10"
start_day = 0
every_days = 2
count = 3
[arms.control]
[arms.pbs]
injection = false
[arms.knockdown]
tumour = { cargo = { "ITGβ4" = 0.1 } }
interventions = [{ type = "anti_pd1", start_day = 10, stop_day = 20 }]
""", "x.toml")
    assert list(sc.arms) == ["control", "pbs", "knockdown"]
    assert sc.arms["control"].injection.times == (0.0, 2.0, 4.0)
    assert sc.arms["pbs"].injection is None
    kd = sc.arms["knockdown"]
    assert kd.tumour_initial_g == 0.05 and kd.tumour_cargo_changes == {"ITGβ4": 0.1}
    assert kd.parameters().value("cargo_tum_itga6b4") == pytest.approx(0.1)


def test_cohort_table_passes_through_unvalidated():
    sc = loads_scenario(BASE + "[cohort]\nn = 5\nanything = { goes = true }\n", "x.toml")
    assert sc.cohort == {"n": 5, "anything": {"goes": True}}


def test_custom_cargo_profile_and_growth_override():
    sc = loads_scenario(BASE.replace('initial_g = 0.05', 'initial_g = 0.05\ncargo_profile = { "ITGβ4" = 2.0, '
                                     'vegf = 0.5 }\ndoubling_time_days = 3'), "x.toml")
    p = sc.base.problem().params
    assert p.value("cargo_tum_itga6b4") == 2.0 and p.value("cargo_tum_vegf") == 0.5
    assert p.value("cargo_tum_pdl1") == 0.0 and p.value("tumour_doubling_time_days") == 3.0


def test_windowed_intervention_becomes_parameter_events():
    exp = loads_scenario(BASE + '[[interventions]]\ntype = "anti_pd1"\nstart_day = 10\nstop_day = 30\n'
                         '[[interventions]]\ntype = "anti_pd1"\nstart_day = 20\nstop_day = 40\n', "x").base
    evs = [e for e in exp.problem().events if isinstance(e, ParameterEvent)]
    occ = exp.parameters().value("anti_pd1_occupancy")
    assert [(e.time, round(e.value, 6)) for e in evs] == [
        (10.0, round(occ, 6)), (20.0, round(1 - (1 - occ) ** 2, 6)), (30.0, round(occ, 6)), (40.0, 0.0)]


def test_resection_is_an_event_on_the_primary():
    exp = loads_scenario(BASE + '[[interventions]]\ntype = "resection"\nday = 14\nresidual_fraction = 0.01\n',
                         "x").base
    (ev,) = [e for e in exp.problem().events if isinstance(e, Event)]
    assert ev.time == 14 and ev.species == "N" and ev.factor == 0.01


def test_dose_response_is_below_saturation_and_monotone():
    occ = [Intervention("anti_pd1", dose_mg_per_kg=d).effect_size() for d in (0.01, 0.1, 1, 10)]
    assert occ == sorted(occ) and occ[-1] < Intervention("anti_pd1").effect_size()


def test_every_catalogue_entry_cites_evidence_and_states_provenance():
    from exoniche.evidence import load_claims

    ids = {c.id for c in load_claims()}
    for name, entry in catalogue().items():
        assert entry["description"] and entry["refs"], name
        assert set(entry["claims"]) <= ids, name
        eff = entry.get("effect")
        if eff and "value" in eff:
            assert eff["kind"] in ("estimated", "measured", "calibrated") and eff["source"], name


def test_every_intervention_type_runs_and_changes_something():
    from exoniche.biology import base_parameters
    from exoniche.experiments.setup import Experiment

    exp = Experiment(tumour="4175-LuT", tumour_initial_g=0.05, duration_days=10, immune_status="immunodeficient")
    params = exp.parameters()
    for kind in catalogue():
        kw = {"day": 5.0} if kind == "resection" else {}
        if kind in ("knockdown", "overexpression"):
            kw["target"] = "PD-L1"
        if kind == "integrin_antibody":
            kw["target"] = "ITGα6β4"
        evs = intervention_events([Intervention(kind, **kw)], params, 10.0)
        assert evs, kind
    assert base_parameters("mouse")  # catalogue parameters exist in the model


def test_missing_file_and_directory_are_clear(tmp_path):
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="directory"):
        load_scenario(tmp_path)
