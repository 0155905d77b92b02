"""The whole-body mechanism and its engines: structure, provenance, conservation, positivity, seeds."""

from __future__ import annotations

import re

import numpy as np
import pytest

from exoniche import biology, engines, evidence
from exoniche.errors import ModelError, ScenarioError
from exoniche.experiments import model_calibration as calibration
from exoniche.experiments import validation
from exoniche.experiments.readouts import uptake_percent_dose
from exoniche.experiments.setup import CellChallenge, Experiment, Injection

HOST_AND_TUMOUR = Experiment(physiology="human", tumour="4175-LuT", tumour_initial_g=10.0, duration_days=180.0)


def test_every_process_cites_existing_claims():
    known = {c.id for c in evidence.load_claims()}
    for p in biology.mechanism().processes:
        assert p.claims, p.name
        assert set(p.claims) <= known, (p.name, set(p.claims) - known)


def test_all_hallmarks_of_the_design_are_model_terms():
    hallmarks = {p.hallmark for p in biology.mechanism().processes}
    assert hallmarks == set(biology.HALLMARKS)


def test_every_parameter_has_unit_and_provenance():
    for phys in ("mouse", "human"):
        params = Experiment(physiology=phys, tumour="B16-F10").parameters()
        for name, p in params.items():
            assert p.unit and p.source, name
            assert p.kind in ("measured", "estimated", "calibrated", "scenario"), name
    calibrated = [p for p in biology.base_parameters("human").values() if p.kind == "calibrated"]
    # each names what it was fitted to: a validation target declared a calibration, or a packaged dataset
    targets = set(validation.CALIBRATED_BY)
    for p in calibrated:
        named = set(re.findall(r"\bV\d+\b", p.source))
        datasets = {d for d in calibration.DATASETS if d in p.source}
        assert (named and named <= targets) or datasets, (p.name, p.source)
    for fitted in calibration.DATASETS.values():
        for name in fitted:
            assert biology.base_parameters("mouse")[name].kind == "calibrated", name


def test_claim_citations_feed_the_evidence_gap_report():
    result = evidence.stats(cited_by=biology.claim_citations())
    assert result["n_claims_used_by_model"] >= 60
    assert result["unknown_claim_ids_cited"] == []


def test_exosome_mass_balance_after_injections():
    exp = Experiment(injection=Injection("4175-LuT", times=(0.0, 1.5, 3.0), dose_ug=10.0), duration_days=5.0)
    prob = exp.problem()
    ds = engines.run(prob)
    dose_gp = 10.0 * prob.params.value("particles_per_ug")
    names = [s for s in ds.data_vars if s.startswith(("E_inj", "B_inj", "D_inj"))]
    total = sum(ds[s].values for s in names)
    t = ds["time"].values
    expected = dose_gp * ((t >= 0).astype(int) + (t >= 1.5) + (t >= 3.0))
    np.testing.assert_allclose(total, expected, rtol=1e-5)


def test_tumour_exosome_mass_balance_against_integrated_secretion():
    exp = Experiment(physiology="mouse", immune_status="immunodeficient", tumour="4175-LuT", tumour_initial_g=0.2,
                     duration_days=10.0,
                     output_times=np.linspace(0, 10, 401))
    prob = exp.problem()
    comp = engines.compile_mechanism(prob.mechanism, prob.params)
    ds = engines.run(prob)
    from exoniche.engines.result import add_expressions

    ds = add_expressions(ds, comp, prob.params, ["sec_per_g", "met_mass"])
    secreted = np.concatenate([[0.0], np.cumsum(np.diff(ds["time"].values) * 0.5 * (
        (ds["sec_per_g"] * (ds["N"] + ds["met_mass"])).values[1:]
        + (ds["sec_per_g"] * (ds["N"] + ds["met_mass"])).values[:-1]))])
    names = [s for s in ds.data_vars if s.startswith(("E_tum", "B_tum", "D_tum"))]
    total = sum(ds[s].values for s in names)
    assert total[0] > 0  # plasma tumour exosomes start at their quasi-steady state
    np.testing.assert_allclose(total[1:] - total[0], secreted[1:], rtol=1e-3)


def test_amounts_stay_non_negative_and_finite():
    ds = engines.run(HOST_AND_TUMOUR.problem())
    for name in ds.data_vars:
        v = ds[name].values
        assert np.all(np.isfinite(v)) and np.all(v >= 0), name


def test_solver_converges_with_tighter_tolerance():
    prob = HOST_AND_TUMOUR.problem()
    a = engines.run(prob)
    prob.rtol = 1e-9
    b = engines.run(prob)
    for name in a.data_vars:
        scale = max(np.abs(b[name].values).max(), 1e-12)
        assert np.abs(a[name].values - b[name].values).max() / scale < 1e-3, name


def test_stochastic_engine_is_reproducible_and_seed_dependent():
    prob = Experiment(physiology="mouse", immune_status="immunodeficient", tumour="4175-LuT", tumour_initial_g=0.05,
                      duration_days=28.0).problem()
    a = engines.run(prob, "stochastic", seed=7, replicates=50)
    b = engines.run(prob, "stochastic", seed=7, replicates=50)
    c = engines.run(prob, "stochastic", seed=8, replicates=50)
    assert np.array_equal(a["met_count"].values, b["met_count"].values)
    assert np.array_equal(np.nan_to_num(a["first_detectable_day"].values, nan=-1),
                          np.nan_to_num(b["first_detectable_day"].values, nan=-1))
    assert not np.array_equal(a["met_burden_g"].values, c["met_burden_g"].values)


def test_stochastic_counts_match_expected_colonies():
    prob = Experiment(physiology="mouse", immune_status="immunodeficient", tumour="4175-LuT", tumour_initial_g=0.05,
                      duration_days=28.0).problem()
    ds = engines.run(prob, "stochastic", seed=1, replicates=400)
    mean = ds["met_count"].values.mean(axis=0)
    expected = np.array([ds[f"Col_{o}"].values[-1] for o in biology.ORGANS])
    sd = np.sqrt(expected / 400)
    assert np.all(np.abs(mean - expected) < 5 * sd + 1e-9)


def test_most_runs_of_a_small_tumour_seed_nothing():
    prob = Experiment(physiology="human", tumour="4175-LuT", tumour_initial_g=0.01, duration_days=180.0).problem()
    ds = engines.run(prob, "stochastic", seed=3, replicates=300)
    seeded_any = (ds["met_count"].values.sum(axis=1) > 0).mean()
    assert seeded_any < 0.5


def test_immunodeficient_host_has_no_t_cells():
    ds = engines.run(Experiment(tumour="B16-F10", tumour_initial_g=0.01, duration_days=14.0,
                                immune_status="immunodeficient").problem())
    assert ds["T_spleen"].values.max() == 0 and ds["T_ln"].values.max() == 0
    competent = engines.run(Experiment(tumour="B16-F10", tumour_initial_g=0.01, duration_days=14.0).problem())
    assert ds["N"].values[-1] > competent["N"].values[-1]


def test_tumour_cell_challenge_seeds_first_capillary_bed():
    venous = engines.run(Experiment(challenge=CellChallenge(0.0, 1e5, "venous"), duration_days=2.0).problem())
    portal = engines.run(Experiment(challenge=CellChallenge(0.0, 1e5, "portal"), duration_days=2.0).problem())
    assert venous["Col_lung"].values[-1] > venous["Col_liver"].values[-1]
    assert portal["Col_liver"].values[-1] > portal["Col_lung"].values[-1]


def test_dose_in_particles_equals_dose_in_ug():
    ppu = biology.base_parameters("mouse").value("particles_per_ug")
    a = engines.run(Experiment(injection=Injection("4175-LuT", dose_ug=10.0), duration_days=1.0).problem())
    b = engines.run(Experiment(injection=Injection("4175-LuT", dose_ug=None, dose_particles=10.0 * ppu * 1e9),
                               duration_days=1.0).problem())
    assert uptake_percent_dose(a, "lung", 1.0, 10 * ppu) == pytest.approx(uptake_percent_dose(b, "lung", 1.0, 10 * ppu))


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(tumour="4175LuT"), "tumour.preset"),
        (dict(tumour="4175-LuT", tumour_initial_g=-1.0), "tumour.initial_g"),
        (dict(injection=Injection("4175-LuT", dose_ug=-5.0)), "injection.dose_ug"),
        (dict(injection=Injection("4175-LuT", times=(40.0,))), "injection.times"),
        (dict(injection=Injection("4175-LuT", cargo_changes={"ITGB9": 0.1})), "cargo"),
        (dict(physiology="rat"), "host.physiology"),
        (dict(immune_status="nude"), "host.immune_status"),
        (dict(pd1_blockade=1.0), "pd1_blockade"),
        (dict(challenge=CellChallenge(0.0, 1e5, "arterial")), "challenge.route"),
        (dict(duration_days=0.0), "duration_days"),
        (dict(parameter_changes={"not_a_parameter": 1.0}), "parameters.not_a_parameter"),
    ],
)
def test_bad_experiment_input_names_the_field(kwargs, field):
    with pytest.raises(ScenarioError) as info:
        Experiment(**kwargs).problem()
    assert field in str(info.value)


def test_unknown_organ_readout_is_named():
    ds = engines.run(Experiment(injection=Injection("4175-LuT"), duration_days=1.0).problem())
    with pytest.raises(ScenarioError, match="organ"):
        uptake_percent_dose(ds, "kidney", 1.0, 50.0)


def test_unknown_engine_is_named():
    with pytest.raises(ScenarioError, match="engine"):
        engines.run(HOST_AND_TUMOUR.problem(), "gillespie")


def test_event_on_unknown_species_is_an_error():
    prob = HOST_AND_TUMOUR.problem()
    prob.events.append(engines.Event(1.0, "X_unknown", amount=1.0))
    with pytest.raises(ModelError, match="X_unknown"):
        engines.run(prob)


def test_parameter_event_switches_therapy_on_mid_run():
    base = Experiment(physiology="mouse", tumour="B16-F10", tumour_initial_g=0.05, duration_days=20.0)
    untreated = engines.run(base.problem())
    prob = base.problem()
    prob.events.append(engines.ParameterEvent(10.0, "chemo_kill_per_day", 0.5, "chemotherapy from day 10"))
    treated = engines.run(prob)
    t = untreated["time"].values
    before = t <= 10
    np.testing.assert_allclose(treated["N"].values[before], untreated["N"].values[before], rtol=1e-9)
    assert treated["N"].values[-1] < 0.5 * untreated["N"].values[-1]


def test_parameter_event_on_unused_parameter_is_an_error():
    prob = HOST_AND_TUMOUR.problem()
    prob.events.append(engines.ParameterEvent(1.0, "not_used_anywhere", 1.0))
    with pytest.raises(ModelError, match="not_used_anywhere"):
        engines.run(prob)


def test_human_line_in_immunocompetent_mouse_is_a_named_error_unless_asked_for():
    exp = Experiment(physiology="mouse", tumour="4175-LuT", tumour_initial_g=0.05, duration_days=5.0)
    with pytest.raises(ScenarioError, match="tumour.preset: '4175-LuT' is a human cell line"):
        exp.problem()
    Experiment(physiology="mouse", tumour="4175-LuT", tumour_initial_g=0.05, duration_days=5.0,
               allow_xenograft=True).problem()
    Experiment(physiology="mouse", tumour="B16-F10", tumour_initial_g=0.05, duration_days=5.0).problem()
    with pytest.raises(ScenarioError, match="challenge.cell_line"):
        Experiment(physiology="mouse", challenge=CellChallenge(0.0, 1e5, "venous", "1833-BoT"),
                   duration_days=5.0).problem()


def test_intracardiac_cells_spread_by_cardiac_output_and_venous_cells_stop_in_lung():
    def counts(route):
        exp = Experiment(physiology="mouse", immune_status="immunodeficient", duration_days=3.0,
                         challenge=CellChallenge(0.0, 1e5, route))
        ds = engines.run(exp.problem())
        return {o: float(ds[f"Col_{o}"].values[-1]) for o in biology.ORGANS}

    ven, art = counts("venous"), counts("intracardiac")
    assert max(ven, key=ven.get) == "lung"
    assert art["bone"] > 3 * ven["bone"] and art["lung"] < 0.5 * ven["lung"]


def test_overexpressing_an_absent_cargo_is_a_named_error():
    with pytest.raises(ScenarioError, match="miR-105.*absent"):
        Experiment(injection=Injection("B16-F10", cargo_changes={"miR-105": 10.0}), duration_days=1.0).problem()


def test_colonisation_is_bounded_whatever_the_niche():
    # a fully primed soil (every niche index 100-fold, no NK or T cells) raises per-cell colonisation by a
    # bounded factor: receptivity_max x 1/extravasation_baseline x the killing ceiling, not 100-fold
    prob = Experiment(physiology="mouse", tumour="B16-F10", tumour_initial_g=0.01).problem()
    comp = engines.compile_mechanism(prob.mechanism, prob.params)
    pv = comp.param_vector(prob.params)
    y0 = np.array(comp.initial(pv), dtype=float)
    primed = y0.copy()
    for i, name in enumerate(comp.species):
        if name.split("_")[0] in biology.NICHE_INDICES and name.endswith("_lung"):
            primed[i] = 100.0
        if name in ("NK", "T_spleen"):
            primed[i] = 0.0
    rise = comp.evaluate(primed, pv)["soil_lung"] / comp.evaluate(y0, pv)["soil_lung"]
    p = prob.params
    ceiling = p.value("receptivity_max_fold") / p.value("extravasation_baseline") * (
        1 + p.value("kill_weight_nk") + p.value("kill_weight_tcell"))
    assert 2 < rise <= ceiling * (1 + 1e-9) and ceiling < 20


def test_biodistribution_sums_to_the_dose():
    from exoniche.experiments.readouts import biodistribution

    ds = engines.run(Experiment(injection=Injection("B16-F10", dose_ug=10.0), duration_days=1.0).problem())
    dose = 10.0 * biology.base_parameters("mouse").value("particles_per_ug")
    assert sum(biodistribution(ds, 1.0, dose).values()) == pytest.approx(100.0, rel=1e-4)


def test_bone_marrow_route_educates_progenitors_through_exosomal_met_only():
    # [19]: MET on melanoma exosomes educates marrow progenitors; knocking MET down, or a line without it,
    # leaves the marrow (and the BMDC supply it sets) less educated
    def arm(source, changes):
        inj = Injection(source, times=tuple(range(0, 28, 2)), dose_ug=10.0, cargo_changes=changes)
        ds = engines.run(Experiment(injection=inj, duration_days=28.0).problem())
        return float(ds["Edu_bone"].sel(time=28.0)), float(ds["BMDC_lung"].sel(time=28.0))

    (edu, bmdc), (edu_kd, bmdc_kd) = arm("B16-F10", {}), arm("B16-F10", {"MET": 0.1})
    edu_none, _ = arm("4175-LuT", {})  # no exosomal MET measured for this line
    p = biology.base_parameters("mouse")
    assert 1.0 < edu_kd < edu <= 1.0 + p.value("marrow_education_max_fold")
    assert bmdc_kd < bmdc
    assert edu_none == pytest.approx(1.0, abs=1e-9)


def test_bmdcs_arrest_only_where_fibronectin_is_laid_down():
    # Kaplan 2005 / [72]: VLA-4+ BMDCs stagnate on fibronectin; S100A8/A9 and hypoxia only raise how many
    # are drawn in. So S100 without fibronectin arrests none, and with fibronectin S100 arrests more.
    prob = Experiment(physiology="mouse", tumour="B16-F10", tumour_initial_g=0.01).problem()
    comp = engines.compile_mechanism(prob.mechanism, prob.params)
    pv = comp.param_vector(prob.params)
    y0 = np.array(comp.initial(pv), dtype=float)
    idx = {name: i for i, name in enumerate(comp.species)}

    def bmact(s100, fn):
        y = y0.copy()
        y[idx["S100_liver"]], y[idx["FN_liver"]] = s100, fn
        return comp.evaluate(y, pv)["bmact_liver"]

    assert bmact(10.0, 1.0) == pytest.approx(0.0, abs=1e-12)
    assert 0.0 < bmact(1.0, 3.0) < bmact(10.0, 3.0)
