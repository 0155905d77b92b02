"""One fit of Boehm_JProteomeRes2014 from the same starts: exoniche vs pyPESTO on a libRoadRunner objective (issue 11).

Both sides run SciPy's L-BFGS-B (same options: maxiter 400, ftol 1e-12, gtol 1e-6) from the same seeded
Latin-hypercube starts on the parameter scale, one core each (BLAS/OpenMP threads pinned to 1):

* exoniche: the PEtab objective on the compiled (Numba) engine at rtol 1e-9, central-difference gradient
  (step 1e-4) from one engine call over 2n+1 parameter columns;
* pyPESTO (``PetabImporter(..., simulator_type="roadrunner")``): libRoadRunner's CVODE objective, which has
  no sensitivities, wrapped in ``pypesto.objective.FD`` (central differences, the same step).

Model loading (code generation / Numba cache, libRoadRunner JIT) is not timed. Prints each side's wall
time and best objective, then ``ratio: X`` (exoniche wall time / pyPESTO wall time; below 1 = exoniche faster).

    .venv/bin/pip install 'pypesto>=0.5'     # not a test dependency
    .venv/bin/python benchmarks/bench_fit.py [--starts 5] [--seed 1]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

NAME = "Boehm_JProteomeRes2014"
YAML = Path(__file__).resolve().parents[1] / "tests" / "reference" / "petab" / NAME / f"{NAME}.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    from exoniche.calibration import _fit as fit
    from exoniche.calibration import petab_problem

    prob = petab_problem.load(YAML, lint=False)
    prob.nllh(prob.nominal)  # load the compiled kernel (not timed)
    x0s = fit.latin_hypercube(args.starts, prob.lower, prob.upper, args.seed)

    t0 = time.perf_counter()
    ours = [fit.optimise_start(prob, x0) for x0 in x0s]
    t_ours = time.perf_counter() - t0

    import petab.v1 as petab
    import pypesto
    import pypesto.optimize
    import pypesto.petab

    importer = pypesto.petab.PetabImporter(petab.Problem.from_yaml(str(YAML)), simulator_type="roadrunner")
    problem = importer.create_problem()
    problem.objective = pypesto.objective.FD(problem.objective, grad=True, hess=False, method="central",
                                             delta_fun=fit.FD_STEP, delta_grad=fit.FD_STEP)
    order = [problem.x_names.index(pid) for pid in prob.estimated]
    guesses = np.zeros((args.starts, problem.dim_full))
    guesses[:, problem.x_fixed_indices] = problem.x_fixed_vals
    guesses[:, order] = x0s
    problem.set_x_guesses(guesses)
    problem.objective(guesses[0, problem.x_free_indices])  # libRoadRunner JIT (not timed)
    optimizer = pypesto.optimize.ScipyOptimizer(method="L-BFGS-B",
                                                options={"maxiter": fit.MAXITER, "ftol": 1e-12, "gtol": 1e-6})
    t0 = time.perf_counter()
    result = pypesto.optimize.minimize(problem, optimizer, n_starts=args.starts, progress_bar=False,
                                       engine=pypesto.engine.SingleCoreEngine())
    t_theirs = time.perf_counter() - t0
    theirs = [r.fval for r in result.optimize_result.list]

    nominal = float(prob.nllh(prob.nominal))
    print(f"problem: {NAME}, {args.starts} starts (seed {args.seed}), nominal nllh {nominal:.6f}")
    print(f"exoniche (compiled engine, FD gradient in one call): {t_ours:.2f} s, best nllh "
          f"{min(r['fval'] for r in ours):.6f}, per start {[round(r['fval'], 3) for r in ours]}")
    print(f"pyPESTO {pypesto.__version__} (libRoadRunner objective, FD gradient): {t_theirs:.2f} s, best nllh "
          f"{min(theirs):.6f}")
    print(f"ratio: {t_ours / t_theirs:.3f}")


if __name__ == "__main__":
    main()
