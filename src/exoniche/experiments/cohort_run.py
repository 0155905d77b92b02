"""Running a virtual cohort: sample patients, integrate them with a cohort engine, draw their metastases.

The run goes one way. :func:`simulate_patients` samples the patients of a chunk
(:func:`~exoniche.experiments.cohort.sample_patients`), integrates them with the engine of the job's name
(:func:`exoniche.engines.get`) and draws each one's metastases; the observation layer
(:mod:`exoniche.observe.virtual`) takes its blood draws from the result. :func:`run_cohort` owns the loop
over chunks (resume, local processes or Dask) and hands every finished chunk to a store
(:class:`exoniche.io.store.ChunkStore`), which only reads and writes files. Nothing here imports from the
layers downstream: the job (with its observation schedule) and the store are passed in.

Every chunk is a pure function of (job, start, stop): the same chunk gives the same numbers in any process,
worker or Dask node, which is what makes resume and worker-count independence exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from exoniche import engines
from exoniche.biology import ORGANS
from exoniche.engines.base import parameter_rows
from exoniche.engines.problem import ParameterEvent, Problem
from exoniche.engines.stochastic import first_detections
from exoniche.errors import ScenarioError
from exoniche.experiments.cohort import STREAM_METASTASIS, Cohort, PatientBatch, patient_generators, sample_patients
from exoniche.experiments.setup import Experiment

RECIST_PR_MASS = 0.7**3  # RECIST partial response: sum of diameters -30 % -> mass x 0.343
STATE = ["N", "E_tum", "E_inj", "C", "PDL1_ifn"] + [f"Col_{o}" for o in ORGANS]
# parameters the observation needs even where the mechanism's rate laws do not use them
_OBSERVED_PARAMETERS = ("plasma_volume_ml", "plasma_fraction_of_blood", "cell_mass_g", "detectable_mass_g")


def default_engine() -> str:
    """``compiled`` (Numba, per patient) when numba is installed, else ``batched`` (NumPy lock-step).

    Measured on the 2-core CI machine: 6.5x faster per patient in the libRoadRunner benchmark, 14x in the
    full cohort pipeline (``benchmarks/bench_cohort_1e6.py``); numbers in ``docs/cohorts.md``.
    """
    return "compiled" if "compiled" in engines.available("patients") else "batched"


def cohort_engine(name: str) -> engines.PatientEngine:
    """Return the cohort engine registered as ``name``; another name is a ScenarioError naming ``--engine``."""
    return engines.get(name, capability="patients", field="--engine")


@dataclass
class PatientChunk:
    """Patients ``batch.ids`` simulated: trajectories, parameter values and metastases.

    Attributes
    ----------
    batch : PatientBatch
        The sampled patients (parameter matrix, tumour preset, primary site, miR-21 cargo).
    times : ndarray (T,)
        Output times (day): every day and the requested extra times.
    state : dict of str to ndarray (patients, T)
        Amounts of the :data:`STATE` species.
    parameters : dict of str to float or ndarray
        Parameter values per patient (a float where all patients share it).
    metastasis_count, detected : ndarray (patients, organs)
        Metastases founded, and whether one was detectable by ``t_end``, per organ of ``ORGANS``.
    first_detectable_day : ndarray (patients, organs)
        Day the first metastasis became detectable (nan: none).
    t_end : float
        Duration (day).
    therapy_start : float or None
        First day of therapy (None: no intervention).
    """

    batch: PatientBatch
    times: np.ndarray
    state: dict
    parameters: dict
    metastasis_count: np.ndarray
    detected: np.ndarray
    first_detectable_day: np.ndarray
    t_end: float
    therapy_start: float | None

    def outcomes(self) -> dict:
        """Per-patient outcome columns (tumour, metastasis by organ and time, therapy response)."""
        ids, st, t_end = self.batch.ids, self.state, self.t_end
        first = self.first_detectable_day
        any_first = np.nanmin(np.where(np.isnan(first), np.inf, first), axis=1)
        out = {
            "patient": ids,
            "tumour": self.batch.tumour.astype(str),
            "primary_site": self.batch.site.astype(str),
            "tumour_initial_g": st["N"][:, 0],
            "tumour_final_g": st["N"][:, -1],
            "metastasis": self.detected.any(axis=1).astype(np.int8),
            "met_time_days": np.where(np.isfinite(any_first), any_first, t_end),
            "met_event": np.isfinite(any_first).astype(np.int8),
        }
        for m, o in enumerate(ORGANS):
            out[f"metastasis_{o}"] = self.detected[:, m].astype(np.int8)
            out[f"metastases_founded_{o}"] = self.metastasis_count[:, m]
        out["metastasis_seeded"] = (self.metastasis_count.sum(axis=1) > 0).astype(np.int8)
        if self.therapy_start is not None:
            n_start = st["N"][:, int(np.searchsorted(self.times, self.therapy_start))]
            ratio = np.divide(st["N"][:, -1], n_start, out=np.full(ids.size, np.nan), where=n_start > 0)
            out["tumour_ratio_on_therapy"] = ratio
            out["responder"] = (ratio <= RECIST_PR_MASS).astype(np.int8)
        return out


def _therapy_start(exp: Experiment, problem: Problem) -> float | None:
    if not getattr(exp, "interventions", None) and not exp.pd1_blockade:
        return None
    times = [e.time for e in problem.events if isinstance(e, ParameterEvent) and e.time > 0]
    return min(times) if times else 0.0


def simulate_patients(experiment: Experiment, cohort: Cohort, ids: np.ndarray, *, extra_times=(),
                      rtol: float = 1e-6, engine: str = "compiled") -> PatientChunk:
    """Sample patients ``ids``, integrate them daily (and at ``extra_times``), draw their metastases.

    Parameters
    ----------
    experiment : Experiment
        The cohort's base scenario (tumour, host, interventions, duration).
    cohort : Cohort
        What varies between patients, and the seed.
    ids : array of int
        Patient numbers; every patient's numbers depend on (seed, id) only.
    extra_times : array-like
        Output days besides every whole day (e.g. blood draws).
    rtol : float
        Relative tolerance of the integration.
    engine : str
        A cohort engine's name (``compiled`` or ``batched``).

    Returns
    -------
    PatientChunk
    """
    base = experiment.problem()
    t_end = base.t_end
    grid = np.union1d(np.arange(0.0, t_end, 1.0), np.append(np.asarray(extra_times, dtype=float), t_end))
    problem = Problem(base.mechanism, base.params, t_end, grid, list(base.events), rtol, base.label)
    eng = cohort_engine(engine)
    k = eng.kernel(problem.mechanism, problem.params)
    order = k.functions.parameters
    ids = np.asarray(ids, dtype=np.int64)
    batch = sample_patients(cohort, experiment, ids, order)
    times, y = eng.integrate(problem, batch.p, species=STATE, kern=k)
    st = {s: y[i].T for i, s in enumerate(STATE)}  # (patients, times)
    rows = parameter_rows(batch.p)
    pv = dict(zip(order, rows))
    full_pv = problem.params.numbers()
    for name in _OBSERVED_PARAMETERS:
        pv.setdefault(name, full_pv[name])
    # parameter-only expressions (Gompertz rate, metastasis plateau) from the generated evaluator
    y0 = np.zeros((len(k.functions.species), ids.size))
    with np.errstate(divide="ignore", invalid="ignore"):  # state-dependent expressions at y = 0 are unused
        ev = k.functions.evaluate(y0, rows)
    alpha = np.broadcast_to(np.asarray(ev["tumour_alpha"], float), ids.size)
    caps = {o: np.broadcast_to(np.asarray(ev[f"met_cap_{o}"], float), ids.size) for o in ORGANS}
    # metastases: one generator per patient, seeded by (seed, stream, patient id)
    cell_g, det_g = float(np.mean(pv["cell_mass_g"])), float(np.mean(pv["detectable_mass_g"]))
    rngs = patient_generators(cohort.seed, STREAM_METASTASIS, ids)  # = default_rng([seed, stream, id]), cheaper
    count, first = first_detections(times, [st[f"Col_{o}"] for o in ORGANS], alpha, [caps[o] for o in ORGANS],
                                    cell_g, det_g, t_end, rngs)
    det = ~np.isnan(first)
    return PatientChunk(batch, times, st, pv, count, det, first, t_end, _therapy_start(experiment, problem))


# ---------------------------------------------------------------------------------------------- the run
def plan_chunks(size: int, chunk_size: int, done: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Chunks still to compute. Boundaries depend only on (size, chunk_size), never on the worker count."""
    finished = set(done)
    return [(a, min(a + chunk_size, size)) for a in range(0, size, chunk_size)
            if (a, min(a + chunk_size, size)) not in finished]


def _simulate(job, start: int, stop: int):
    return job.simulate(start, stop)


def run_cohort(job, store, *, manifest: dict, chunk_size: int = 500, workers: int = 1, scheduler: str | None = None,
               progress=None) -> dict:
    """Simulate ``job.cohort.size`` patients chunk by chunk into ``store``, resuming from its finished chunks.

    Parameters
    ----------
    job : object
        Picklable; ``job.cohort.size`` patients, ``job.simulate(start, stop)`` gives one chunk's tables
        (:class:`exoniche.observe.virtual.CohortJob`).
    store : object
        Where chunks go (:class:`exoniche.io.store.ChunkStore`): ``open(manifest)`` returns the finished
        chunks, ``write_chunk(start, stop, *tables)``, ``catalogue(manifest)``, ``consolidate()``,
        ``finished()``, ``patients_done()`` and ``out``.
    manifest : dict
        What is run; a store holding a different run refuses it.
    chunk_size : int
        Patients per chunk.
    workers : int
        Local processes (1: in this process), or with ``scheduler`` the Dask workers.
    scheduler : str, optional
        ``"local"`` for a Dask ``LocalCluster`` of ``workers`` processes, or an existing scheduler's address.
    progress : callable, optional
        ``progress(patients, total)``: total once at the start (patients resumed), then None per chunk.

    Returns
    -------
    dict
        ``patients``, ``resumed_patients``, ``computed_patients``, ``chunks``, ``out``, ``files``, ``catalogue``.

    Workers only compute; this process writes every file, so the store has one writer.
    """
    if chunk_size < 1:
        raise ScenarioError(f"--chunk-size: {chunk_size} must be at least 1")
    if workers < 1:
        raise ScenarioError(f"--workers: {workers} must be at least 1")
    done = store.open(manifest)
    todo = plan_chunks(job.cohort.size, chunk_size, done)
    resumed = sum(b - a for a, b in done)
    if progress:
        progress(resumed, job.cohort.size)

    def finish(a, b, result):
        store.write_chunk(a, b, *result)
        if progress:
            progress(b - a, None)

    if scheduler:
        _run_dask(job, todo, finish, workers, scheduler)
    elif workers == 1:
        for a, b in todo:
            finish(a, b, _simulate(job, a, b))
    else:
        _run_processes(job, todo, finish, workers)
    store.catalogue(manifest)
    files = store.consolidate()
    n = store.patients_done()
    return {"patients": n, "resumed_patients": resumed, "computed_patients": n - resumed,
            "chunks": len(store.finished()), "out": str(store.out), "files": files,
            "catalogue": str(store.out / "catalogue.duckdb")}


def _run_dask(job, todo, finish, workers: int, scheduler: str) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ScenarioError("--scheduler: needs dask[distributed] (pip install 'dask[distributed]')") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None) if scheduler == "local" else None
    try:
        client = Client(cluster if cluster is not None else scheduler)
    except OSError as exc:
        raise ScenarioError(f"--scheduler: cannot reach {scheduler!r}: {exc}") from None
    try:
        futures = {client.submit(_simulate, job, a, b, pure=False): (a, b) for a, b in todo}
        for fut in as_completed(futures):
            finish(*futures[fut], fut.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run_processes(job, todo, finish, workers: int) -> None:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        pending, queue = {}, list(todo)
        try:
            while queue or pending:
                while queue and len(pending) < 2 * workers:  # bounded memory: a few chunks in flight
                    a, b = queue.pop(0)
                    pending[pool.submit(_simulate, job, a, b)] = (a, b)
                ready, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in ready:
                    finish(*pending.pop(fut), fut.result())
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


__all__ = ["RECIST_PR_MASS", "STATE", "PatientChunk", "cohort_engine", "default_engine", "plan_chunks", "run_cohort",
           "simulate_patients"]
