"""A small virtual anti-PD-1 trial (validation target V9 and the biomarker-response example).

Patients differ by tumour burden, their tumour's exosomal PD-L1 level and exosome secretion
(log-normal); each is followed 30 days untreated (the pre-treatment blood draw is on day 30), then
84 days on anti-PD-1. A responder's tumour shrinks by RECIST partial response or better (sum of
diameters -30 %, i.e. mass x 0.343). Patient i's parameters depend only on (seed, i).
"""

from __future__ import annotations

import numpy as np

from exoniche.engines import Event, run
from exoniche.experiments.readouts import at
from exoniche.experiments.setup import Experiment, modify_cargo
from exoniche import biology

PRE_DAYS = 30.0
TREAT_DAYS = 84.0
RECIST_PR_MASS = 0.7**3


def _lognormal(rng, median, cv):
    sigma = np.sqrt(np.log(1 + cv**2))
    return median * np.exp(sigma * rng.standard_normal())


def anti_pd1_trial(n: int, seed: int, preset: str = "melanoma-metastatic") -> dict:
    pre = np.empty(n)
    ratio = np.empty(n)
    base = biology.tumour_preset(preset)
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        mass = _lognormal(rng, 10.0, 1.0)
        pdl1 = _lognormal(rng, 1.0, 1.0)
        secretion = _lognormal(rng, 1.0, 0.5)
        exp = Experiment(physiology="human", tumour=preset, tumour_initial_g=mass,
                         tumour_cargo_changes={"PD-L1": pdl1}, duration_days=PRE_DAYS + TREAT_DAYS,
                         output_times=np.array([0.0, PRE_DAYS, PRE_DAYS + TREAT_DAYS]),
                         parameter_changes={"tumour_secretion_per_cell_per_h":
                                            base.secretion_per_cell_per_h * secretion})
        prob = exp.problem()
        prob.events.append(Event(PRE_DAYS, "N", label="start anti-PD-1"))  # split the integration there
        params = prob.params
        # therapy from day 30: rerun with blockade after the pre-treatment phase
        pre_exp = Experiment(**{**exp.__dict__, "duration_days": PRE_DAYS, "output_times": np.array([0.0, PRE_DAYS])})
        ds_pre = run(pre_exp.problem())
        pv = params.numbers()
        pre[i] = at(ds_pre, "E_tum", PRE_DAYS) * pv["cargo_tum_pdl1"] / pv["plasma_volume_ml"]
        treat = Experiment(**{**exp.__dict__, "duration_days": TREAT_DAYS, "pd1_blockade": pv["anti_pd1_occupancy"],
                              "output_times": np.array([0.0, TREAT_DAYS])})
        tprob = treat.problem()
        # continue from the pre-treatment end state
        state = {s: float(ds_pre[s].values[-1]) for s in ds_pre.data_vars}
        tprob.events.extend(Event(0.0, s, amount=v, factor=0.0) for s, v in state.items())
        ds_t = run(tprob)
        ratio[i] = at(ds_t, "N", TREAT_DAYS) / state["N"]
    return {"pre_pdl1": pre, "mass_ratio": ratio, "responder": ratio <= RECIST_PR_MASS}
