"""Arms: run several experiments side by side and tabulate what differs.

Each arm is one :class:`~exoniche.experiments.setup.Experiment` run by the stochastic engine (the
deterministic niche trajectories plus ``replicates`` metastasis realisations). All arms share the
seed (common random numbers: the same virtual animals meet each arm), and replicate *i* always uses
the *i*-th child of ``SeedSequence(seed)``, so numbers do not depend on how many workers run them.
Arms run in parallel worker processes (``workers``; default: all cores, at most one per arm).

Per arm and organ the tables give: exosome uptake (% of injected dose at the read-out days, and the
share of tumour-exosome uptake), niche indices at the read-out days, metastasis incidence over
replicates (seeded, and detectable) with Wilson 95 % confidence intervals, expected metastases
(mean field), and the Kaplan–Meier median time to the first detectable metastasis (censored at the
end of the run).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from exoniche._ci import z_two_sided
from exoniche.biology import CELLS, NICHE_INDICES, ORGAN_NAMES, ORGANS
from exoniche.experiments._simulate import simulate
from exoniche.experiments.readouts import at, biodistribution
from exoniche.experiments.setup import Experiment

Z95 = z_two_sided(0.95)


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n."""
    if n <= 0:
        return (float("nan"), float("nan"))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo, hi = max(0.0, centre - half), min(1.0, centre + half)
    return (0.0 if k == 0 else lo, 1.0 if k == n else hi)


def km_curve(times: np.ndarray, t_end: float) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier event-free curve for event times (NaN = no event, censored at ``t_end``).

    With censoring only at the common end of follow-up this equals the empirical survivor function.
    Returns step points (t, S(t)) starting at (0, 1) and ending at t_end.
    """
    ev = np.sort(times[np.isfinite(times)])
    n = times.size
    t = [0.0]
    s = [1.0]
    for k, ti in enumerate(ev, start=1):
        t.append(float(ti))
        s.append(1.0 - k / n)
    t.append(float(t_end))
    s.append(s[-1])
    return np.array(t), np.array(s)


def km_median(times: np.ndarray) -> float | None:
    """Day by which half the replicates have had the event (None if not reached)."""
    ev = np.sort(times[np.isfinite(times)])
    half = math.ceil(times.size / 2)
    return float(ev[half - 1]) if ev.size >= half and half > 0 else None


@dataclass
class ArmResult:
    name: str
    experiment: Experiment
    dataset: xr.Dataset
    summary: dict
    description: str = ""


@dataclass
class Comparison:
    """The result of running arms: per-arm datasets and summaries, and the run settings."""

    name: str
    arms: list[ArmResult]
    replicates: int
    seed: int
    organs: tuple[str, ...] = ORGANS
    days: tuple[float, ...] = ()
    sources: list[str] = field(default_factory=list)
    workers: int = 1

    def arm(self, name: str) -> ArmResult:
        for a in self.arms:
            if a.name == name:
                return a
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {"name": self.name, "replicates": self.replicates, "seed": self.seed, "organs": list(self.organs),
                "readout_days": list(self.days), "sources": self.sources,
                "arms": [{"name": a.name, "description": a.description, **a.summary} for a in self.arms]}


def _injected_gp(exp: Experiment, day: float) -> float:
    if exp.injection is None:
        return 0.0
    dose = exp.injection.dose_gp(exp.parameters().value("particles_per_ug"))
    return dose * sum(1 for t in exp.injection.times if t <= day)


def _retained_share(ds: xr.Dataset, organ: str, day: float) -> float | None:
    """Share of the tumour exosomes held in the five organs that sit in this organ (from the state)."""
    held = {o: sum(at(ds, f"B_tum_{o}_{c}", day) for c in CELLS) for o in ORGANS}
    total = sum(held.values())
    return held[organ] / total if total > 0 else None


def summarise_arm(name: str, exp: Experiment, ds: xr.Dataset, base_summary: dict, organs, days) -> dict:
    """Per-arm summary: the simulate summary plus uptake, niche snapshots, CIs and KM medians."""
    t_end = float(ds["time"].values[-1])
    days = tuple(days) or (t_end,)
    n = int(ds.sizes["replicate"])
    first = ds["first_detectable_day"].values
    any_first = np.where(np.all(np.isnan(first), axis=1), np.nan, np.nanmin(np.where(np.isnan(first), np.inf, first),
                                                                           axis=1))
    any_first = np.where(np.isfinite(any_first), any_first, np.nan)
    k_any = int(np.isfinite(any_first).sum())
    base_organs = {r["organ"]: r for r in base_summary["organs"]}
    rows = []
    for o in organs:
        k = ORGANS.index(o)
        seeded = int((ds["met_count"].values[:, k] > 0).sum())
        detect = int(np.isfinite(first[:, k]).sum())
        counts = ds["met_count"].values[:, k].astype(float)
        r = {
            "organ": o, "organ_name": ORGAN_NAMES[o],
            "tumour_uptake_share": base_organs[o]["uptake_share"],
            "tumour_exosomes_retained_share": {f"{d:g}": _retained_share(ds, o, d) for d in days},
            "uptake_pct_injected_dose": {f"{d:g}": (100.0 * sum(at(ds, f"B_inj_{o}_{c}", d) for c in CELLS)
                                                   / _injected_gp(exp, d)) if _injected_gp(exp, d) > 0 else None
                                         for d in days},
            "niche": {f"{d:g}": {idx: at(ds, f"{idx}_{o}", d) for idx in NICHE_INDICES}
                      | ({"TGFb": at(ds, "TGFb_liver", d)} if o == "liver" else {}) for d in days},
            "expected_metastases": float(ds[f"Col_{o}"].values[-1]),
            "mean_metastases_per_replicate": float(counts.mean()),
            "mean_metastases_ci": [float(counts.mean() - Z95 * counts.std(ddof=1) / math.sqrt(n)) if n > 1 else None,
                                   float(counts.mean() + Z95 * counts.std(ddof=1) / math.sqrt(n)) if n > 1 else None],
            "p_seeded": seeded / n, "p_seeded_ci": list(wilson(seeded, n)),
            "p_detectable": detect / n, "p_detectable_ci": list(wilson(detect, n)),
            "median_day_first_detectable": km_median(first[:, k]),
        }
        rows.append(r)
    dose = {d: _injected_gp(exp, d) for d in days}
    return {
        "arm": name, "label": exp.label or name,
        "interventions": [iv.describe() for iv in exp.interventions],
        # where injected exosomes are at each read-out day (% of the dose given by then), sites incl. spleen
        "biodistribution_pct_injected_dose": {f"{d:g}": biodistribution(ds, d, dose[d]) for d in days if dose[d] > 0},
        "tumour": exp.tumour, "physiology": exp.physiology, "immune_status": exp.immune_status,
        "days": t_end, "replicates": n,
        "tumour_final_g": float(ds["N"].values[-1]),
        "plasma_tumour_exosomes_per_ml_final": float(ds["conc_tum"].values[-1]) * 1e9,
        "cd8_spleen_fold_final": float(ds["T_spleen"].values[-1]),
        "cd8_ln_fold_final": float(ds["T_ln"].values[-1]),
        "p_any_detectable": k_any / n, "p_any_detectable_ci": list(wilson(k_any, n)),
        "median_day_first_detectable_any": km_median(any_first),
        "first_detectable_any": [None if not np.isfinite(v) else float(v) for v in any_first],
        "organs": rows,
    }


def _run_one(args) -> tuple[str, xr.Dataset, dict]:
    name, exp, replicates, seed, organs, days = args
    sim = simulate(exp, replicates=replicates, seed=seed)
    return name, sim.dataset, summarise_arm(name, exp, sim.dataset, sim.summary, organs, days)


def default_workers(n_tasks: int) -> int:
    return max(1, min(os.cpu_count() or 1, n_tasks))


def run_parallel(fn, tasks: list, workers: int | None = None, progress=None) -> list:
    """Map ``fn`` over ``tasks`` in worker processes (in order); ``progress(done, total)`` after each."""
    workers = default_workers(len(tasks)) if workers is None else max(1, int(workers))
    out = [None] * len(tasks)
    if workers == 1 or len(tasks) == 1:
        for i, t in enumerate(tasks):
            out[i] = fn(t)
            if progress:
                progress(i + 1, len(tasks))
        return out
    import multiprocessing as mp

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        from concurrent.futures import as_completed

        for done, fut in enumerate(as_completed(futures), start=1):
            out[futures[fut]] = fut.result()
            if progress:
                progress(done, len(tasks))
    return out


def compare(arms: dict[str, Experiment], replicates: int = 200, seed: int = 20190339, *, name: str = "comparison",
            organs=ORGANS, days=(), descriptions: dict | None = None, workers: int | None = None,
            progress=None, sources=()) -> Comparison:
    """Run each arm (stochastic engine) and summarise; ``progress(done, total)`` after each arm."""
    for exp in arms.values():
        exp.problem()  # validate every arm before any work
    tasks = [(n, e, replicates, seed, tuple(organs), tuple(days)) for n, e in arms.items()]
    results = run_parallel(_run_one, tasks, workers, progress)
    descriptions = descriptions or {}
    out = [ArmResult(n, arms[n], ds, s, descriptions.get(n, "")) for n, ds, s in results]
    return Comparison(name, out, replicates, seed, tuple(organs), tuple(days), list(sources),
                      default_workers(len(tasks)) if workers is None else workers)


def compare_scenarios(scenarios, workers: int | None = None, progress=None) -> Comparison:
    """Arms from one or more scenario files (arm names prefixed by the file's name when several files).

    Replicates, seed and read-outs come from the first file; later files must agree on the duration.
    """
    from exoniche.errors import ScenarioError

    first = scenarios[0]
    arms: dict[str, Experiment] = {}
    desc: dict[str, str] = {}
    for sc in scenarios:
        if sc.duration_days != first.duration_days:
            raise ScenarioError(f"{sc.source}: duration_days: {sc.duration_days:g} differs from "
                                f"{first.source} ({first.duration_days:g}); compared arms must share it")
        for arm_name, exp in sc.arms.items():
            key = arm_name if len(scenarios) == 1 else (sc.name if len(sc.arms) == 1 else f"{sc.name}:{arm_name}")
            if key in arms:
                key = f"{key} ({len(arms) + 1})"
            arms[key] = exp
            desc[key] = sc.arm_descriptions.get(arm_name, "") or sc.description
    name = first.name if len(scenarios) == 1 else " vs ".join(s.name for s in scenarios)
    return compare(arms, first.replicates, first.seed, name=name, organs=first.readouts.organs,
                   days=first.readouts.days, descriptions=desc, workers=workers, progress=progress,
                   sources=[s.source for s in scenarios])


def run(scenario, *, workers: int | None = None, progress=None) -> Comparison:
    """Run every arm of one scenario: what ``exoniche run FILE`` computes, without writing files.

    Parameters
    ----------
    scenario : Scenario or str or Path
        A loaded :class:`~exoniche.experiments.Scenario` or the path of its TOML file.
    workers : int, optional
        Worker processes (default: one per arm, at most the number of cores).
    progress : callable, optional
        Called as ``progress(done, total)`` after each arm.

    Returns
    -------
    Comparison
        One :class:`ArmResult` per arm, in the file's order.
    """
    from exoniche.experiments.scenario import Scenario, load_scenario

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    return compare_scenarios([sc], workers=workers, progress=progress)
