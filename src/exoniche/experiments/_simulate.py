"""The main job: one scenario, deterministic niche trajectories plus stochastic metastasis replicates.

Default: a lung-tropic breast tumour (4175-LuT preset, 10 g, ~2.7 cm) in a human host over 180 days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from exoniche.biology import CELLS, NICHE_INDICES, ORGAN_NAMES, ORGANS
from exoniche.engines import compile_mechanism, run
from exoniche.engines.result import add_expressions
from exoniche.experiments.setup import Experiment

DEFAULT_EXPERIMENT = dict(physiology="human", tumour="4175-LuT", tumour_initial_g=10.0, duration_days=180.0)
DEFAULT_REPLICATES = 200
DEFAULT_SEED = 20190339  # Mol Cancer 18:39


@dataclass
class Simulation:
    experiment: Experiment
    dataset: xr.Dataset
    summary: dict
    seed: int
    replicates: int


def _cumulative_uptake(ds: xr.Dataset) -> dict[str, float]:
    """Tumour-exosome uptake integrated over time, per organ (Gp), and macrophage clearance."""
    t = ds["time"].values
    out = {}
    for o in ORGANS:
        flux = sum(ds[f"k_tum_{o}_{c}"].values for c in CELLS) * ds["E_tum"].values
        out[o] = float(np.trapezoid(flux, t))
    return out


def _median_time(first: np.ndarray) -> float | None:
    """Median day of first detectable metastasis over all replicates (None if reached in < half)."""
    times = np.where(np.isnan(first), np.inf, first)
    med = float(np.median(times))
    return med if np.isfinite(med) else None


def summarise(exp: Experiment, ds: xr.Dataset) -> dict:
    t_end = float(ds["time"].values[-1])
    uptake = _cumulative_uptake(ds)
    total_uptake = sum(uptake.values())
    organs = []
    for k, o in enumerate(ORGANS):
        count = ds["met_count"].values[:, k]
        first = ds["first_detectable_day"].values[:, k]
        organs.append({
            "organ": o,
            "organ_name": ORGAN_NAMES[o],
            "uptake_share": uptake[o] / total_uptake if total_uptake > 0 else 0.0,
            "niche": {idx: float(ds[f"{idx}_{o}"].values[-1]) for idx in NICHE_INDICES}
            | ({"TGFb": float(ds["TGFb_liver"].values[-1])} if o == "liver" else {}),
            "expected_metastases": float(ds[f"Col_{o}"].values[-1]),
            "p_metastasis_seeded": float((count > 0).mean()),
            "p_metastasis_detectable": float((~np.isnan(first)).mean()),
            "median_day_first_detectable": _median_time(first),
            "mean_burden_g": float(ds["met_burden_g"].values[:, k].mean()),
        })
    any_first = np.nanmin(np.where(np.isnan(ds["first_detectable_day"].values), np.inf,
                                   ds["first_detectable_day"].values), axis=1)
    any_first = np.where(np.isfinite(any_first), any_first, np.nan)
    return {
        "scenario": {"physiology": exp.physiology, "tumour": exp.tumour, "tumour_initial_g": exp.tumour_initial_g,
                     "duration_days": exp.duration_days, "immune_status": exp.immune_status},
        "tumour_final_g": float(ds["N"].values[-1]),
        "plasma_tumour_exosomes_gp_per_ml_final": float(ds["conc_tum"].values[-1]),
        # intact (viable) CTCs, as a CellSearch-type count would see them
        "ctc_per_7_5ml_final": float(ds["C"].values[-1] * ds.attrs["shed_cell_viability"] * 7.5
                                     / ds.attrs["blood_volume_ml"]),
        "cd8_spleen_fold_final": float(ds["T_spleen"].values[-1]),
        "replicates": int(ds.sizes["replicate"]),
        "p_any_metastasis_detectable": float((~np.isnan(any_first)).mean()),
        "median_day_first_detectable_any": _median_time(any_first),
        "days": t_end,
        "organs": organs,
    }


def simulate(experiment: Experiment | None = None, replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED,
             progress=None) -> Simulation:
    """Run a scenario with the stochastic engine (which includes the deterministic trajectories)."""
    exp = experiment or Experiment(**DEFAULT_EXPERIMENT)
    problem = exp.problem()
    comp = compile_mechanism(problem.mechanism, problem.params)
    ds = run(problem, "stochastic", seed=seed, replicates=replicates, progress=progress, functions=comp)
    names = [e for e in comp.expressions if e.startswith(("k_tum_", "conc_", "phi_", "p_col_", "tcell_prolif"))]
    ds = add_expressions(ds, comp, problem.params, names)
    pv = problem.params.numbers()
    ds.attrs["blood_volume_ml"] = pv["plasma_volume_ml"] / pv["plasma_fraction_of_blood"]
    ds.attrs["detectable_mass_g"] = pv["detectable_mass_g"]
    ds.attrs["shed_cell_viability"] = pv["shed_cell_viability"]
    return Simulation(exp, ds, summarise(exp, ds), seed, replicates)
