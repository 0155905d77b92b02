"""A cohort chunk end to end: sample patients, integrate them, draw metastases, take blood.

:func:`simulate_chunk` is a pure function of (job, start, stop): the same chunk gives the same numbers in
any process, worker or Dask node, which is what makes resume and worker-count independence exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from exoniche.biology.mechanism import ORGANS
from exoniche.engines import batched, compiled
from exoniche.engines.problem import ParameterEvent, Problem
from exoniche.engines.stochastic import sample_metastases
from exoniche.experiments.cohort import STREAM_METASTASIS, STREAM_OBSERVE, Cohort, sample_patients
from exoniche.experiments.setup import Experiment
from exoniche.observe.assays import Schedule, measure, true_levels

RECIST_PR_MASS = 0.7**3  # RECIST partial response: sum of diameters -30 % -> mass x 0.343
STATE = ["N", "E_tum", "E_inj", "C", "PDL1_ifn"] + [f"Col_{o}" for o in ORGANS]


@dataclass
class CohortJob:
    """Everything a worker needs (picklable): the base experiment, the cohort and the blood-draw schedule."""

    experiment: Experiment
    cohort: Cohort
    schedule: Schedule = field(default_factory=Schedule)
    rtol: float = 1e-6
    engine: str = field(default_factory=lambda: default_engine())  # resolved once, travels with the job

    def problem(self) -> Problem:
        return self.experiment.problem()


COHORT_ENGINES = {"compiled": compiled, "batched": batched}


def default_engine() -> str:
    """``compiled`` (Numba, per patient) when numba is installed, else ``batched`` (NumPy lock-step).

    Measured on the 2-core CI machine: 6.5x faster per patient in the libRoadRunner benchmark, 14x in the
    full cohort pipeline (``benchmarks/bench_cohort_1e6.py``); numbers in ``docs/cohorts.md``.
    """
    return compiled.NAME if compiled.available() else batched.NAME


def cohort_engine(name: str):
    """The engine module of that name (``compiled`` or ``batched``)."""
    from exoniche.errors import ScenarioError, suggest

    if name not in COHORT_ENGINES:
        raise ScenarioError(f"--engine: unknown value {name!r}{suggest(name, COHORT_ENGINES)}; "
                            f"allowed: {', '.join(COHORT_ENGINES)}")
    return COHORT_ENGINES[name]


def _therapy_start(exp: Experiment, problem: Problem) -> float | None:
    if not getattr(exp, "interventions", None) and not exp.pd1_blockade:
        return None
    times = [e.time for e in problem.events if isinstance(e, ParameterEvent) and e.time > 0]
    return min(times) if times else 0.0


def simulate_chunk(job: CohortJob, start: int, stop: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Patients ``start`` .. ``stop - 1``: (long measurements table, per-patient outcomes table)."""
    base = job.problem()
    t_end = base.t_end
    draws = job.schedule.times(t_end)
    grid = np.union1d(np.arange(0.0, t_end, 1.0), np.append(draws, t_end))
    problem = Problem(base.mechanism, base.params, t_end, grid, list(base.events), job.rtol, base.label)
    engine = cohort_engine(getattr(job, "engine", batched.NAME))
    k = engine.kernel(problem.mechanism, problem.params)
    order = k.compiled.parameters
    ids = np.arange(start, stop)
    batch = sample_patients(job.cohort, job.experiment, ids, order)
    times, y = engine.integrate(problem, batch.p, species=STATE, kern=k)
    st = {s: y[i].T for i, s in enumerate(STATE)}  # (patients, times) -> transpose below when needed
    rows = batched._rows(batch.p)
    pv = dict(zip(order, rows))
    full_pv = problem.params.numbers()
    for name in ("plasma_volume_ml", "plasma_fraction_of_blood", "cell_mass_g", "detectable_mass_g"):
        pv.setdefault(name, full_pv[name])
    # parameter-only expressions (Gompertz rate, metastasis plateau) from the compiled evaluator
    y0 = np.zeros((len(k.compiled.species), ids.size))
    with np.errstate(divide="ignore", invalid="ignore"):  # state-dependent expressions at y = 0 are unused
        ev = k.compiled.evaluate(y0, rows)
    alpha = np.broadcast_to(np.asarray(ev["tumour_alpha"], float), ids.size)
    caps = {o: np.broadcast_to(np.asarray(ev[f"met_cap_{o}"], float), ids.size) for o in ORGANS}
    # metastases: one generator per patient, seeded by (seed, stream, patient id)
    n_org = len(ORGANS)
    det = np.zeros((ids.size, n_org), dtype=bool)
    first = np.full((ids.size, n_org), np.nan)
    count = np.zeros((ids.size, n_org), dtype=np.int64)
    cell_g, det_g = float(np.mean(pv["cell_mass_g"])), float(np.mean(pv["detectable_mass_g"]))
    for j, pid in enumerate(ids):
        rng = np.random.default_rng([job.cohort.seed, STREAM_METASTASIS, int(pid)])
        for m, o in enumerate(ORGANS):
            n, nd, _, f = sample_metastases(times, st[f"Col_{o}"][j], float(alpha[j]), float(caps[o][j]), cell_g,
                                            det_g, t_end, rng)
            count[j, m], det[j, m], first[j, m] = n, nd > 0, f
    # blood draws
    at = np.searchsorted(times, draws)
    state = {s: st[s][:, at].T for s in ("E_tum", "E_inj", "C", "PDL1_ifn")}
    true = true_levels(state, pv, batch.mir21, job.schedule.markers)
    rngs = [np.random.default_rng([job.cohort.seed, STREAM_OBSERVE, int(pid)]) for pid in ids]
    meas = measure(true, job.schedule, rngs)
    markers = list(job.schedule.markers)
    vals = np.stack([meas[m] for m in markers])  # (markers, times, patients)
    long = pd.DataFrame({
        "patient": np.repeat(ids, len(draws) * len(markers)),
        "time": np.tile(np.repeat(draws, len(markers)), ids.size),
        "marker": pd.Categorical(np.tile(markers, len(draws) * ids.size), categories=markers),
        "value": vals.transpose(2, 1, 0).ravel(),
    })
    any_first = np.nanmin(np.where(np.isnan(first), np.inf, first), axis=1)
    out = {
        "patient": ids,
        "tumour": batch.tumour.astype(str),
        "primary_site": batch.site.astype(str),
        "tumour_initial_g": st["N"][:, 0],
        "tumour_final_g": st["N"][:, -1],
        "metastasis": det.any(axis=1).astype(np.int8),
        "met_time_days": np.where(np.isfinite(any_first), any_first, t_end),
        "met_event": np.isfinite(any_first).astype(np.int8),
    }
    for m, o in enumerate(ORGANS):
        out[f"metastasis_{o}"] = det[:, m].astype(np.int8)
        out[f"metastases_founded_{o}"] = count[:, m]
    out["metastasis_seeded"] = (count.sum(axis=1) > 0).astype(np.int8)
    t_s = _therapy_start(job.experiment, problem)
    if t_s is not None:
        n_start = st["N"][:, int(np.searchsorted(times, t_s))]
        ratio = np.divide(st["N"][:, -1], n_start, out=np.full(ids.size, np.nan), where=n_start > 0)
        out["tumour_ratio_on_therapy"] = ratio
        out["responder"] = (ratio <= RECIST_PR_MASS).astype(np.int8)
    for m in markers:  # first blood draw, wide: what roc / cutpoint / panel read directly
        out[f"{m}_baseline"] = meas[m][0]
    return long, pd.DataFrame(out)
