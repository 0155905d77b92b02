"""Stochastic event engine for CTC colonisation and metastasis.

Seeding of metastases in organ *o* is a non-homogeneous Poisson process whose intensity is the
deterministic seeding rate ``seed_o(t)`` (arrested CTCs x colonisation probability). Its cumulative
intensity is exactly the species ``Col_o``, so event times are drawn exactly by inverting ``Col_o(t)``
(no time stepping). Each founded metastasis then grows by the model's Gompertz law and becomes
detectable at ``detectable_mass_g``. Most runs of a small tumour seed nothing, as in reality.

Approximation (stated): the niche and exosome trajectories are the deterministic mean field, so one
replicate's metastases do not feed back on its own niche; their mean-field exosome release is in it.
Randomness: one ``SeedSequence(seed)`` spawns one child per replicate, so results do not depend on
how replicates are split across workers.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import xarray as xr

from exoniche.biology import ORGANS
from exoniche.engines import deterministic
from exoniche.engines.base import Capabilities, Engine
from exoniche.engines.functions import compile_mechanism
from exoniche.engines.problem import Problem
from exoniche.engines.result import add_expressions
from exoniche.errors import ScenarioError

_FINE_STEP_DAYS = 0.25


def _fine_problem(problem: Problem) -> Problem:
    t_out = problem.times()
    fine = np.union1d(np.arange(0.0, problem.t_end, _FINE_STEP_DAYS), np.append(t_out, problem.t_end))
    return Problem(problem.mechanism, problem.params, problem.t_end, fine, problem.events, problem.rtol,
                   problem.label)


def sample_metastases(times, cumulative, alpha, capacity_g, cell_mass_g, detectable_g, t_end, rng):
    """Draw one replicate's metastases in one organ.

    Returns
    -------
    tuple
        (count, detectable count at ``t_end``, burden in g at ``t_end``, first detection day or nan).
    """
    total = float(cumulative[-1])
    n = rng.poisson(total) if total > 0 else 0
    if n == 0:
        return 0, 0, 0.0, np.nan
    u = np.sort(rng.uniform(0.0, total, size=n))
    seeded = np.interp(u, cumulative, times)  # inverse of the non-decreasing cumulative intensity
    a0 = np.log(cell_mass_g / capacity_g)
    mass = capacity_g * np.exp(a0 * np.exp(-alpha * (t_end - seeded)))
    lag = np.log(a0 / np.log(detectable_g / capacity_g)) / alpha if detectable_g < capacity_g else np.inf
    detect_time = seeded + lag
    detected = detect_time <= t_end
    first = float(detect_time[detected].min()) if detected.any() else np.nan
    return n, int(detected.sum()), float(mass.sum()), first


def first_detections(times, cumulative, alpha, capacity_g, cell_mass_g, detectable_g, t_end, rngs):
    """Many replicates' metastases in several organs: counts and first detection days only.

    The same draws and numbers as :func:`sample_metastases` called per replicate and organ in order
    (one generator per replicate, organs in turn), without the burden and the per-call overhead: the
    detection lag depends on the replicate and organ only, so it is computed for all at once, and only
    the draws (which must follow each generator's stream in order) stay in a Python loop.

    Parameters
    ----------
    times : ndarray (T,)
    cumulative : sequence of ndarray (replicates, T)
        Cumulative seeding intensity per organ.
    alpha : ndarray (replicates,)
    capacity_g : sequence of ndarray (replicates,)
        Plateau mass per organ.
    cell_mass_g, detectable_g, t_end : float
    rngs : iterable of numpy.random.Generator
        One per replicate.

    Returns
    -------
    tuple of ndarray (replicates, organs)
        (count, first detection day or nan).
    """
    cap = np.stack([np.asarray(c, dtype=float) for c in capacity_g], axis=1)
    totals = np.stack([c[:, -1] for c in cumulative], axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):  # detectable_g >= capacity: never detectable
        a0 = np.log(cell_mass_g / cap)
        lag = np.where(detectable_g < cap, np.log(a0 / np.log(detectable_g / cap)) / np.asarray(alpha)[:, None],
                       np.inf)
    count = np.zeros(cap.shape, dtype=np.int64)
    first = np.full(cap.shape, np.nan)
    organs = range(cap.shape[1])
    for j, rng in enumerate(rngs):
        for m in organs:
            total = float(totals[j, m])
            n = rng.poisson(total) if total > 0 else 0
            if n == 0:
                continue
            u = np.sort(rng.uniform(0.0, total, size=n))
            # the earliest detection is the earliest seeding plus the lag (rounding is monotone)
            d = np.interp(u, cumulative[m][j], times).min() + lag[j, m]
            count[j, m] = n
            if d <= t_end:
                first[j, m] = d
    return count, first


class StochasticEngine(Engine):
    """Deterministic niche trajectory plus ``replicates`` stochastic metastasis realisations (default 100)."""

    name: ClassVar[str] = "stochastic"
    capabilities: ClassVar[Capabilities] = Capabilities(stochastic=True, progress=True)

    def _run(self, problem: Problem, *, functions=None, seed=None, replicates=None, progress=None,
             **_unused) -> xr.Dataset:
        replicates = 100 if replicates is None else replicates
        if isinstance(replicates, bool) or not isinstance(replicates, int | np.integer) or replicates < 1:
            raise ScenarioError(f"replicates: {replicates!r} must be an integer of at least 1")
        comp = functions or compile_mechanism(problem.mechanism, problem.params)
        fine = deterministic.run(_fine_problem(problem), functions=comp)
        extra = ["tumour_alpha"] + [f"met_cap_{o}" for o in ORGANS]
        fine = add_expressions(fine, comp, problem.params, extra)
        pv = problem.params.numbers()
        times = fine["time"].values
        children = np.random.SeedSequence(seed).spawn(replicates)
        shape = (replicates, len(ORGANS))
        count = np.zeros(shape, dtype=np.int64)
        n_det = np.zeros(shape, dtype=np.int64)
        burden = np.zeros(shape)
        first = np.full(shape, np.nan)
        alpha = float(fine["tumour_alpha"].values[0])
        for r, child in enumerate(children):
            rng = np.random.default_rng(child)
            for k, o in enumerate(ORGANS):
                count[r, k], n_det[r, k], burden[r, k], first[r, k] = sample_metastases(
                    times, fine[f"Col_{o}"].values, alpha, float(fine[f"met_cap_{o}"].values[0]),
                    pv["cell_mass_g"], pv["detectable_mass_g"], problem.t_end, rng)
            if progress and (r % 10 == 9 or r == replicates - 1):
                progress((r + 1) / replicates)
        ds = fine.sel(time=problem.times()).drop_vars(extra)
        ds = ds.assign_coords({"replicate": np.arange(replicates), "organ": list(ORGANS)})
        dims = ("replicate", "organ")
        ds["met_count"] = (dims, count, {"unit": "metastases", "description": "metastases founded"})
        ds["met_detectable"] = (dims, n_det, {"unit": "metastases",
                                              "description": "metastases above detectable mass at end"})
        ds["met_burden_g"] = (dims, burden, {"unit": "g", "description": "metastatic mass at end"})
        ds["first_detectable_day"] = (dims, first,
                                      {"unit": "day", "description": "day the first metastasis became detectable"})
        ds.attrs.update({"engine": self.name, "replicates": replicates, "seed": -1 if seed is None else int(seed)})
        return ds


ENGINE = StochasticEngine()
run = ENGINE.run

__all__ = ["ENGINE", "StochasticEngine", "first_detections", "run", "sample_metastases"]
