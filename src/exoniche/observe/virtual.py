"""A cohort chunk observed: the simulated patients' virtual blood draws and outcome tables.

:func:`simulate_chunk` takes the patients the experiments layer simulates
(:func:`exoniche.experiments.cohort_run.simulate_patients`: sampling, the cohort engine, metastases) and
adds what a lab would measure at the schedule's blood draws. It is a pure function of (job, start, stop).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from exoniche.experiments.cohort import STREAM_OBSERVE, Cohort, patient_generators
from exoniche.experiments.cohort_run import default_engine, simulate_patients
from exoniche.experiments.setup import Experiment
from exoniche.observe.assays import Schedule, measure, true_levels


@dataclass
class CohortJob:
    """Everything a worker needs (picklable): the base experiment, the cohort and the blood-draw schedule."""

    experiment: Experiment
    cohort: Cohort
    schedule: Schedule = field(default_factory=Schedule)
    rtol: float = 1e-6
    engine: str = field(default_factory=default_engine)  # resolved once, travels with the job

    def problem(self):
        """Return the base experiment's problem (checks the scenario's own values)."""
        return self.experiment.problem()

    def simulate(self, start: int, stop: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Patients ``start`` .. ``stop - 1`` (what :func:`exoniche.experiments.cohort_run.run_cohort` calls)."""
        return simulate_chunk(self, start, stop)


def simulate_chunk(job: CohortJob, start: int, stop: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Patients ``start`` .. ``stop - 1``: (long measurements table, per-patient outcomes table)."""
    draws = job.schedule.times(job.experiment.problem().t_end)
    ids = np.arange(start, stop)
    chunk = simulate_patients(job.experiment, job.cohort, ids, extra_times=draws, rtol=job.rtol,
                              engine=getattr(job, "engine", "batched"))
    at = np.searchsorted(chunk.times, draws)
    state = {s: chunk.state[s][:, at].T for s in ("E_tum", "E_inj", "C", "PDL1_ifn")}
    true = true_levels(state, chunk.parameters, chunk.batch.mir21, job.schedule.markers)
    # default_rng([seed, stream, id]) per patient, cheaper; measure() uses each before taking the next
    rngs = patient_generators(job.cohort.seed, STREAM_OBSERVE, ids)
    meas = measure(true, job.schedule, rngs)
    markers = list(job.schedule.markers)
    vals = np.stack([meas[m] for m in markers])  # (markers, times, patients)
    long = pd.DataFrame({
        "patient": np.repeat(ids, len(draws) * len(markers)),
        "time": np.tile(np.repeat(draws, len(markers)), ids.size),
        # from codes: the same categorical without looking up len(draws) * patients strings
        "marker": pd.Categorical.from_codes(np.tile(np.arange(len(markers), dtype=np.int8), len(draws) * ids.size),
                                            categories=markers),
        "value": vals.transpose(2, 1, 0).ravel(),
    })
    out = chunk.outcomes()
    for m in markers:  # first blood draw, wide: what roc / cutpoint / panel read directly
        out[f"{m}_baseline"] = meas[m][0]
    return long, pd.DataFrame(out)


__all__ = ["CohortJob", "simulate_chunk"]
