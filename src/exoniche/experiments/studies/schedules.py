"""Open question 5: from theory to the clinic, which intervention and when.

A small virtual trial: 40 mice with lung-tropic 4175-LuT tumours (2 mg at day 0) that differ in
exosome secretion, intrinsic colonisation potential and tumour growth (log-normal, CV 50 %); each animal
meets every schedule (a crossover in silico, so differences are not sampling noise). Schedules: no
therapy; exosome-release inhibitor (GW4869) early (days 0-28) or late (days 28-56); ITGα6β4-blocking
antibody early or late; anti-PD-1 early or late; and resection on day 28 alone or followed by GW4869.
Outcome: the fraction of animals with a detectable lung-or-elsewhere metastasis by day 100 (Wilson CI),
Kaplan–Meier metastasis-free curves, and expected metastases seeded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from exoniche.experiments._compare import Z95, km_curve, km_median, run_parallel, wilson
from exoniche.experiments._simulate import simulate
from exoniche.experiments.interventions import Intervention
from exoniche.experiments.setup import Experiment
from exoniche.experiments.studies.common import StudyResult

QUESTION = ("How can the exosome / pre-metastatic niche biology be applied to treatment: which intervention, "
            "given when, prevents metastasis best?")
DAYS = 100.0
N_ANIMALS = 40
SEED = 5
CV = 0.5
SCHEDULES = {
    "no therapy": [],
    "GW4869 early (d0-28)": [Intervention("gw4869", start_day=0, stop_day=28)],
    "GW4869 late (d28-56)": [Intervention("gw4869", start_day=28, stop_day=56)],
    "anti-ITGα6β4 early (d0-28)": [Intervention("integrin_antibody", target="ITGα6β4", start_day=0, stop_day=28)],
    "anti-ITGα6β4 late (d28-56)": [Intervention("integrin_antibody", target="ITGα6β4", start_day=28, stop_day=56)],
    "anti-PD-1 early (d0-28)": [Intervention("anti_pd1", start_day=0, stop_day=28)],
    "anti-PD-1 late (d28-56)": [Intervention("anti_pd1", start_day=28, stop_day=56)],
    "resection d28": [Intervention("resection", day=28)],
    "resection d28 + GW4869 d28-56": [Intervention("resection", day=28),
                                      Intervention("gw4869", start_day=28, stop_day=56)],
}


def _animal(i: int) -> dict:
    rng = np.random.default_rng(np.random.SeedSequence(SEED).spawn(N_ANIMALS)[i])
    s = np.sqrt(np.log(1 + CV**2))
    f = np.exp(s * rng.standard_normal(3) - s * s / 2)
    return {"f": f, "seed": int(rng.integers(2**32))}


def _one(task):
    sched, i = task
    from exoniche import biology

    preset = biology.tumour_preset("4175-LuT")
    a = _animal(i)
    # anti-PD-1 needs T cells: the human line in an immune-competent host is asked for explicitly, as a
    # stand-in for a humanised mouse (the model's T-cell module is the host's, not a human immune system)
    exp = Experiment(physiology="mouse", tumour="4175-LuT", tumour_initial_g=0.002, duration_days=DAYS,
                     allow_xenograft=True,
                     interventions=list(SCHEDULES[sched]),
                     parameter_changes={"tumour_secretion_per_cell_per_h":
                                        preset.secretion_per_cell_per_h * a["f"][0],
                                        "colonisation_potential": preset.colonisation_potential * a["f"][1],
                                        "tumour_doubling_time_days": preset.doubling_time_days * a["f"][2]})
    sim = simulate(exp, replicates=1, seed=a["seed"])
    s = sim.summary
    first = np.nanmin(np.where(np.isnan(sim.dataset["first_detectable_day"].values[0]), np.inf,
                               sim.dataset["first_detectable_day"].values[0]))
    return sched, i, (float(first) if np.isfinite(first) else np.nan), sum(o["expected_metastases"]
                                                                          for o in s["organs"])


def run(workers=None, progress=None) -> StudyResult:
    """Return the crossover trial; the figure needs each schedule's Kaplan–Meier curve."""
    tasks = [(s, i) for s in SCHEDULES for i in range(N_ANIMALS)]
    res = run_parallel(_one, tasks, workers, progress)
    first = {s: np.full(N_ANIMALS, np.nan) for s in SCHEDULES}
    mets = {s: np.zeros(N_ANIMALS) for s in SCHEDULES}
    for s, i, f, m in res:
        first[s][i], mets[s][i] = f, m
    rows = []
    for s in SCHEDULES:
        k = int(np.isfinite(first[s]).sum())
        lo, hi = wilson(k, N_ANIMALS)
        lm = np.log10(np.maximum(mets[s], 1e-3))
        diff = lm - np.log10(np.maximum(mets["no therapy"], 1e-3))  # paired: same animal, same random numbers
        half = Z95 * np.std(diff, ddof=1) / np.sqrt(N_ANIMALS)
        rows.append({"schedule": s, "animals with detectable metastasis": k, "fraction": k / N_ANIMALS,
                     "CI low": lo, "CI high": hi, "KM median day": km_median(first[s]),
                     "geometric mean metastases seeded": float(10 ** lm.mean()),
                     "fold vs no therapy (paired, geo-mean)": float(10 ** diff.mean()),
                     "fold 95 % CI low": float(10 ** (diff.mean() - half)),
                     "fold 95 % CI high": float(10 ** (diff.mean() + half))})
    table = pd.DataFrame(rows)
    km = {s: km_curve(first[s], DAYS) for s in SCHEDULES}  # schedule -> (day, fraction metastasis-free)
    best = table.iloc[1:].sort_values(["fraction", "fold vs no therapy (paired, geo-mean)"]).iloc[0]
    ctrl = table.iloc[0]
    fold = table.set_index("schedule")["fold vs no therapy (paired, geo-mean)"]
    timing = "; ".join(f"{a.split(' early')[0]} early x{fold[a]:.2g} vs late "
                       f"x{fold[a.replace('early (d0-28)', 'late (d28-56)')]:.2g}" for a in SCHEDULES if "early" in a)
    answer = (f"Without therapy {ctrl['fraction']:.0%} of animals have a detectable metastasis by day {DAYS:g}. "
              f"The best schedule is '{best['schedule']}' ({best['fraction']:.0%}, 95 % CI "
              f"{best['CI low']:.0%}-{best['CI high']:.0%}; seeding x{fold[best['schedule']]:.2g}"
              f"). Timing matters: {timing} (seeding relative to no therapy).")
    return StudyResult(
        "schedules", QUESTION, answer, table, figure={"days": DAYS, "animals": N_ANIMALS, "km": km},
        meta={"animals": N_ANIMALS, "seed": SEED, "cv": CV, "days": DAYS,
              "schedules": {k: [iv.describe() for iv in v] for k, v in SCHEDULES.items()}},
        notes="Each virtual mouse meets every schedule with the same random numbers. 'fold vs no therapy' is the "
              "geometric mean over animals of the ratio of metastases seeded (mean field).")
