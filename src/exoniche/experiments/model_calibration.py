"""Calibration separated from validation: fit named parameters to packaged data tables only.

Each dataset is a CSV under ``experiments/data/calibration/`` with its source, units and
uncertainty (``low``..``high``). ``calibrate()`` refits the parameters whose provenance says
``calibrated by `exoniche calibrate```, by SciPy least squares on log residuals scaled by each
datum's uncertainty, and reports the packaged values beside the refit so that drift is visible.
The targets these data feed (V17) are declared ``calibration`` in ``validation.CALIBRATED_BY``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib.resources import files

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from exoniche import biology
from exoniche.biology import ORGANS
from exoniche.errors import ModelError

# dataset -> parameters fitted to it, with bounds (a search box of plausible values). Only the terminal
# half-life is fitted: the initial one follows from the macrophage extraction estimates and stays a check.
DATASETS = {"plasma_kinetics": {"distribution_extraction": (1e-4, 1e-2),
                                "distribution_volume_ratio": (1.0, 100.0)}}
FITTED_QUANTITIES = {"plasma_kinetics": ("t_half_beta_h",)}
DATASETS["experimental_metastasis"] = {"colonisation_baseline": (1e-7, 1e-1)}  # mouse value
FITTED_QUANTITIES["experimental_metastasis"] = ("liver_metastases_per_injected_cell_day13",)
DATASETS["metastatic_efficiency"] = {"colonisation_baseline": (1e-12, 1e-1)}  # human value
FITTED_QUANTITIES["metastatic_efficiency"] = ("metastases_per_shed_cell",)
REFERENCE_HUMAN = dict(physiology="human", tumour="4175-LuT", tumour_initial_g=10.0, duration_days=180.0)


def dataset(name: str) -> pd.DataFrame:
    """Return a packaged calibration table (``quantity, value, low, high, unit, species, material, source``)."""
    if name not in DATASETS:
        raise ModelError(f"calibration dataset: unknown value {name!r}; allowed: {', '.join(DATASETS)}")
    path = files("exoniche.experiments").joinpath(f"data/calibration/{name}.csv")
    return pd.read_csv(path)


@dataclass
class CalibrationResult:
    """A refit of one dataset's parameters beside the packaged values, with observed and simulated read-outs."""

    dataset: str
    parameters: dict[str, float]  # refit values
    packaged: dict[str, float]  # values in parameters.yaml
    observed: dict[str, float]
    simulated: dict[str, float]
    cost: float
    n_evaluations: int

    def to_dict(self) -> dict:
        """Return the result as JSON-ready data, with the relative change of each parameter."""
        rel = {k: abs(self.parameters[k] / self.packaged[k] - 1.0) for k in self.parameters}
        return {"dataset": self.dataset, "parameters": self.parameters, "packaged": self.packaged,
                "relative_change": rel, "observed": self.observed, "simulated": self.simulated,
                "cost": self.cost, "n_evaluations": self.n_evaluations}


def _simulate_plasma(values: dict[str, float]) -> dict[str, float]:
    from exoniche.experiments.validation import _plasma_with, plasma_half_lives

    alpha, beta = plasma_half_lives(_plasma_with(values))
    return {"t_half_alpha_min": alpha, "t_half_beta_h": beta}


def calibrate_plasma_kinetics() -> CalibrationResult:
    """Fit the slow distribution pool (extraction, volume ratio) to the plasma half-lives of IV exosomes."""
    data = dataset("plasma_kinetics")
    box = DATASETS["plasma_kinetics"]
    names = tuple(box)
    base = biology.base_parameters("mouse")
    x0 = np.log([base.value(n) for n in names])
    lower, upper = np.log([box[n][0] for n in names]), np.log([box[n][1] for n in names])
    # uncertainty of each datum on the log scale: half the log-width of its reported range
    sd = {r.quantity: max(math.log(r.high / r.low) / 2.0, 1e-3) for r in data.itertuples()}
    obs = {r.quantity: float(r.value) for r in data.itertuples() if r.quantity in FITTED_QUANTITIES["plasma_kinetics"]}
    count = 0

    def residuals(x):
        nonlocal count
        count += 1
        sim = _simulate_plasma(dict(zip(names, np.exp(x))))
        return np.array([(math.log(sim[q]) - math.log(obs[q])) / sd[q] for q in obs])

    # the fit also pulls gently (weight 0.1 per log unit) towards the packaged
    # estimates, so that it is unique and moves the parameters no more than the data need
    def penalised(x):
        return np.concatenate([residuals(x), 0.1 * (x - x0)])

    fit = least_squares(penalised, x0, bounds=(lower, upper), method="trf", diff_step=1e-3, xtol=1e-8, ftol=1e-10)
    values = {n: float(v) for n, v in zip(names, np.exp(fit.x))}
    all_obs = {r.quantity: float(r.value) for r in data.itertuples()}
    return CalibrationResult("plasma_kinetics", values, {n: base.value(n) for n in names}, all_obs,
                             _simulate_plasma(values), float(fit.cost), count)


def experimental_metastasis_assay(baseline: float | None = None, cells: float = 1e5) -> float:
    """Macroscopic liver metastases per injected cell, day 13 after intraportal B16-F1 cells (Luzzi 1998)."""
    from exoniche.engines import run
    from exoniche.experiments.readouts import at
    from exoniche.experiments.setup import CellChallenge, Experiment

    changes = {} if baseline is None else {"colonisation_baseline": baseline}
    exp = Experiment(physiology="mouse", challenge=CellChallenge(0.0, cells, "portal", "B16-F1"), duration_days=13.0,
                     parameter_changes=changes)
    return at(run(exp.problem()), "Col_liver", 13.0) / cells


def calibrate_experimental_metastasis() -> CalibrationResult:
    """Fit the colonisation baseline so the model's intraportal assay matches Luzzi 1998."""
    data = dataset("experimental_metastasis")
    q = FITTED_QUANTITIES["experimental_metastasis"][0]
    target = float(data.set_index("quantity").loc[q, "value"])
    base = biology.base_parameters("mouse").value("colonisation_baseline")
    # metastases are proportional to the baseline in an unprimed organ: one rescaling, then a check
    value = base * target / experimental_metastasis_assay(base)
    value *= target / experimental_metastasis_assay(value)
    return CalibrationResult("experimental_metastasis", {"colonisation_baseline (mouse)": value},
                             {"colonisation_baseline (mouse)": base}, {q: target},
                             {q: experimental_metastasis_assay(value)},
                             0.0, 3)


def metastatic_efficiency(baseline: float | None = None) -> float:
    """Founded metastases per shed tumour cell in the reference human scenario (Coumans 2013's measure)."""
    from exoniche.engines import run
    from exoniche.experiments.setup import Experiment

    changes = {} if baseline is None else {"colonisation_baseline": baseline}
    exp = Experiment(**REFERENCE_HUMAN, parameter_changes=changes)
    ds = run(exp.problem())
    t = ds["time"].values
    burden = ds["N"].values + sum(ds[f"M_{o}"].values for o in ORGANS)
    shed = exp.parameters().value("ctc_shedding_per_g_per_day") * float(np.trapezoid(burden, t))
    return float(sum(ds[f"Col_{o}"].values[-1] for o in ORGANS)) / shed


def calibrate_metastatic_efficiency() -> CalibrationResult:
    """Fit the human colonisation baseline so the reference human scenario has Coumans 2013's efficiency."""
    data = dataset("metastatic_efficiency")
    q = FITTED_QUANTITIES["metastatic_efficiency"][0]
    target = float(data.set_index("quantity").loc[q, "value"])
    base = biology.base_parameters("human").value("colonisation_baseline")
    value = base
    for _ in range(3):  # nearly proportional (metastases feed the niche a little): fixed-point rescaling
        value *= target / metastatic_efficiency(value)
    return CalibrationResult("metastatic_efficiency", {"colonisation_baseline (human)": value},
                             {"colonisation_baseline (human)": base}, {q: target}, {q: metastatic_efficiency(value)},
                             0.0, 4)


def calibrate() -> list[CalibrationResult]:
    """Refit every calibrated-by-command parameter to its packaged dataset."""
    return [calibrate_plasma_kinetics(), calibrate_experimental_metastasis(), calibrate_metastatic_efficiency()]
