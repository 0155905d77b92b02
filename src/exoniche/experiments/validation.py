"""Validation targets V1-V21 (DESIGN.md §3) as virtual experiments.

Each function runs the experiment the cited study ran, reads out what it measured, and compares with
the review's direction or number. No check touches a parameter. Each target is either a
``calibration`` (parameters were fitted to it or a preset's cargo was set from the same observation:
``CALIBRATED_BY`` names them) or a ``prediction`` (nothing was fitted to it). The ``margin`` says how
far inside its accepted range the value lies, as a fraction of the nearest bound (negative = outside).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from exoniche import biology
from exoniche.biology import ORGANS
from exoniche.engines import compile_mechanism, run
from exoniche.engines.result import add_expressions
from exoniche.experiments.invitro import culture_s100
from exoniche.experiments.readouts import at, biodistribution, mean_over, target_cell_share, uptake_percent_dose
from exoniche.experiments.setup import CellChallenge, Experiment, Injection, knockdown, modify_cargo

# Targets that something was fitted to, and what: parameters (their provenance names the target) or
# preset cargo set from the same observation. Every other target is a prediction.
CALIBRATED_BY: dict[str, tuple[str, ...]] = {
    "V1": ("src_half_particles_per_cell", "s100_max_fold", "src_nonintegrin_weight"),
    "V2": ("src_half_particles_per_cell", "s100_max_fold", "src_nonintegrin_weight"),
    "V8": ("tumours.yaml: melanoma-primary / melanoma-metastatic PD-L1 cargo, set from the observation of [38]",),
    "V9": ("ctl_kill_per_day (human)", "pd1 blockade occupancy of the trial"),
    "V13": ("mif_half_gp_per_g (moved so that the Kupffer TGF-β rise clears the 30 % threshold)",),
    "V17": ("distribution_extraction", "distribution_volume_ratio"),
    "V19": ("tumours.yaml: organ_compatibility of 1833-BoT / 4175-LuT, set from the selection experiments that "
            "V19 cites (Kang 2003, Minn 2005)",),
    "V20": ("colonisation_baseline (exoniche calibrate, experimental_metastasis dataset)",),
}


@dataclass
class Check:
    """One validation target's outcome: value, accepted range or rule, pass, kind and margin."""

    id: str
    description: str
    measured: float
    expected: str
    tolerance: str
    passed: bool
    details: dict
    low: float | None = None  # accepted range of ``measured`` (None = unbounded on that side)
    high: float | None = None
    kind: str = field(init=False)

    def __post_init__(self):
        """Label the target a calibration when a parameter was fitted or set for it."""
        self.kind = "calibration" if self.id in CALIBRATED_BY else "prediction"

    @property
    def margin(self) -> float | None:
        """How far inside the range ``measured`` lies, as a fraction of the nearest bound."""
        v = float(self.measured)
        if not math.isfinite(v) or (self.low is None and self.high is None):
            return None
        m = []
        if self.low is not None:
            m.append((v - self.low) / abs(self.low) if self.low else v)
        if self.high is not None:
            m.append((self.high - v) / abs(self.high) if self.high else -v)
        return float(min(m))

    def to_dict(self) -> dict:
        """Return the outcome as JSON-ready data (with ``value``, ``accept`` and ``margin``)."""
        d = asdict(self)
        d["passed"] = bool(d["passed"])
        d.pop("low"), d.pop("high")
        d["value"] = float(self.measured)
        d["accept"] = {"low": self.low, "high": self.high, "rule": self.tolerance}
        d["margin"] = self.margin
        d["calibrated_by"] = list(CALIBRATED_BY.get(self.id, ()))
        return d


KD = knockdown()
DOSE_UG = 10.0  # exosome dose per injection in the mouse experiments of [25] (10 ug)


def _dose_gp() -> float:
    return DOSE_UG * biology.base_parameters("mouse").value("particles_per_ug")


def _inject(source, changes=None, times=(0.0,), days=1.0, **kw):
    exp = Experiment(injection=Injection(source, times=times, dose_ug=DOSE_UG, cargo_changes=changes or {}),
                     duration_days=days, output_times=np.linspace(0, days, int(days * 4) + 1), **kw)
    return run(exp.problem())


def v1() -> Check:
    """Run target V1: Kupffer cells + BxPC-3-LiT vs ITGβ5-KD exosomes: S100A8/S100P fold."""
    wt = culture_s100("liver", biology.tumour_preset("BxPC-3-LiT").cargo, "BxPC-3-LiT")
    kd = culture_s100("liver", modify_cargo(biology.tumour_preset("BxPC-3-LiT").cargo, {"ITGβ5": KD}, "kd"), "KD")
    ratio = wt / kd
    return Check("V1", "Kupffer cells + BxPC-3-LiT vs ITGβ5-KD exosomes: S100A8/S100P fold", ratio, "> 4-fold [25]",
                 "ratio > 4", ratio > 4, {"s100_wt": wt, "s100_kd": kd}, low=4.0)


def v2() -> Check:
    """Run target V2: WI-38 fibroblasts + 4175-LuT vs ITGβ4-KD exosomes: S100A4/A6/A10/A11/A13/A16 fold."""
    wt = culture_s100("lung", biology.tumour_preset("4175-LuT").cargo, "4175-LuT")
    kd = culture_s100("lung", modify_cargo(biology.tumour_preset("4175-LuT").cargo, {"ITGβ4": KD}, "kd"), "KD")
    ratio = wt / kd
    return Check("V2", "WI-38 fibroblasts + 4175-LuT vs ITGβ4-KD exosomes: S100A4/A6/A10/A11/A13/A16 fold", ratio,
                 "about 5-fold [25]", "3.5 <= ratio <= 7", 3.5 <= ratio <= 7.0, {"s100_wt": wt, "s100_kd": kd},
                 low=3.5, high=7.0)


def _uptake_ratio(source, component, organ):
    wt = uptake_percent_dose(_inject(source), organ, 1.0, _dose_gp())
    kd = uptake_percent_dose(_inject(source, {component: KD}), organ, 1.0, _dose_gp())
    return wt, kd


def v3() -> Check:
    """Run target V3: 4175-LuT vs ITGβ4-KD exosomes injected: lung uptake at 24 h."""
    wt, kd = _uptake_ratio("4175-LuT", "ITGβ4", "lung")
    return Check("V3", "4175-LuT vs ITGβ4-KD exosomes injected: lung uptake at 24 h", wt / kd, "> 3-fold lower [25]",
                 "ratio > 3", wt / kd > 3, {"lung_pct_dose_wt": wt, "lung_pct_dose_kd": kd}, low=3.0)


def v4() -> Check:
    """Run target V4: BxPC-3-LiT vs ITGβ5-KD exosomes injected: liver uptake at 24 h."""
    wt, kd = _uptake_ratio("BxPC-3-LiT", "ITGβ5", "liver")
    r = wt / kd
    return Check("V4", "BxPC-3-LiT vs ITGβ5-KD exosomes injected: liver uptake at 24 h", r, "about 7-fold lower [25]",
                 "5 <= ratio <= 9.5", 5 <= r <= 9.5, {"liver_pct_dose_wt": wt, "liver_pct_dose_kd": kd},
                 low=5.0, high=9.5)


def v5() -> Check:
    """Run target V5: 1833-BoT exosomes with ITGβ4 overexpressed (10x): lung uptake."""
    base = uptake_percent_dose(_inject("1833-BoT"), "lung", 1.0, _dose_gp())
    oe = uptake_percent_dose(_inject("1833-BoT", {"ITGβ4": 10.0}), "lung", 1.0, _dose_gp())
    return Check("V5", "1833-BoT exosomes with ITGβ4 overexpressed (10x): lung uptake", oe / base, "rises [25]",
                 "ratio > 1.5", oe / base > 1.5, {"lung_pct_dose": base, "lung_pct_dose_itgb4_oe": oe},
                 low=1.5)


def v6() -> Check:
    """Run target V6: lung-/liver-tropic exosomes: share taken up by S100A4+ fibroblasts / Kupffer cells."""
    lung = target_cell_share(_inject("4175-LuT"), "lung", 1.0)
    liver = target_cell_share(_inject("BxPC-3-LiT"), "liver", 1.0)
    return Check("V6", "lung-/liver-tropic exosomes: share taken up by S100A4+ fibroblasts / Kupffer cells",
                 min(lung, liver), "mainly (> 50 %) by those cells [25]", "both shares > 0.5",
                 lung > 0.5 and liver > 0.5, {"lung_fibroblast_share": lung, "liver_kupffer_share": liver}, low=0.5)


def v7() -> Check:
    """Run target V7: exosomal PD-L1 present vs absent (PD-L1-KO B16-F10 + exosomes)."""
    # As in [38]: PD-L1-knockout tumours, with exosomes that carry PD-L1 or not, injected every 2 days.
    def arm(pdl1_factor):
        exp = Experiment(tumour="B16-F10", tumour_initial_g=0.01, tumour_cargo_changes={"PD-L1": 0.0},
                         injection=Injection("B16-F10", times=tuple(range(0, 20, 2)), dose_ug=DOSE_UG,
                                             cargo_changes={"PD-L1": pdl1_factor}),
                         duration_days=20.0)
        prob = exp.problem()
        ds = add_expressions(run(prob), compile_mechanism(prob.mechanism, prob.params), prob.params,
                             ["tcell_prolif_spleen"])
        return {"tumour_g": at(ds, "N", 20.0), "t_spleen": at(ds, "T_spleen", 20.0), "t_ln": at(ds, "T_ln", 20.0),
                "cd8_prolif_per_day": mean_over(ds, "tcell_prolif_spleen", 0.0, 20.0)}

    with_, without = arm(1.0), arm(0.0)
    ok = (with_["cd8_prolif_per_day"] < without["cd8_prolif_per_day"] and with_["tumour_g"] > without["tumour_g"]
          and with_["t_spleen"] < without["t_spleen"] and with_["t_ln"] < without["t_ln"])
    return Check("V7", "exosomal PD-L1 present vs absent (PD-L1-KO B16-F10 + exosomes)",
                 with_["tumour_g"] / without["tumour_g"],
                 "CD8+ proliferation falls, tumour grows faster, fewer T cells in spleen and lymph node [38]",
                 "all four directions", ok, {"with_pdl1": with_, "without_pdl1": without}, low=1.0)


def v8() -> Check:
    """Run target V8: exosomes of metastatic vs primary melanoma: plasma exosomal PD-L1."""
    def level(preset):
        exp = Experiment(physiology="human", tumour=preset, tumour_initial_g=5.0, duration_days=30.0)
        ds = run(exp.problem())
        pv = exp.parameters().numbers()
        return at(ds, "E_tum", 30.0) * pv["cargo_tum_pdl1"] * at(ds, "PDL1_ifn", 30.0) / pv["plasma_volume_ml"]

    met, prim = level("melanoma-metastatic"), level("melanoma-primary")
    return Check("V8", "exosomes of metastatic vs primary melanoma: plasma exosomal PD-L1", met / prim,
                 "higher in metastatic [38]", "ratio > 1", met > prim,
                 {"metastatic_gp_per_ml": met, "primary_gp_per_ml": prim}, low=1.0)


def v9(n: int = 44, seed: int = 38) -> Check:
    """Run target V9: the anti-PD-1 virtual trial of 44 patients and their pre-treatment exosomal PD-L1."""
    from exoniche.experiments.trial import anti_pd1_trial

    res = anti_pd1_trial(n, seed)
    resp = res["pre_pdl1"][res["responder"]]
    non = res["pre_pdl1"][~res["responder"]]
    k = int(res["responder"].sum())
    ok = 0.25 * n <= k <= 0.75 * n and np.median(resp) < np.median(non)
    return Check("V9", f"anti-PD-1 virtual cohort of {n}: pre-treatment exosomal PD-L1 by response", float(k),
                 "21 of 44 respond; pre-treatment exosomal PD-L1 lower in responders [38]",
                 "11..33 responders and median lower in responders", bool(ok),
                 low=0.25 * n, high=0.75 * n, details={"responders": k, "non_responders": n - k,
                  "median_pre_pdl1_responders": float(np.median(resp)) if k else None,
                  "median_pre_pdl1_non_responders": float(np.median(non)) if k < n else None})


def v10() -> Check:
    """Run target V10: B16-F10 vs non-metastatic-line exosomes: lung permeability at 24 h."""
    b16 = at(_inject("B16-F10"), "Perm_lung", 1.0)
    non = at(_inject("nonmetastatic"), "Perm_lung", 1.0)
    return Check("V10", "B16-F10 vs non-metastatic-line exosomes: lung permeability at 24 h", b16 / non,
                 "higher with B16-F10 [19]", "ratio > 1.2", b16 / non > 1.2, {"perm_b16f10": b16, "perm_nonmet": non},
                 low=1.2)


def v11() -> Check:
    """Run target V11: 4175-LuT or 1833-BoT exosomes: pulmonary leakage at 24 h vs untreated (1.0)."""
    luT = at(_inject("4175-LuT"), "Perm_lung", 1.0)
    boT = at(_inject("1833-BoT"), "Perm_lung", 1.0)
    return Check("V11", "4175-LuT or 1833-BoT exosomes: pulmonary leakage at 24 h vs untreated (1.0)",
                 min(luT, boT), "leakage at 24 h [25]", "both > 1.25-fold", min(luT, boT) > 1.25,
                 {"perm_4175_lut": luT, "perm_1833_bot": boT}, low=1.25)


def v12() -> Check:
    """Run target V12: CRC tumours with miR-25-3p-rich vs miR-25-3p-free exosomes (28 days)."""
    def arm(factor):
        # human CRC cells grow in immunodeficient mice in [58]
        exp = Experiment(tumour="CRC-miR25", tumour_initial_g=0.05, tumour_cargo_changes={"miR-25-3p": factor},
                         immune_status="immunodeficient", duration_days=28.0)
        ds = run(exp.problem())
        return {k: at(ds, k, 28.0) for k in ("Perm_liver", "Perm_lung", "Col_liver", "Col_lung")}

    rich, poor = arm(1.0), arm(0.0)
    ok = all(rich[k] > poor[k] for k in rich)
    return Check("V12", "CRC tumours with miR-25-3p-rich vs miR-25-3p-free exosomes (28 days)",
                 rich["Col_liver"] / poor["Col_liver"], "more leakage and liver/lung metastasis [58]",
                 "all four higher", ok, {"mir25_rich": rich, "mir25_free": poor}, low=1.0)


def v13() -> Check:
    """Run target V13: pancreatic (BxPC-3-LiT) exosome education with vs without MIF, then portal challenge."""
    def arm(injection_changes):
        inj = None if injection_changes is None else Injection(
            "BxPC-3-LiT", times=tuple(range(0, 21, 2)), dose_ug=DOSE_UG, cargo_changes=injection_changes)
        exp = Experiment(injection=inj, challenge=CellChallenge(21.0, 1e5, "portal"), duration_days=35.0)
        ds = run(exp.problem())
        return {"tgfb": at(ds, "TGFb_liver", 21.0), "fn": at(ds, "FN_liver", 21.0), "bmdc": at(ds, "BMDC_liver", 21.0),
                "liver_metastases": at(ds, "Col_liver", 35.0)}

    mif, no_mif, pbs = arm({}), arm({"MIF": 0.0}), arm(None)
    rise = {k: mif[k] - pbs[k] for k in mif}
    rise_no = {k: no_mif[k] - pbs[k] for k in mif}
    ok = all(rise[k] > 0.3 * abs(pbs[k]) for k in ("tgfb", "fn", "bmdc")) and all(
        rise_no[k] < 0.25 * rise[k] for k in rise)
    return Check("V13", "pancreatic (BxPC-3-LiT) exosome education with vs without MIF, then portal challenge",
                 mif["liver_metastases"] / no_mif["liver_metastases"],
                 "Kupffer TGF-β, stellate FN, BMDC arrest and liver metastasis only with MIF [72]",
                 "with MIF each rises > 30 % over PBS; without MIF < 25 % of that rise", ok,
                 {"with_mif": mif, "without_mif": no_mif, "pbs": pbs})  # composite rule: no single range


def v14() -> Check:
    """Run target V14: education with non-metastatic exosomes, then B16-F10-like IV challenge: lung metastases."""
    def arm(source):
        inj = None if source is None else Injection(source, times=tuple(range(0, 21, 2)), dose_ug=DOSE_UG)
        exp = Experiment(injection=inj, challenge=CellChallenge(21.0, 1e5, "venous"), duration_days=35.0)
        ds = run(exp.problem())
        return at(ds, "Col_lung", 35.0)

    non, pbs = arm("nonmetastatic"), arm(None)
    return Check("V14", "education with non-metastatic exosomes, then B16-F10-like IV challenge: lung metastases",
                 non / pbs, "fewer metastases [49]", "ratio < 0.8", non / pbs < 0.8,
                 {"lung_metastases_nonmet_exo": non, "lung_metastases_pbs": pbs}, high=0.8)


def v15() -> Check:
    """Run target V15: hypoxic (90 % hypoxic fraction) vs normoxic B16-F10 tumour (day 5): lung angiogenesis."""
    def arm(h):
        # small tumours, read at day 5, before the lung's leak/angiogenesis responses saturate
        exp = Experiment(tumour="B16-F10", tumour_initial_g=0.01, hypoxia_extra=h, duration_days=5.0)
        ds = run(exp.problem())
        return {"ang_lung": at(ds, "Ang_lung", 5.0), "perm_lung": at(ds, "Perm_lung", 5.0),
                "tumour_g": at(ds, "N", 5.0)}

    hyp, norm = arm(0.9), arm(0.0)
    ok = hyp["ang_lung"] > 1.1 * norm["ang_lung"] and hyp["perm_lung"] > 1.1 * norm["perm_lung"]
    return Check("V15", "hypoxic (90 % hypoxic fraction) vs normoxic B16-F10 tumour (day 5): lung angiogenesis "
                 "and leakage", hyp["ang_lung"] / norm["ang_lung"], "more angiogenesis and leakage [50, 51]",
                 "both > 1.1-fold higher", ok, {"hypoxic": hyp, "normoxic": norm}, low=1.1)


def v16() -> Check:
    """Run target V16: exosome release blocked (Rab27a knockdown, 10 % release) in 4175-LuT-bearing mice."""
    def arm(release):
        # 4175-LuT is a human line: immunodeficient mice, as in [25]
        exp = Experiment(tumour="4175-LuT", tumour_initial_g=0.05, release_factor=release,
                         immune_status="immunodeficient", duration_days=28.0)
        ds = run(exp.problem())
        return {k: at(ds, k, 28.0) for k in ("S100_lung", "FN_lung", "BMDC_lung", "Perm_lung", "Col_lung")}

    ctrl, blocked = arm(1.0), arm(0.1)
    niche_ok = all(blocked[k] - 1 < 0.5 * (ctrl[k] - 1) for k in ("S100_lung", "FN_lung", "BMDC_lung", "Perm_lung"))
    ok = niche_ok and blocked["Col_lung"] < 0.5 * ctrl["Col_lung"]
    return Check("V16", "exosome release blocked (Rab27a knockdown, 10 % release) in 4175-LuT-bearing mice",
                 blocked["Col_lung"] / ctrl["Col_lung"], "niche does not form; fewer metastases",
                 "each niche index rises < 50 % of control's rise; lung metastases < 50 % of control", ok,
                 {"control": ctrl, "release_blocked": blocked}, high=0.5)


def _plasma(depletion: float = 0.0, dose_ug: float = DOSE_UG, days: float = 1.0):
    """Plasma (and whole-body) course of one IV dose of B16-F10 exosomes in a mouse, minute resolution."""
    changes = {"macrophage_depletion": depletion * _default_depletion()} if depletion else {}
    return _plasma_with(changes, dose_ug, days)


def _plasma_with(changes, dose_ug: float = DOSE_UG, days: float = 1.0):
    exp = Experiment(injection=Injection("B16-F10", dose_ug=dose_ug), duration_days=days,
                     output_times=np.linspace(0.0, days, int(days * 1440) + 1), parameter_changes=changes)
    return run(exp.problem())


def plasma_half_lives(ds) -> tuple[float, float]:
    """Return the initial (alpha, min) and terminal (beta, h) half-lives of plasma injected exosomes.

    As a two-phase fit reads them: alpha from the log-slope over the first 10 min, beta from the
    log-slope between 6 h and 24 h.
    """
    t_min = ds["time"].values * 1440.0
    e = ds["E_inj"].values

    def slope(t0, t1):
        i, j = np.searchsorted(t_min, [t0, t1])
        return (math.log(e[i]) - math.log(e[j])) / (t_min[j] - t_min[i])

    return math.log(2) / slope(0.0, 10.0), math.log(2) / slope(360.0, 1440.0) / 60.0


def v17() -> Check:
    """Run target V17: IV B16-F10 exosomes in mice: two-phase plasma kinetics."""
    alpha, beta = plasma_half_lives(_plasma())
    ok = 3 <= alpha <= 20 and 1 <= beta <= 15
    margin_alpha = min(alpha / 3 - 1, 1 - alpha / 20)
    margin_beta = min(beta / 1 - 1, 1 - beta / 15)
    return Check("V17", "IV B16-F10 exosomes in mice: two-phase plasma kinetics", alpha,
                 "t1/2 alpha 3-20 min and t1/2 beta 1-15 h (Kim 2019 Pharmaceutics 11:649 Table 1)",
                 "3 <= alpha_min <= 20 and 1 <= beta_h <= 15", ok,
                 {"t_half_alpha_min": alpha, "t_half_beta_h": beta, "margin_alpha": margin_alpha,
                  "margin_beta": margin_beta}, low=3.0, high=20.0)


def v18() -> Check:
    """Run target V18: clodronate-liposome macrophage depletion: plasma AUC (0-24 h) of IV exosomes."""
    ctrl, dep = _plasma(), _plasma(depletion=1.0)
    t = ctrl["time"].values
    auc_c, auc_d = (float(np.trapezoid(d["E_inj"].values, t)) for d in (ctrl, dep))
    r = auc_d / auc_c
    return Check("V18", "clodronate-liposome macrophage depletion: plasma AUC (0-24 h) of IV exosomes", r,
                 "clearance slower, AUC >= 2-fold (Imai 2015 JEV 4:26238)", "ratio >= 2", r >= 2,
                 {"auc_control_gp_day": auc_c, "auc_depleted_gp_day": auc_d,
                  "macrophage_depletion": _default_depletion()}, low=2.0)


def _default_depletion() -> float:
    from exoniche.experiments.interventions import default_effect

    return default_effect("clodronate")


def _mps_percent(dose_ug: float) -> float:
    ds = _plasma(dose_ug=dose_ug)
    dose = dose_ug * biology.base_parameters("mouse").value("particles_per_ug")
    kupffer = 100.0 * at(ds, "B_inj_liver_target", 1.0) / dose
    return kupffer + biodistribution(ds, 1.0, dose)["spleen"] + 100.0 * at(ds, "B_inj_bone_stroma", 1.0) / dose


def v21() -> Check:
    """Run target V21: IV exosome dose 10 vs 1000 ug: % of dose in macrophages (Kupffer, spleen, marrow) at 24 h."""
    low, high = _mps_percent(DOSE_UG), _mps_percent(100 * DOSE_UG)
    return Check("V21", "IV exosome dose 10 vs 1000 ug: % of dose in macrophages (Kupffer, spleen, marrow) at 24 h",
                 high / low, "the MPS share falls as the dose rises (saturation)", "ratio < 1 (falls)", high < low,
                 {"mps_pct_dose_10ug": low, "mps_pct_dose_1000ug": high}, high=1.0)


def _site_counts(line: str, route: str, days: float = 21.0) -> dict[str, float]:
    # human sublines in immunodeficient (nude) mice, as in Kang 2003 and Minn 2005
    exp = Experiment(physiology="mouse", immune_status="immunodeficient", duration_days=days,
                     challenge=CellChallenge(0.0, 1e5, route, line))
    ds = run(exp.problem())
    return {o: at(ds, f"Col_{o}", days) for o in ORGANS}


def v19() -> Check:
    """Run target V19: intracardiac 1833-BoT / IV 4175-LuT cells (nude mice, day 21): commonest metastatic site."""
    bot, lut = _site_counts("1833-BoT", "intracardiac"), _site_counts("4175-LuT", "venous")

    def lead(counts, organ):  # the named organ's count over the next most common site's
        return counts[organ] / max(v for o, v in counts.items() if o != organ)

    r_bot, r_lut = lead(bot, "bone"), lead(lut, "lung")
    ok = max(bot, key=bot.get) == "bone" and max(lut, key=lut.get) == "lung"
    return Check("V19", "intracardiac 1833-BoT / IV 4175-LuT cells (nude mice, day 21): commonest metastatic site",
                 min(r_bot, r_lut), "bone / lung first (Kang 2003 Cancer Cell 3:537; Minn 2005 Nature 436:518)",
                 "bone leads for 1833-BoT and lung leads for 4175-LuT (lead ratio > 1)", ok,
                 {"1833_bot_intracardiac": bot, "4175_lut_iv": lut, "bone_lead": r_bot, "lung_lead": r_lut},
                 low=1.0)


def v20() -> Check:
    """Run target V20: experimental-metastasis assay: intraportal B16-F1 cells, liver metastases per cell at day 13."""
    from exoniche.experiments.model_calibration import dataset, experimental_metastasis_assay

    row = dataset("experimental_metastasis").iloc[0]
    value = experimental_metastasis_assay()
    ok = row["low"] <= value <= row["high"]
    return Check("V20", "experimental-metastasis assay: intraportal B16-F1 cells, liver metastases per cell at day 13",
                 value, f"{row['value']:.2g} per cell, accepted {row['low']:.2g}-{row['high']:.2g} (Luzzi 1998 "
                 "Am J Pathol 153:865)", f"{row['low']:.2g} <= value <= {row['high']:.2g}", bool(ok),
                 {"published": float(row["value"])}, low=float(row["low"]), high=float(row["high"]))


TARGETS: dict[str, Callable[[], Check]] = {f"V{i}": f for i, f in enumerate(
    [v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16], start=1)}
TARGETS.update({"V17": v17, "V18": v18, "V19": v19, "V20": v20, "V21": v21})


def validate(ids=None, progress=None) -> list[Check]:
    """Run the chosen (default: all) validation targets."""
    from exoniche.errors import ScenarioError, suggest

    ids = list(ids or TARGETS)
    for i in ids:
        if i not in TARGETS:
            raise ScenarioError(f"validation id: unknown value {i!r}{suggest(i, TARGETS)}; "
                               f"allowed: {', '.join(TARGETS)}")
    out = []
    for k, i in enumerate(ids):
        out.append(TARGETS[i]())
        if progress:
            progress(k + 1, len(ids), i)
    return out


def estimated_parameters() -> list[str]:
    """Return the model parameters whose provenance is ``estimated`` (the ones robustness re-runs vary)."""
    return [n for n, p in biology.base_parameters("mouse").items() if p.kind == "estimated"]


def _robustness_task(task: tuple[str, float, tuple[str, ...]]) -> dict:
    name, factor, ids = task
    with biology.scaled_parameters({name: factor}):
        out = {}
        for i in ids:
            try:
                out[i] = bool(TARGETS[i]().passed)
            except Exception as exc:  # a perturbed model that cannot run fails that target, reported as such
                out[i] = False
                out[f"{i}_error"] = f"{type(exc).__name__}: {exc}"[:200]
    return {"parameter": name, "factor": factor, "passed": out}


def robustness(ids=None, params=None, factors=(0.5, 2.0), workers: int = 1, done: list[dict] | None = None,
               on_result=None) -> dict:
    """Rerun the targets with each estimated parameter scaled by each factor, one at a time.

    Returns per target the fraction of perturbed runs in which it still passes, and ``robust_fraction``
    over all (target, run) pairs. ``done`` holds results of an earlier, interrupted call (resume);
    ``on_result(result)`` is called as each perturbation finishes (to store it).
    """
    from concurrent.futures import ProcessPoolExecutor

    from exoniche.errors import ScenarioError, suggest

    ids = tuple(ids or TARGETS)
    for i in ids:
        if i not in TARGETS:
            raise ScenarioError(f"validation id: unknown value {i!r}{suggest(i, TARGETS)}")
    names = list(params or estimated_parameters())
    allowed = set(estimated_parameters())
    for n in names:
        if n not in allowed:
            raise ScenarioError(f"robustness parameter {n!r}: not an estimated parameter{suggest(n, allowed)}")
    results = [r for r in (done or []) if r["parameter"] in names and r["factor"] in factors]
    finished = {(r["parameter"], r["factor"]) for r in results}
    tasks = [(n, f, ids) for n in names for f in factors if (n, f) not in finished]
    if workers > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(workers) as pool:
            for r in pool.map(_robustness_task, tasks):
                results.append(r)
                if on_result:
                    on_result(r)
    else:
        for t in tasks:
            r = _robustness_task(t)
            results.append(r)
            if on_result:
                on_result(r)
    per_target = {}
    for i in ids:
        runs = [r["passed"][i] for r in results if i in r["passed"]]
        per_target[i] = {"runs": len(runs), "fraction_passing": sum(runs) / len(runs) if runs else None,
                         "failing_under": [f"{r['parameter']} x{r['factor']:g}" for r in results
                                           if not r["passed"].get(i, True)]}
    pairs = [r["passed"][i] for r in results for i in ids if i in r["passed"]]
    return {"parameters": names, "factors": list(factors), "n_runs": len(results),
            "targets": per_target, "robust_fraction": sum(pairs) / len(pairs) if pairs else None}
