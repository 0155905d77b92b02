"""SBML export: libSBML consistency, citations in annotations, counts, units, and the libRoadRunner cross-check."""

from __future__ import annotations

import dataclasses

import libsbml
import numpy as np
import pytest

from exoniche.biology import Parameter
from exoniche.engines import Event
from exoniche.engines.functions import compile_mechanism
from exoniche.errors import ScenarioError
from exoniche.experiments.setup import Experiment, Injection
from exoniche.io import sbml

TARGET = 1e-4


def default_problem():
    """The default `simulate` scenario: 4175-LuT in a human host over 180 days."""
    return Experiment(
        physiology="human", tumour="4175-LuT", tumour_initial_g=2.0, duration_days=180.0
    ).problem()


def injection_problem():
    """Mouse 'education' experiment: three 10 ug injections of 4175-LuT exosomes."""
    return Experiment(injection=Injection("4175-LuT", times=(0, 2, 4), dose_ug=10), duration_days=7).problem()


@pytest.fixture(scope="module")
def exported():
    problem = default_problem()
    text = sbml.to_sbml(problem, preset_name="4175-LuT")
    doc = libsbml.readSBMLFromString(text)
    return problem, text, doc.getModel()


def _conversion_factors(model) -> set[str]:
    out = set()
    for p in model.getListOfParameters():
        ann = p.getAnnotation()
        if ann is not None and "exoniche:conversion" in ann.toXMLString():
            out.add(p.getId())
    return out


def test_level_3_version_2_with_no_consistency_errors(exported):
    _, text, model = exported
    doc = model.getSBMLDocument()
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    check = sbml.consistency(text)
    assert check["errors"] == 0, check["messages"]
    # what remains are unit warnings that point at implicit conversions inside the mechanism itself
    assert check["warnings"] == check["unit_warnings"], check["messages"]


def test_injection_export_with_events_is_consistent():
    text = sbml.to_sbml(injection_problem())
    check = sbml.consistency(text)
    assert check["errors"] == 0, check["messages"]
    model = libsbml.readSBMLFromString(text).getModel()
    # day 0 is folded into the initial amount, days 2 and 4 are events
    assert model.getNumEvents() == 2
    ev = model.getEvent(0)
    assert ev.getUseValuesFromTriggerTime() and ev.getTrigger().getPersistent() and not ev.isSetDelay()
    assert (
        libsbml.formulaToL3String(ev.getTrigger().getMath())
        .replace(" dimensionless", "")
        .startswith("time >= 2")
    )
    dose = 10 * injection_problem().params.value("particles_per_ug")
    assert model.getSpecies("E_inj").getInitialAmount() == pytest.approx(dose)


def test_every_reaction_names_its_claims_and_refs(exported):
    problem, _, model = exported
    procs = {p.name: p for p in problem.mechanism.processes}
    for r in model.getListOfReactions():
        ann = r.getAnnotation()
        cites = ann.getChild(0)
        assert cites.getName() == "citations" and cites.getURI() == sbml.NS
        claims = [
            cites.getChild(i).getAttrValue("id")
            for i in range(cites.getNumChildren())
            if cites.getChild(i).getName() == "claim"
        ]
        refs = [
            cites.getChild(i).getChild(0).getCharacters()
            for i in range(cites.getNumChildren())
            if cites.getChild(i).getName() == "ref"
        ]
        proc = procs[r.getId()]
        assert claims == list(proc.claims) and claims
        assert refs == list(proc.refs)
        assert f"claims: {', '.join(proc.claims)}" in r.getNotesString()


def test_parameters_carry_units_and_provenance(exported):
    problem, _, model = exported
    for name, p in problem.params.items():
        par = model.getParameter(name)
        assert par.getConstant() and par.getValue() == p.value and par.isSetUnits()
        prov = par.getAnnotation().getChild(0)
        assert (prov.getAttrValue("kind"), prov.getAttrValue("source")) == (p.kind, p.source)
        assert f"provenance: {p.kind}" in par.getNotesString()


def test_round_trip_counts_match_the_mechanism(exported):
    problem, _, model = exported
    mech = problem.mechanism
    assert model.getNumSpecies() == len(mech.species)
    assert model.getNumReactions() == len(mech.processes)
    factors = _conversion_factors(model)
    assert model.getNumParameters() - len(factors) == len(problem.params) + len(mech.expressions)
    assert model.getNumRules() == len(mech.expressions)
    assert all(model.getRule(e.name).isAssignment() for e in mech.expressions)
    for s in model.getListOfSpecies():
        assert s.getHasOnlySubstanceUnits() and not s.getBoundaryCondition()
    # initial amounts are the engine's
    comp = compile_mechanism(mech, problem.params)
    y0 = comp.initial(comp.param_vector(problem.params))
    assert [model.getSpecies(s).getInitialAmount() for s in comp.species] == pytest.approx(y0, rel=1e-15)
    assert model.getInitialAssignmentBySymbol("N") is not None  # N = tumour_initial_g stays a formula


def test_units_are_defined_in_si(exported):
    _, _, model = exported
    assert model.getTimeUnits() == "day"
    day = model.getUnitDefinition("day").getUnit(0)
    assert (day.getKind(), day.getMultiplier() * 10 ** day.getScale()) == (libsbml.UNIT_KIND_SECOND, 86400)
    gp = model.getUnitDefinition("Gp").getUnit(0)
    assert (gp.getKind(), gp.getMultiplier()) == (libsbml.UNIT_KIND_ITEM, 1e9)
    assert model.getSpecies("E_tum").getSubstanceUnits() == "Gp"
    assert model.getSpecies("N").getSubstanceUnits() == "g"
    assert model.getUnitDefinition("fold").isVariantOfDimensionless()
    # ln is the natural logarithm in the exported math, not log10
    math = libsbml.writeMathMLToString(model.getRule("tumour_alpha").getMath())
    assert "<ln/>" in math and "<log/>" not in math


def test_unknown_unit_is_exported_dimensionless_with_a_note():
    problem = default_problem()
    params = problem.params.extended(
        [Parameter("odd_quantity", 2.0, "furlongs/fortnight", "estimated", "test")]
    )
    text = sbml.to_sbml(dataclasses.replace(problem, params=params))
    model = libsbml.readSBMLFromString(text).getModel()
    par = model.getParameter("odd_quantity")
    assert par.getUnits() == "dimensionless"
    assert "furlongs/fortnight" in par.getNotesString() and "dimensionless" in par.getNotesString()
    assert sbml.consistency(text)["errors"] == 0


@pytest.mark.parametrize(
    "make", [default_problem, injection_problem], ids=["default-180d-human", "mouse-injection"]
)
def test_roadrunner_matches_the_engine(make):
    result = sbml.verify(make())
    assert result["max_rel_diff"] <= TARGET, result
    assert result["passed"] and result["libsbml_errors"] == 0
    assert result["n_output_times"] >= 8


def test_verify_catches_a_model_that_differs():
    problem = injection_problem()
    wrong = dataclasses.replace(problem, params=problem.params.with_values({"bound_turnover_per_day": 0.05}))
    result = sbml.verify(problem, sbml=sbml.to_sbml(wrong))
    assert not result["passed"] and result["max_rel_diff"] > 1e-2


def test_same_time_events_compose_in_the_engine_order():
    problem = injection_problem()
    extra = [
        Event(0.0, "E_inj", factor=0.5),
        Event(3.0, "E_inj", amount=2.0),
        Event(3.0, "E_inj", factor=0.25),
        Event(3.0, "S100_lung", factor=3.0),
        Event(7.0, "N", amount=1.0),
    ]  # day 7 = end: ignored, as the engine does
    problem = dataclasses.replace(
        problem, events=problem.events + extra, output_times=np.array([0.5, 3.0, 3.5, 6.0])
    )
    model = libsbml.readSBMLFromString(sbml.to_sbml(problem)).getModel()
    dose = problem.events[0].amount
    assert model.getSpecies("E_inj").getInitialAmount() == pytest.approx(dose * 0.5)
    assert model.getNumEvents() == 3  # days 2, 3, 4
    result = sbml.verify(problem)
    assert result["max_rel_diff"] <= TARGET, result


def test_write_sbml(tmp_path):
    out = sbml.write_sbml(tmp_path / "model.xml", injection_problem(), preset_name="4175-LuT")
    assert libsbml.readSBMLFromFile(str(out)).getModel().getId() == "exoniche_4175_LuT"
    bad = tmp_path / "no-such-folder" / "model.xml"
    with pytest.raises(ScenarioError, match="no-such-folder"):
        sbml.write_sbml(bad, injection_problem())


def test_parameter_events_export_and_agree_with_roadrunner():
    from exoniche.engines import ParameterEvent
    from exoniche.experiments.setup import Experiment as _Exp

    prob = _Exp(physiology="mouse", tumour="B16-F10", tumour_initial_g=0.05, duration_days=20.0).problem()
    prob.events += [ParameterEvent(5.0, "chemo_kill_per_day", 0.4, "chemo on"),
                    ParameterEvent(12.0, "chemo_kill_per_day", 0.0, "chemo off"),
                    ParameterEvent(0.0, "pd1_blockade", 0.9, "anti-PD-1 from day 0")]
    report = sbml.verify(prob)
    assert report["libsbml_errors"] == 0
    assert report["max_rel_diff"] <= 1e-4, report["species"]
