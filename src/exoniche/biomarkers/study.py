"""Open question 4 as a study: how reliable exosomal biomarkers are for judging metastasis.

A virtual cohort (tumour presets mixed, tumour mass, cargo and colonisation potential varying between patients,
virtual blood draws every 28 days; ``docs/cohorts.md``) is simulated once with the assay model's within-person
variation but **no analytical error**; the analytical error of each CV level (0-50 %) is then applied to the
same draws with the assay model's own log-normal form (values under the detection limit reported as LOD/2), so
the CV levels differ only in assay noise. Read-outs:

* AUC (DeLong 95 % CI) of each marker's baseline level (with the assay table's analytical CV) for
  metastasis (a detectable metastasis within a year), and of the best logistic panel (repeated stratified
  CV, out-of-fold AUC with DeLong CI);
* the multi-class AUC of the metastatic site from the exosomal integrins (ITGβ4, ITGαv) and MIF
  (:mod:`exoniche.biomarkers.organotropism`);
* how each marker's AUC changes as the analytical CV rises, and as the blood draw moves later (day 0 ... 168);
* the number of cases (one control per case, and the cohort's control:case ratio) a validation study needs
  for a 95 % CI of the AUC of a given half-width, from Obuchowski's variance (as pROC's ``power.roc.test``),
  and for 90 % power against AUC 0.5.

The only code that knows the whole-body model's names is :func:`_simulate` (scenario) and the marker list.
Therapy response: a second cohort gets anti-PD-1 from day 28; each marker's pre-treatment level and its
4-week fold change are scored against the cohort engine's RECIST response of the primary.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from exoniche.biomarkers._roc import roc
from exoniche.biomarkers.organotropism import dominant_site, organotropism
from exoniche.biomarkers.panel import panels
from exoniche.biomarkers.roc_extra import obuchowski_var, power_roc_test
from exoniche.experiments.studies.common import StudyResult

QUESTION = ("How reliable are exosomes (and their cargo) for judging metastasis: how well does each marker, and "
            "the best combination, predict metastasis and its site, how much do assay noise and late sampling "
            "cost, and how large must a validation study be?")
PATIENTS = 600
SEED = 2019
DAYS = 365.0
CVS = (0.0, 0.1, 0.2, 0.3, 0.5)
DRAW_DAYS = (0.0, 56.0, 112.0, 168.0)
HALF_WIDTHS = (0.025, 0.05, 0.075, 0.1)
MARKERS = ("pdl1", "itgb4", "itgav", "mif", "mir21", "mir105", "mir25", "exo_per_ml", "ctc_per_7_5ml")
SITE_MARKERS = ("itgb4", "itgav", "mif")
THERAPY_DAY, THERAPY_DAYS = 28.0, 168.0
NOISE_REPLICATES = 20  # analytical-noise draws averaged per CV level


# --------------------------------------------------------------------------------------------- coupling
def _simulate(patients: int, seed: int, therapy: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the virtual cohort: (long measurements without analytical error, outcomes). Model names live here.

    ``therapy``: anti-PD-1 from day ``THERAPY_DAY`` for ``THERAPY_DAYS`` days, draws at 0, the start and 4 weeks
    on (the cohort engine's ``responder`` = RECIST partial response of the primary).
    """
    from exoniche.experiments.cohort import parse_cohort
    from exoniche.experiments.interventions import Intervention
    from exoniche.experiments.setup import Experiment
    from exoniche.observe import CohortJob, parse_observe
    from exoniche.observe.virtual import simulate_chunk

    if therapy:
        exp = Experiment(physiology="human", tumour="4175-LuT", tumour_initial_g=1.0, duration_days=THERAPY_DAYS,
                         interventions=[Intervention("anti_pd1", start_day=THERAPY_DAY)])  # fmt: skip
    else:
        exp = Experiment(physiology="human", tumour="4175-LuT", tumour_initial_g=1.0, duration_days=DAYS)
    raw = {
        "size": patients, "seed": seed,
        "tumours": {"4175-LuT": 0.5, "B16-F10": 0.3, "BxPC-3-LiT": 0.2},
        "parameters": {
            "tumour_initial_g": {"cv": 2.0},
            "cargo_tum_pdl1": {"cv": 0.5},
            "colonisation_potential": {"cv": 1.0},
            "extraction_target_liver": {"distribution": "uniform", "low": 0.02, "high": 0.05},
        },
        "correlations": [{"parameters": ["tumour_initial_g", "cargo_tum_pdl1"], "rho": 0.3}],
        "observe": {"every_days": 28, "markers": list(MARKERS), "analytical_cv": dict.fromkeys(MARKERS, 0.0)},
    }  # fmt: skip
    if therapy:
        raw["observe"] = {"times_days": [0.0, THERAPY_DAY, THERAPY_DAY + 28.0], "markers": list(MARKERS)}
    cohort = parse_cohort(raw, "<study biomarkers>", default_seed=seed, parameter_names=set(exp.parameters()))
    job = CohortJob(exp, cohort, parse_observe(cohort.observe, "<study biomarkers>"))
    return simulate_chunk(job, 0, patients)


def _with_analytical_cv(values: np.ndarray, marker: str, cv: float, rng: np.random.Generator) -> np.ndarray:
    """Apply the assay model's analytical error (log-normal, CV ``cv``) to CV-0 draws; LOD/2 below the LOD."""
    from exoniche.observe import assay_catalogue

    if cv == 0 or marker == "ctc_per_7_5ml":  # CTC counts carry counting (Poisson) noise, not an assay CV
        return values
    a = assay_catalogue()[marker]
    sa = math.sqrt(math.log1p(cv**2))
    v = values * np.exp(sa * rng.standard_normal(values.size))
    return np.where(v < a.lod, a.lod / 2, v)


# --------------------------------------------------------------------------------------------- study
def run(workers=None, progress=None, patients: int = PATIENTS, seed: int = SEED) -> StudyResult:  # noqa: ARG001  every study's run() takes workers; this one runs in one process
    """Run the biomarker study: virtual cohort, per-marker ROC and the therapy-monitoring arm."""
    meas, out = _simulate(patients, seed)
    if progress:
        progress(0.5, 1.0)
    out = out.set_index("patient").sort_index()
    y = out["metastasis"].to_numpy(dtype=bool)
    wide = {d: meas[meas["time"] == d].pivot(index="patient", columns="marker", values="value").loc[out.index]
            for d in DRAW_DAYS}  # fmt: skip
    from exoniche.observe import assay_catalogue

    rng = np.random.default_rng(seed + 1)
    # the assay table's own analytical CV on every draw: what a lab would report
    lab = {d: pd.DataFrame({m: _with_analytical_cv(w[m].to_numpy(), m, assay_catalogue()[m].analytical_cv, rng)
                            for m in MARKERS}, index=w.index) for d, w in wide.items()}  # fmt: skip
    base = lab[DRAW_DAYS[0]]
    rows, curves = [], {"cv": {}, "day": {}}
    for m in MARKERS:
        r0 = roc(y, base[m].to_numpy(), name=m)
        x0 = wide[DRAW_DAYS[0]][m].to_numpy()
        by_cv = [float(np.mean([roc(y, _with_analytical_cv(x0, m, cv, rng), direction=r0.direction).auc
                                for _ in range(NOISE_REPLICATES)])) for cv in CVS]  # fmt: skip
        by_day = [roc(y, lab[d][m].to_numpy(), direction=r0.direction).auc for d in DRAW_DAYS]
        curves["cv"][m], curves["day"][m] = by_cv, by_day
        row = {"marker": m, "direction": r0.direction, "AUC metastasis": r0.auc, "CI low": r0.ci[0],
               "CI high": r0.ci[1]}  # fmt: skip
        row |= {f"AUC at CV {int(cv * 100)} %": a for cv, a in zip(CVS, by_cv, strict=True)}
        row |= {f"AUC draw day {int(d)}": a for d, a in zip(DRAW_DAYS, by_day, strict=True)}
        rows.append(row)
    # therapy response: anti-PD-1 from day 28; pre-treatment level and 4-week fold change per marker
    tmeas, tout = _simulate(patients, seed + 7, therapy=True)
    tout = tout.set_index("patient").sort_index()
    ry = tout["responder"].to_numpy(dtype=bool)
    tw = {d: tmeas[tmeas["time"] == d].pivot(index="patient", columns="marker", values="value").loc[tout.index]
          for d in (THERAPY_DAY, THERAPY_DAY + 28.0)}  # fmt: skip
    for row in rows:
        m = row["marker"]
        pre, on = tw[THERAPY_DAY][m].to_numpy(), tw[THERAPY_DAY + 28.0][m].to_numpy()
        row["AUC response (pre-treatment)"] = roc(ry, pre).auc
        row["AUC response (4-week fold change)"] = roc(ry, on / pre).auc
    table = pd.DataFrame(rows).sort_values("AUC metastasis", ascending=False, kind="stable").reset_index(drop=True)
    # best panel: logistic combinations of log10 markers, 5x repeated 5-fold CV
    logs = np.log10(base[list(MARKERS)].clip(lower=1e-30))
    pan = panels(y, logs, max_size=3, folds=5, repeats=2, seed=seed)
    best = pan.best
    # site of metastasis from the integrins (sites with >= 10 patients)
    site = dominant_site(out)
    ok = site.notna().to_numpy()
    counts = site[ok].value_counts()
    keep = ok & site.isin(counts[counts >= 10].index).to_numpy()
    org = organotropism(site[keep].to_numpy(), base.loc[keep, list(SITE_MARKERS)], folds=5, seed=seed)
    # validation study size for the best single marker
    top = table.iloc[0]
    kappa = float((~y).sum() / max(y.sum(), 1))
    z = 1.959963984540054
    size_rows = []
    for k_name, k in (("1:1", 1.0), (f"cohort {kappa:.2f}:1", kappa)):
        v = obuchowski_var(float(top["AUC metastasis"]), k)
        for w in HALF_WIDTHS:
            n = z * z * v / (w * w)
            size_rows.append({"controls per case": k_name, "CI half-width": w, "cases": math.ceil(n),
                              "controls": math.ceil(k * n)})  # fmt: skip
    power = power_roc_test(auc=float(top["AUC metastasis"]), power=0.9, kappa=1.0)
    rcols = ["AUC response (pre-treatment)", "AUC response (4-week fold change)"]
    ri, rj = np.unravel_index(int(np.argmax(table[rcols].to_numpy())), (len(table), 2))
    resp, resp_kind = table.iloc[int(ri)], ("pre-treatment level", "4-week fold change")[int(rj)]
    pdl1_row = table.set_index("marker").loc["pdl1"]
    extra = {
        "n_patients": int(y.size), "n_metastasis": int(y.sum()),
        "therapy": {"n_patients": int(ry.size), "n_responders": int(ry.sum()), "start_day": THERAPY_DAY,
                    "best_marker": resp["marker"], "best_predictor": resp_kind, "auc": float(resp[rcols[rj]])},
        "best_panel": {"panel": best["panel"], "cv_auc": float(best["cv_auc"]), "oof_auc": float(best["oof_auc"]),
                       "oof_ci_low": float(best["oof_ci_low"]), "oof_ci_high": float(best["oof_ci_high"])},
        "site": {"sites": org.sites, "counts": {s: int(counts[s]) for s in org.sites},
                 "multiclass_auc": org.multiclass["auc"], "accuracy": org.accuracy["accuracy"],
                 "markers": list(SITE_MARKERS)},
        "sample_size": size_rows,
        "power_90": {"auc": power["auc"], "cases": math.ceil(power["ncases"]),
                     "controls": math.ceil(power["ncontrols"])},
    }  # fmt: skip
    if progress:
        progress(1.0, 1.0)
    cv50 = float(top[f"AUC at CV {int(CVS[-1] * 100)} %"])
    late_col = f"AUC draw day {int(DRAW_DAYS[-1])}"
    late_best = table.iloc[int(np.argmax(np.abs(table[late_col].to_numpy() - 0.5)))]
    need = next(r for r in size_rows if r["controls per case"] == "1:1" and r["CI half-width"] == 0.05)
    answer = (
        f"In {y.size} virtual patients ({int(y.sum())} with a detectable metastasis within a year) the best single "
        f"exosomal marker, {top['marker']}, reaches AUC {top['AUC metastasis']:.3f} "
        f"({top['CI low']:.3f}–{top['CI high']:.3f}); the best panel ({best['panel']}) reaches a cross-validated "
        f"AUC {best['cv_auc']:.3f}. The site ({' vs '.join(org.sites)}) is predicted from "
        f"{', '.join(SITE_MARKERS)} with multi-class AUC {org.multiclass['auc']:.3f}. An analytical CV of "
        f"{int(CVS[-1] * 100)} % lowers {top['marker']}'s AUC to {cv50:.3f}. Later draws score higher (on day "
        f"{int(DRAW_DAYS[-1])}: {late_best['marker']} {late_best[late_col]:.3f}, {top['marker']} "
        f"{top[late_col]:.3f}) because the levels then reflect tumour growth and metastases already seeded: a "
        f"late draw detects rather than predicts. Under anti-PD-1 from day {THERAPY_DAY:g} ({int(ry.sum())} of "
        f"{ry.size} respond) the best predictor of response is the {resp_kind} of {resp['marker']} (AUC "
        f"{resp[rcols[rj]]:.3f}; PD-L1: pre-treatment {pdl1_row[rcols[0]]:.3f}, fold change "
        f"{pdl1_row[rcols[1]]:.3f}). A validation study needs about "
        f"{need['cases']} cases and as many controls for a 95 % CI of ±0.05 around AUC "
        f"{top['AUC metastasis']:.2f} (and {extra['power_90']['cases']} of each for 90 % power against 0.5). "
        "The virtual cohort's biology is the model's; the reliability numbers are what such a model implies, "
        "not measurements in patients."
    )
    return StudyResult(
        "biomarkers", QUESTION, answer, table,
        figure={"curves": curves, "cvs": CVS, "days": DRAW_DAYS, "sizes": size_rows, "best_panel": extra["best_panel"]},
        meta={"patients": patients, "seed": seed, "analytical_cvs": CVS, "draw_days": DRAW_DAYS,
              "markers": MARKERS, "site_markers": SITE_MARKERS},
        notes="AUC: baseline (day 0) level, with the assay table's analytical CV, against a detectable metastasis by "
              "day 365, DeLong CI; direction by pROC's rule. CV columns: the same draws with analytical error of "
              f"that CV instead (mean AUC over {NOISE_REPLICATES} noise draws; CTC counts keep their counting "
              "noise only). Draw-day columns: the level measured at that day. Sample size: Obuchowski variance of "
              "the best marker's AUC, normal CI. Response columns: a second cohort on anti-PD-1 from day 28 (RECIST "
              "partial response of the primary by day 168); direction by pROC's rule per column.",
        extra=extra,
    )  # fmt: skip


__all__ = ["QUESTION", "run"]
