"""Validation targets V1-V16 of DESIGN.md §3, one test per target, named after its id."""

from __future__ import annotations

from exoniche.experiments import validation as v


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


def test_V16_release_block_no_niche_fewer_metastases():
    assert _check(v.v16).measured < 0.5
