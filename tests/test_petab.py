"""PEtab objective: simulations against the problems' simulatedData and libRoadRunner, llh against petab's."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exoniche.calibration import petab_problem as pp

BENCH = Path(__file__).resolve().parent / "reference" / "petab"
NAMES = ["Boehm_JProteomeRes2014", "Perelson_Science1996", "Fujita_SciSignal2010"]


def _problem(name: str) -> pp.PetabProblem:
    prob = pp.load(BENCH / name / f"{name}.yaml")
    prob.rtol = pp.LLH_RTOL
    return prob


def _roadrunner_simulation(prob: pp.PetabProblem) -> np.ndarray:
    """The measurement rows' observables at the nominal parameters, simulated by libRoadRunner (independent)."""
    import libsbml
    import roadrunner
    import sympy as sp
    from petab.v1.math import sympify_petab

    pdf, cdf, odf, mdf = (prob.petab.parameter_df, prob.petab.condition_df, prob.petab.observable_df,
                          prob.petab.measurement_df)
    table = {pid: float(r["nominalValue"]) for pid, r in pdf.iterrows()}

    def value(v):
        try:
            return float(v)
        except (TypeError, ValueError):
            return table[str(v).strip()]

    out = np.full(len(mdf), np.nan)
    for cond in dict.fromkeys(mdf["simulationConditionId"]):
        doc = libsbml.readSBMLFromFile(str(prob.files["sbml"]))
        model = doc.getModel()
        for pid, v in table.items():
            if model.getParameter(pid) is not None:
                model.getParameter(pid).setValue(v)
        for col, v in cdf.loc[cond].items():
            if col == "conditionName" or pd.isna(v):
                continue
            if model.getParameter(col) is not None:
                model.getParameter(col).setValue(value(v))
            elif model.getSpecies(col) is not None:
                model.getSpecies(col).setInitialConcentration(value(v))
                model.removeInitialAssignment(col)
        rr = roadrunner.RoadRunner(libsbml.writeSBMLToString(doc))
        rr.integrator.setValue("relative_tolerance", 1e-12)
        rr.integrator.setValue("absolute_tolerance", 1e-16)
        rows = np.nonzero((mdf["simulationConditionId"] == cond).to_numpy())[0]
        times = np.unique(mdf["time"].to_numpy(dtype=float)[rows])
        ids = [s.getId() for s in model.getListOfSpecies()]
        rr.timeCourseSelections = ["time", *[f"[{s}]" for s in ids]]
        grid = np.union1d([0.0], times)
        res = np.asarray(rr.simulate(times=[float(t) for t in grid]))
        for r in rows:
            obs = mdf["observableId"].iloc[r]
            expr = sympify_petab(odf.loc[obs, "observableFormula"])
            state = res[np.searchsorted(grid, float(mdf["time"].iloc[r]))]
            subs = {s: state[1 + k] for k, s in enumerate(ids)}
            placeholders = mdf["observableParameters"].iloc[r] if "observableParameters" in mdf.columns else None
            if isinstance(placeholders, str) or (placeholders is not None and not pd.isna(placeholders)):
                for k, item in enumerate(str(placeholders).split(";"), start=1):
                    subs[f"observableParameter{k}_{obs}"] = value(item)
            vals = {sym: subs[sym.name] if sym.name in subs else table.get(sym.name, model.getParameter(sym.name)
                                                                             .getValue()) for sym in expr.free_symbols}
            out[r] = float(sp.N(expr.subs(vals)))
    return out


def _petab_llh(prob: pp.PetabProblem, simulation: np.ndarray) -> float:
    import petab.v1 as petab

    sim = prob.petab.measurement_df.drop(columns=["measurement"]).copy()
    sim["simulation"] = simulation
    return float(petab.calculate_llh(prob.petab.measurement_df, sim, prob.petab.observable_df,
                                     prob.petab.parameter_df))


def _shipped(name: str) -> np.ndarray:
    return pd.read_csv(BENCH / name / f"simulatedData_{name}.tsv", sep="\t")["simulation"].to_numpy(dtype=float)


def _rel(a, b) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-6 * np.max(np.abs(b)))))


@pytest.mark.parametrize("name", NAMES)
def test_simulation_agrees_with_roadrunner_then_llh_equals_petab(name):
    prob = _problem(name)
    ours = prob.simulate(prob.nominal)[:, 0]
    rr = _roadrunner_simulation(prob)
    assert _rel(ours, rr) <= 1e-6
    nllh = float(prob.nllh(prob.nominal))
    assert abs(-nllh - _petab_llh(prob, rr)) <= 1e-6
    assert abs(-nllh - _petab_llh(prob, ours)) <= 1e-9  # the same likelihood formulas as petab's


def test_llh_equals_petab_on_the_shipped_simulated_data():
    # Boehm's simulatedData is the nominal trajectory (to 5e-8, the reference simulator's own accuracy, which
    # moves its llh by 2e-6); Perelson's llh is insensitive to the simulation (sigma = 1e5 on a log10 scale).
    boehm, perelson = _problem(NAMES[0]), _problem(NAMES[1])
    assert _rel(boehm.simulate(boehm.nominal)[:, 0], _shipped(NAMES[0])) <= 1e-7
    assert abs(-float(boehm.nllh(boehm.nominal)) - _petab_llh(boehm, _shipped(NAMES[0]))) <= 5e-6
    assert abs(-float(perelson.nllh(perelson.nominal)) - _petab_llh(perelson, _shipped(NAMES[1]))) <= 1e-6


@pytest.mark.parametrize("name", NAMES[1:])
def test_shipped_simulated_data_of_perelson_and_fujita_are_not_the_nominal_trajectories(name):
    # libRoadRunner and exoniche agree with each other (test above) and both differ from these files by > 10 %,
    # so those files cannot serve as the reference: the llh tests use libRoadRunner's simulation instead.
    prob = _problem(name)
    assert _rel(_roadrunner_simulation(prob), _shipped(name)) > 0.1


def test_fit_llh_command_prints_the_objective(cli_json):
    name = NAMES[0]
    doc = cli_json("fit", "llh", BENCH / name / f"{name}.yaml")
    assert set(doc) == {"llh", "nllh", "n_measurements"}
    assert doc["n_measurements"] == 48 and abs(doc["llh"] + doc["nllh"]) == 0
    assert abs(doc["nllh"] - 138.2219977) < 1e-6


def test_preequilibration_starts_from_the_steady_state_of_its_condition(tmp_path):
    # dX/dt = k - d X: preequilibrated at k = 2 (X = 2/d), then simulated at k = 1: X(t) = (1 + e^(-d t)) / d
    import libsbml

    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    m.setId("production_decay")
    c = m.createCompartment()
    c.setId("cell"), c.setSize(1.0), c.setConstant(True)
    s = m.createSpecies()
    s.setId("X"), s.setCompartment("cell"), s.setInitialConcentration(0.0), s.setHasOnlySubstanceUnits(False)
    s.setBoundaryCondition(False), s.setConstant(False)
    for pid, v in (("k", 1.0), ("d", 0.5)):
        p = m.createParameter()
        p.setId(pid), p.setValue(v), p.setConstant(True)
    for rid, law, prod in (("make", "k", True), ("decay", "d * X", False)):
        r = m.createReaction()
        r.setId(rid), r.setReversible(False)
        ref = r.createProduct() if prod else r.createReactant()
        ref.setSpecies("X"), ref.setStoichiometry(1.0), ref.setConstant(True)
        r.createKineticLaw().setMath(libsbml.parseL3Formula(law))
    (tmp_path / "model.xml").write_text(libsbml.writeSBMLToString(doc))
    (tmp_path / "conditions.tsv").write_text("conditionId\tk\nhigh\t2\nlow\t1\n")
    (tmp_path / "observables.tsv").write_text("observableId\tobservableFormula\tnoiseFormula\nobs_X\tX\t1\n")
    (tmp_path / "measurements.tsv").write_text(
        "observableId\tpreequilibrationConditionId\tsimulationConditionId\tmeasurement\ttime\n"
        "obs_X\thigh\tlow\t3.0\t0\nobs_X\thigh\tlow\t3.0\t2\nobs_X\t\tlow\t1.0\t2\n")
    (tmp_path / "parameters.tsv").write_text(
        "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate\nd\tlog10\t0.01\t10\t0.5\t1\n")
    (tmp_path / "problem.yaml").write_text(
        "format_version: 1\nparameter_file: parameters.tsv\nproblems:\n- sbml_files: [model.xml]\n"
        "  condition_files: [conditions.tsv]\n  measurement_files: [measurements.tsv]\n"
        "  observable_files: [observables.tsv]\n")
    prob = pp.load(tmp_path / "problem.yaml", lint=False)
    prob.rtol = pp.LLH_RTOL
    sim = prob.simulate(prob.nominal)[:, 0]
    d = 0.5
    expected = [2 / d, (1 + np.exp(-d * 2)) / d, (1 - np.exp(-d * 2)) / d]  # the last row starts at X = 0
    assert np.allclose(sim, expected, rtol=1e-7)
