"""SBML import: export -> import round trip, libRoadRunner agreement on the PEtab benchmark models, named errors."""

from pathlib import Path

import numpy as np
import pytest

from exoniche.engines import deterministic
from exoniche.engines.problem import Problem
from exoniche.engines.sbml_import import CLOCK, import_sbml
from exoniche.errors import ModelError

# a copy of ../shared/anchors/petab-benchmarks (Benchmark-Models-PEtab, BSD-3-Clause), so that CI needs nothing else
BENCH = Path(__file__).resolve().parent / "reference" / "petab"
MODELS = {"Boehm_JProteomeRes2014": 240.0, "Perelson_Science1996": 7.0, "Fujita_SciSignal2010": 3600.0}


def _max_rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-30))


def test_round_trip_export_import_same_trajectories():
    from exoniche.experiments.setup import Experiment, Injection
    from exoniche.io import sbml

    prob = Experiment(injection=Injection("4175-LuT", times=(0, 2, 4), dose_ug=10), duration_days=7).problem()
    prob.rtol = 1e-10
    m = import_sbml(sbml.to_sbml(prob))
    assert m.mechanism.species_names() == prob.mechanism.species_names()
    assert len(m.events) == 2 and {e.time for e in m.events} == {2.0, 4.0}
    a = deterministic.run(prob)
    b = deterministic.run(Problem(m.mechanism, m.params, prob.t_end, prob.output_times, m.events, rtol=1e-10))
    worst = max(_max_rel(a[s].values, b[s].values) for s in prob.mechanism.species_names())
    assert worst <= 1e-8


@pytest.mark.parametrize("name", sorted(MODELS))
def test_benchmark_models_agree_with_roadrunner(name):
    import roadrunner

    path = BENCH / name / f"model_{name}.xml"
    m = import_sbml(path)
    t_end = MODELS[name]
    t = np.linspace(0.0, t_end, 21)
    ds = deterministic.run(Problem(m.mechanism, m.params, t_end, t, m.events, rtol=1e-10))
    rr = roadrunner.RoadRunner(str(path))
    rr.integrator.setValue("relative_tolerance", 1e-12)
    rr.integrator.setValue("absolute_tolerance", 1e-14)
    species = [s for s in m.mechanism.species_names() if s != CLOCK]
    rr.timeCourseSelections = ["time", *[f"[{s}]" if m.concentration[s] else s for s in species]]
    res = np.asarray(rr.simulate(times=[float(x) for x in t]))
    for i, s in enumerate(species):
        assert _max_rel(res[:, i + 1], ds[s].values) <= 1e-5, s


def test_compiled_engine_runs_an_imported_model():
    from exoniche.engines import numba_bdf

    name = "Boehm_JProteomeRes2014"
    m = import_sbml(BENCH / name / f"model_{name}.xml")
    t = np.linspace(0.0, 240.0, 17)
    prob = Problem(m.mechanism, m.params, 240.0, t, m.events, rtol=1e-9)
    k = numba_bdf.kernel(m.mechanism, m.params)
    p = np.array(k.functions.param_vector(m.params))[:, None]
    _, y = numba_bdf.integrate(prob, p, kern=k)
    ref = deterministic.run(prob)
    for i, s in enumerate(k.functions.species):
        assert _max_rel(ref[s].values, y[i, :, 0]) <= 1e-6, s


def test_unsupported_constructs_are_named(tmp_path):
    import libsbml

    doc = libsbml.SBMLDocument(3, 2)
    model = doc.createModel()
    c = model.createCompartment()
    c.setId("cell"), c.setSize(1.0), c.setConstant(True)
    s = model.createSpecies()
    s.setId("X"), s.setCompartment("cell"), s.setInitialAmount(1.0), s.setHasOnlySubstanceUnits(True)
    s.setBoundaryCondition(False), s.setConstant(False)
    rule = model.createRateRule()
    rule.setVariable("X"), rule.setMath(libsbml.parseL3Formula("-X"))
    ev = model.createEvent()
    ev.setId("late"), ev.setUseValuesFromTriggerTime(True)
    trig = ev.createTrigger()
    trig.setInitialValue(True), trig.setPersistent(True), trig.setMath(libsbml.parseL3Formula("time >= 2"))
    ev.createDelay().setMath(libsbml.parseL3Formula("1"))
    ea = ev.createEventAssignment()
    ea.setVariable("X"), ea.setMath(libsbml.parseL3Formula("0"))
    path = tmp_path / "bad.xml"
    path.write_text(libsbml.writeSBMLToString(doc))
    with pytest.raises(ModelError, match=r"unsupported SBML constructs: .*rate rule on X.*event late with a delay"):
        import_sbml(path)
    with pytest.raises(ModelError, match="not found"):
        import_sbml(tmp_path / "missing.xml")
