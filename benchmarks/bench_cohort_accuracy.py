"""Accuracy of the compiled cohort engine over a large cohort: error against a tight-tolerance solution.

Runs the cohort of ``bench_cohort_vs_roadrunner.py`` (4175-LuT, human, 365 days, daily output; tumour mass,
PD-L1 cargo, liver extraction and CTC loss varying) at rtol 1e-6, and again at rtol 1e-10 as the reference,
and prints the distribution over patients of each patient's largest error
``max_{species, day} |x - x_ref| / max(max_t |x_ref|, 1e-9 x scale)`` (the SBML verification's measure).
Used to accept or reject a solver change on 20,000 patients (a change must not move any patient beyond the
tolerance the benchmark asks of libRoadRunner agreement, 1e-4).

    .venv/bin/python benchmarks/bench_cohort_accuracy.py [--patients 20000] [--chunk 500] [--cohort mix]

The two cohorts are imported from the benchmark scripts beside this one (Python puts the script's folder
on the import path, so it runs from any working directory).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

# the cohorts of the two speed benchmarks beside this script, imported so that this check follows them:
# MIX has three presets, wide tumour masses and colonisation varying
from bench_cohort_1e6 import COHORT as MIX
from bench_cohort_vs_roadrunner import COHORT
from rich.progress import Progress

from exoniche import engines
from exoniche.experiments.cohort import parse_cohort, sample_patients
from exoniche.experiments.setup import Experiment


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=20000)
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--cohort", choices=("benchmark", "mix"), default="benchmark",
                    help="benchmark: the cohort of bench_cohort_vs_roadrunner.py; mix: three presets as in the "
                         "10^6 benchmark (default benchmark)")
    args = ap.parse_args()

    exp = Experiment(physiology="human", tumour="4175-LuT", tumour_initial_g=10.0, duration_days=365.0,
                     output_times=np.arange(0.0, 366.0))

    def problem(rtol):
        prob = exp.problem()
        prob.rtol = rtol
        return prob

    fast, ref = problem(1e-6), problem(1e-10)
    eng = engines.get("compiled")
    k = eng.kernel(fast.mechanism, fast.params)
    scales = k.functions.scales
    spec = parse_cohort(COHORT if args.cohort == "benchmark" else MIX, "accuracy")
    batch = sample_patients(spec, exp, np.arange(args.patients), k.functions.parameters)
    err = np.empty(args.patients)
    stats: dict = {}
    t_fast = 0.0
    with Progress() as bar:
        task = bar.add_task("patients", total=args.patients)
        for a in range(0, args.patients, args.chunk):
            b = min(a + args.chunk, args.patients)
            t0 = time.perf_counter()
            _, y = eng.integrate(fast, batch.p[:, a:b], stats=stats, kern=k)
            t_fast += time.perf_counter() - t0
            _, r = eng.integrate(ref, batch.p[:, a:b], kern=k)
            denom = np.maximum(np.abs(r).max(axis=1, keepdims=True), 1e-9 * scales[:, None, None])
            err[a:b] = (np.abs(y - r) / denom).max(axis=(0, 1))
            bar.advance(task, b - a)
    q = np.quantile(err, [0.5, 0.9, 0.99, 1.0])
    print(f"patients: {args.patients}; rtol 1e-6 vs 1e-10; {1e3 * t_fast / args.patients:.3f} ms/patient at rtol 1e-6; "
          f"steps {stats['steps']}, rhs {stats['rhs']}, jacobians {stats['jac']}, LU {stats['lu']}")
    print(f"error per patient: median {q[0]:.2e}, 90 % {q[1]:.2e}, 99 % {q[2]:.2e}, max {q[3]:.2e} "
          f"(patient {int(np.argmax(err))}); over 1e-4: {int((err > 1e-4).sum())}")


if __name__ == "__main__":
    main()
