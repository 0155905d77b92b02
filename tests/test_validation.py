"""Validation targets V1-V21 of DESIGN.md §3, one test per target, named after its id.

Three targets fail under model v2 and are marked as known disagreements (strict xfail: the test fails
the day the model starts to pass them, so the marker has to be looked at again). Why each fails is in
docs/model.md ("Where the model disagrees with the data").
"""

from __future__ import annotations

import pytest

from exoniche.experiments import validation as v

DISAGREES = "model v2 disagrees with this target (docs/model.md, 'Where the model disagrees with the data')"


def _check(fn):
    c = fn()
    assert c.passed, f"{c.id}: measured {c.measured:.4g}, expected {c.expected} ({c.tolerance}); {c.details}"
    return c


def test_V1_kupffer_s100_above_4_fold():
    assert _check(v.v1).measured > 4


def test_V2_fibroblast_s100_about_5_fold():
    assert 3.5 <= _check(v.v2).measured <= 7


def test_V3_itgb4_knockdown_lung_uptake_over_3_fold_lower():
    assert _check(v.v3).measured > 3


@pytest.mark.xfail(strict=True, reason=f"{DISAGREES}: with PBPK clearance the liver's integrin-free Kupffer "
                   "uptake takes most of any dose, so a 90 % ITGβ5 knockdown cannot cut the liver's share 5-fold")
def test_V4_itgb5_knockdown_liver_uptake_about_7_fold_lower():
    assert 5 <= _check(v.v4).measured <= 9.5


def test_V5_itgb4_overexpression_raises_lung_uptake():
    assert _check(v.v5).measured > 1.5


def test_V6_tropic_exosomes_taken_up_by_target_cells():
    c = _check(v.v6)
    assert c.details["lung_fibroblast_share"] > 0.5 and c.details["liver_kupffer_share"] > 0.5


def test_V7_exosomal_pdl1_suppresses_cd8_and_speeds_tumour():
    c = _check(v.v7)
    assert c.details["with_pdl1"]["t_spleen"] < c.details["without_pdl1"]["t_spleen"]


def test_V8_metastatic_melanoma_exosomes_carry_more_pdl1():
    assert _check(v.v8).measured > 1


def test_V9_anti_pd1_cohort_splits_and_responders_have_lower_pdl1():
    c = _check(v.v9)
    assert c.details["median_pre_pdl1_responders"] < c.details["median_pre_pdl1_non_responders"]


def test_V10_b16f10_exosomes_raise_lung_permeability():
    assert _check(v.v10).measured > 1.2


def test_V11_pulmonary_leakage_at_24h():
    assert _check(v.v11).measured > 1.25


def test_V12_mir25_3p_more_leakage_and_metastasis():
    c = _check(v.v12)
    assert c.details["mir25_rich"]["Col_lung"] > c.details["mir25_free"]["Col_lung"]


def test_V13_mif_required_for_liver_niche():
    c = _check(v.v13)
    assert c.details["without_mif"]["tgfb"] < c.details["with_mif"]["tgfb"]


def test_V14_nonmetastatic_exosomes_fewer_metastases():
    assert _check(v.v14).measured < 0.8


def test_V15_hypoxia_more_angiogenesis_and_leakage():
    c = _check(v.v15)
    assert c.details["hypoxic"]["perm_lung"] > c.details["normoxic"]["perm_lung"]


@pytest.mark.xfail(strict=True, reason=f"{DISAGREES}: the lung niche saturates at the exosome output of a "
                   "growing tumour, so 10 % release still builds most of it")
def test_V16_release_block_no_niche_fewer_metastases():
    assert _check(v.v16).measured < 0.5


def test_V17_two_phase_plasma_kinetics():
    c = _check(v.v17)
    assert 3 <= c.details["t_half_alpha_min"] <= 20 and 1 <= c.details["t_half_beta_h"] <= 15
    assert c.kind == "calibration"


def test_V18_macrophage_depletion_slows_plasma_clearance():
    assert _check(v.v18).measured >= 2


def test_V19_bone_first_for_intracardiac_1833_bot_and_lung_first_for_iv_4175_lut():
    c = _check(v.v19)
    bot, lut = c.details["1833_bot_intracardiac"], c.details["4175_lut_iv"]
    assert max(bot, key=bot.get) == "bone" and max(lut, key=lut.get) == "lung"


def test_V20_experimental_metastasis_assay_within_published_range():
    c = _check(v.v20)
    assert 1e-4 <= c.measured <= 4e-4


def test_V21_macrophage_share_of_dose_falls_as_dose_rises():
    c = _check(v.v21)
    assert c.details["mps_pct_dose_1000ug"] < c.details["mps_pct_dose_10ug"]


def test_kinds_and_margins_are_reported_and_most_targets_are_predictions():
    assert set(v.TARGETS) == {f"V{i}" for i in range(1, 22)}
    kinds = {i: ("calibration" if i in v.CALIBRATED_BY else "prediction") for i in v.TARGETS}
    assert list(kinds.values()).count("prediction") >= 12
    d = v.Check("Vx", "d", 3.0, "e", "t", True, {}, low=2.0, high=5.0).to_dict()
    assert d["kind"] == "prediction" and d["accept"]["low"] == 2.0 and d["margin"] == pytest.approx(0.4)
    assert v.Check("Vy", "d", 1.5, "e", "t", False, {}, low=2.0).margin == pytest.approx(-0.25)


def test_robustness_reruns_targets_with_scaled_estimates_and_resumes():
    first = v.robustness(["V3"], ["perm_rate_per_day"], factors=(0.5,))
    assert first["n_runs"] == 1 and first["targets"]["V3"]["fraction_passing"] == 1.0
    # a resumed run reuses the finished perturbation and only runs the new one
    calls = []
    both = v.robustness(["V3"], ["perm_rate_per_day"], factors=(0.5, 2.0),
                        done=[{"parameter": "perm_rate_per_day", "factor": 0.5, "passed": {"V3": False}}],
                        on_result=calls.append)
    assert len(calls) == 1 and calls[0]["factor"] == 2.0
    assert both["targets"]["V3"]["fraction_passing"] == 0.5  # the stored (fake) failure is kept
    with pytest.raises(Exception, match="not an estimated parameter"):
        v.robustness(["V3"], ["colonisation_baseline"])
