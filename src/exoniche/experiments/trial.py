"""A small virtual anti-PD-1 trial (validation target V9 and the biomarker-response example).

Patients differ by tumour burden, their tumour's exosomal PD-L1 level and exosome secretion
(log-normal); each is followed 30 days untreated (the pre-treatment blood draw is on day 30), then
84 days on anti-PD-1. A responder's tumour shrinks by RECIST partial response or better (sum of
diameters -30 %, i.e. mass x 0.343). Patient i's parameters depend only on (seed, i).
"""

from __future__ import annotations

import numpy as np

from exoniche import biology
from exoniche.engines import ParameterEvent, run
from exoniche.experiments.readouts import at
from exoniche.experiments.setup import Experiment

PRE_DAYS = 30.0
TREAT_DAYS = 84.0
RECIST_PR_MASS = 0.7**3


def _lognormal(rng, median, cv):
    sigma = np.sqrt(np.log(1 + cv**2))
    return median * np.exp(sigma * rng.standard_normal())


def anti_pd1_trial(n: int, seed: int, preset: str = "melanoma-metastatic") -> dict:
    """Simulate a virtual anti-PD-1 trial of ``n`` patients: pre-treatment exosomal PD-L1 and response."""
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
        pv = prob.params.numbers()
        prob.events.append(ParameterEvent(PRE_DAYS, "pd1_blockade", pv["anti_pd1_occupancy"], "start anti-PD-1"))
        ds = run(prob)
        pre[i] = (at(ds, "E_tum", PRE_DAYS) * pv["cargo_tum_pdl1"] * at(ds, "PDL1_ifn", PRE_DAYS)
                  / pv["plasma_volume_ml"])
        ratio[i] = at(ds, "N", PRE_DAYS + TREAT_DAYS) / at(ds, "N", PRE_DAYS)
    return {"pre_pdl1": pre, "mass_ratio": ratio, "responder": ratio <= RECIST_PR_MASS}
