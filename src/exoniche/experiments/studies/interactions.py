"""Open question 2: interactions between cargo components — a 2^4 factorial knockout and Sobol indices.

Four cargo components of lung-tropic 4175-LuT exosomes are each present or knocked out (factor 0):
the lung integrins (ITGα6β4 + α6β1), miR-105, VEGF-like cargo and PD-L1, in all 16 combinations
(mouse, 0.05 g tumour, 28 days). Main effects and two-way interactions are the usual factorial
contrasts on log2 of each outcome (difference between the two levels of a factor, averaged over the
others; an interaction is half the difference of one factor's effect between the levels of another).

Sobol indices: each component's level varies continuously, uniformly between knocked out (0) and the
line's own level (1), all four at once (Saltelli sampling, N = ``SOBOL_N``, N (k + 2) runs of the compiled
mean-field engine); S1 (the share of an outcome's variance due to that component alone) and ST (alone and
in interaction with the others), with 95 % bootstrap CIs, via :func:`exoniche.experiments.gsa.analyse`.
ST - S1 is the part of a component's effect that exists only through interactions.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from exoniche import biology
from exoniche.experiments._compare import compare
from exoniche.experiments.interventions import Intervention
from exoniche.experiments.setup import Experiment
from exoniche.experiments.studies.common import INDICES, StudyResult, niche_score

QUESTION = ("The composition of exosomes is complex: what role does each cargo component play, and do the "
            "components interact, in each organ's niche and metastasis?")
FACTORS = {"integrins": "ITGα6", "miR-105": "miR-105", "VEGF": "VEGF", "PD-L1": "PD-L1"}
DAYS = 28.0
SOBOL_N = 1024  # Saltelli base samples: 1024 x (4 + 2) = 6144 runs
SOBOL_SEED = 3
# outcome -> species read on the last day (mean over them) and an offset; the same outcomes as the factorial
SOBOL_OUTCOMES = {
    "lung metastases": (["Col_lung"], 0.0),
    "liver metastases": (["Col_liver"], 0.0),
    "lung niche score": ([f"{i}_lung" for i in INDICES], -1.0),
    "CD8+ T spleen": (["T_spleen"], 0.0),
}


# the first-wave designs keep an immune-competent host for the human line, asked for explicitly (a
# stand-in for a humanised mouse: PD-L1 and T cells take part in these questions)
BASE = dict(physiology="mouse", allow_xenograft=True, tumour="4175-LuT", tumour_initial_g=0.05, duration_days=DAYS)


def cargo_model(base: dict):
    """Return (model, parameters per component) for Sobol sampling of the cargo components.

    ``model(levels)`` runs the base experiment on the compiled per-patient engine, one column per row of
    ``levels`` (samples x components, each 0..1 of the line's level), with the tumour cargo parameters of each
    component (``cargo_tum_<key>``) scaled by it; it returns samples x outcomes (``SOBOL_OUTCOMES`` on the last
    day).
    """
    from exoniche.engines import numba_bdf

    problem = Experiment(**base).problem()
    kern = numba_bdf.kernel(problem.mechanism, problem.params)
    comp = kern.functions
    p0 = np.array(comp.param_vector(problem.params), dtype=float)
    pidx = {n_: i for i, n_ in enumerate(comp.parameters)}
    sidx = {s: i for i, s in enumerate(comp.species)}
    rows = {f: [pidx[f"cargo_tum_{k}"] for k in biology.cargo_keys(t)] for f, t in FACTORS.items()}

    def model(levels: np.ndarray) -> np.ndarray:
        p = np.repeat(p0[:, None], levels.shape[0], axis=1)
        for j, f in enumerate(FACTORS):
            for i in rows[f]:
                p[i] = p0[i] * levels[:, j]
        _, y = numba_bdf.integrate(problem, np.ascontiguousarray(p), kern=kern)
        last = y[:, -1, :]
        return np.stack([np.mean([last[sidx[s]] for s in species], axis=0) + offset
                         for species, offset in SOBOL_OUTCOMES.values()], axis=1)

    return model, {f: [comp.parameters[i] for i in rows[f]] for f in FACTORS}


def sobol_indices(base: dict, n: int = SOBOL_N, seed: int = SOBOL_SEED) -> dict:
    """S1 and ST (95 % CIs) of each cargo component's level (0..1 of the line's) for each outcome."""
    from exoniche.experiments.gsa import analyse

    model, parameters = cargo_model(base)
    res = analyse(model, list(FACTORS), [(0.0, 1.0)] * len(FACTORS), "sobol", n=n, seed=seed,
                  outputs=list(SOBOL_OUTCOMES))
    return {"method": "sobol", "n": n, "n_runs": res["n_runs"], "seed": seed,
            "factors": {f: {"cargo": FACTORS[f], "parameters": parameters[f], "level": [0.0, 1.0]} for f in FACTORS},
            "scale": "outcome on its own scale (expected metastases, niche score, T cells) on the last day",
            "indices": res["indices"]}


def run(workers=None, progress=None) -> StudyResult:
    """Return the 2^4 knockout design; the figure's bars are the table's log2-fold columns."""
    base = BASE
    design = list(itertools.product((0, 1), repeat=len(FACTORS)))
    arms = {}
    for levels in design:
        name = "+".join(f for f, on in zip(FACTORS, levels) if on) or "all knocked out"
        ivs = [Intervention("knockdown", target=t, residual=0.0) for (f, t), on in zip(FACTORS.items(), levels)
               if not on]
        arms[name] = Experiment(**base, interventions=ivs)
    cmp = compare(arms, replicates=20, seed=2, name="interactions", workers=workers, progress=progress)
    outcomes = {
        "lung metastases": lambda ds: ds["Col_lung"].values[-1],
        "liver metastases": lambda ds: ds["Col_liver"].values[-1],
        "lung niche score": lambda ds: niche_score(ds, "lung"),
        "CD8+ T spleen": lambda ds: ds["T_spleen"].values[-1],
    }
    x = np.array(design, dtype=float) * 2 - 1  # -1 knocked out, +1 present
    y = {k: np.log2(np.array([max(f(a.dataset), 1e-9) for a in cmp.arms])) for k, f in outcomes.items()}
    names = list(FACTORS)
    terms = [(n,) for n in names] + list(itertools.combinations(names, 2))
    rows = []
    for term in terms:
        col = np.prod([x[:, names.index(t)] for t in term], axis=0)
        row = {"term": " x ".join(term), "kind": "main effect" if len(term) == 1 else "interaction"}
        for k, v in y.items():
            row[f"{k} (log2 fold)"] = 2.0 * float(np.mean(v * col))  # mean at +1 minus mean at -1
        rows.append(row)
    table = pd.DataFrame(rows)
    main = table[table["kind"] == "main effect"].set_index("term")
    inter = table[table["kind"] == "interaction"].set_index("term")
    lm = "lung metastases (log2 fold)"
    top = main[lm].abs().idxmax()
    top_i = inter[lm].abs().idxmax()
    answer = (f"For lung metastasis the largest main effect is {top} ({main.loc[top, lm]:+.2f} log2, i.e. "
              f"{2 ** main.loc[top, lm]:.2g}-fold); main effects: " +
              ", ".join(f"{t} {v:+.2f}" for t, v in main[lm].items()) +
              f". The strongest interaction is {top_i} ({inter.loc[top_i, lm]:+.2f} log2): "
              + ("the components reinforce each other." if inter.loc[top_i, lm] > 0 else
                 "the components are partly redundant (each matters less when the other is present)."))
    sobol = sobol_indices(base)
    st = sobol["indices"]["lung metastases"]["ST"]
    ci = sobol["indices"]["lung metastases"]["ST_conf"]
    s1 = sobol["indices"]["lung metastases"]["S1"]
    answer += (f" Sobol indices with each level varying from knocked out to the line's (N = {sobol['n']}): total "
               "effects on lung metastases " + ", ".join(f"{f} ST {st[f]:.2f} ± {ci[f]:.2f}" for f in FACTORS) +
               f"; ST - S1 summed over the components, the share of variance that only interactions explain, is "
               f"{sum(st[f] - s1[f] for f in FACTORS):.2f} (0: the components act additively on this scale).")
    return StudyResult(
        "interactions", QUESTION, answer, table,
        figure={"days": DAYS, "panels": ("lung metastases", "lung niche score", "liver metastases"),
                "sobol": sobol},
        meta={"factors": FACTORS, "days": DAYS, "arms": list(arms),
              "sobol": {k: v for k, v in sobol.items() if k != "indices"}},
        notes="Effects are factorial contrasts on log2(outcome): a main effect is log2 of the geometric-mean fold "
              "change between present and knocked out; metastases are the expected number seeded (mean field). "
              "Sobol indices (JSON key 'sobol', figure's lower row): S1 and ST with 95 % bootstrap CIs, each "
              "component's level uniform in 0..1 of the line's, outcomes on their own scale.",
        extra={"sobol": sobol})
