"""Multi-start maximum-likelihood fits of a PEtab problem, in a resumable run folder.

Starts are a Latin hypercube inside the bounds (on the parameter scale, seeded). Each start runs SciPy's
L-BFGS-B with the central-difference gradient of :meth:`PetabProblem.nllh_grad`: the 2n+1 parameter columns
are integrated in one call of the compiled engine, so a gradient costs one engine call rather than n
(forward sensitivities would need the model's symbolic Jacobian, which exoniche's engines do not build).
Every finished start is written to ``DIR/starts/start_<k>.json`` at once; a rerun with the same problem,
seed and number of starts reads those and runs only the missing ones.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from exoniche.calibration.petab_problem import PetabProblem, load
from exoniche.errors import DataError

FD_STEP = 1e-4  # on the parameter scale (log10 units for log10 parameters)
MAXITER = 400
_WORKER: dict = {}


def latin_hypercube(n: int, lower: np.ndarray, upper: np.ndarray, seed: int) -> np.ndarray:
    """N points (rows) of a seeded Latin hypercube inside [lower, upper]."""
    from scipy.stats import qmc

    u = qmc.LatinHypercube(d=len(lower), seed=np.random.default_rng(seed)).random(n)
    return lower + u * (upper - lower)


def _objective(problem: PetabProblem):
    def fg(x):
        f, g = problem.nllh_grad(x, FD_STEP, prior=True)
        if not np.isfinite(f) or not np.all(np.isfinite(g)):
            return 1e12, np.zeros_like(x)
        return f, g

    return fg


def optimise_start(problem: PetabProblem, x0: np.ndarray, fixed: dict | None = None) -> dict:
    """One local optimisation from x0 (parameter scale); ``fixed`` holds {index: value} kept constant."""
    from scipy.optimize import minimize

    fixed = fixed or {}
    free = np.array([i for i in range(len(x0)) if i not in fixed], dtype=int)
    fg = _objective(problem)
    full = np.array(x0, dtype=float)
    for i, v in fixed.items():
        full[i] = v

    def sub(z):
        x = full.copy()
        x[free] = z
        f, g = fg(x)
        return f, g[free]

    t0 = time.perf_counter()
    bounds = list(zip(problem.lower[free], problem.upper[free]))
    res = minimize(sub, np.clip(full[free], problem.lower[free], problem.upper[free]), jac=True, method="L-BFGS-B",
                   bounds=bounds, options={"maxiter": MAXITER, "ftol": 1e-12, "gtol": 1e-6})
    x = full.copy()
    x[free] = res.x
    fval = float(res.fun) if res.fun < 1e12 else float("inf")  # the model could not be integrated there
    return {"x0": [float(v) for v in x0], "x": [float(v) for v in x], "fval": fval,
            "success": bool(res.success) and float(res.fun) < 1e12, "message": str(res.message),
            "nit": int(res.nit), "nfev": int(res.nfev),
            "wall_s": time.perf_counter() - t0}


def _init_worker(yaml_path: str, engine: str = "compiled") -> None:
    _WORKER["problem"] = load(yaml_path, lint=False, engine=engine)


def _run_in_worker(args) -> tuple[int, dict]:
    k, x0 = args
    return k, optimise_start(_WORKER["problem"], np.asarray(x0))


def fit(problem: PetabProblem, starts: int, seed: int, *, workers: int = 1, out: Path | None = None,
        progress=None) -> dict:
    """Multi-start fit; returns the summary (see docs/calibration.md) and writes the run folder ``out``."""
    if starts < 1:
        raise DataError(f"--starts: {starts} must be at least 1")
    if workers < 1:
        raise DataError(f"--workers: {workers} must be at least 1")
    t0 = time.perf_counter()
    x0s = latin_hypercube(starts, problem.lower, problem.upper, seed)
    results: dict[int, dict] = {}
    start_dir = None
    if out is not None:
        start_dir = Path(out) / "starts"
        start_dir.mkdir(parents=True, exist_ok=True)
        for k in range(starts):
            path = start_dir / f"start_{k:03d}.json"
            if path.is_file():
                rec = json.loads(path.read_text())
                if np.allclose(rec["x0"], x0s[k], rtol=0, atol=1e-12) and rec.get("problem") == str(problem.yaml_path):
                    results[k] = rec
    todo = [k for k in range(starts) if k not in results]

    def done(k: int, rec: dict) -> None:
        rec.update({"start": k, "seed": seed, "problem": str(problem.yaml_path)})
        results[k] = rec
        if start_dir is not None:
            (start_dir / f"start_{k:03d}.json").write_text(json.dumps(rec, indent=1))
        if progress:
            progress(len(results) / starts)

    if workers > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                 initargs=(str(problem.yaml_path), problem.engine)) as pool:
            for k, rec in pool.map(_run_in_worker, [(k, x0s[k]) for k in todo]):
                done(k, rec)
    else:
        for k in todo:
            done(k, optimise_start(problem, x0s[k]))
    return summarise(problem, results, seed, time.perf_counter() - t0, resumed=starts - len(todo), out=out)


def summarise(problem: PetabProblem, results: dict, seed: int, wall_s: float, resumed: int = 0,
              out: Path | None = None) -> dict:
    recs = [results[k] for k in sorted(results)]
    order = np.argsort([r["fval"] for r in recs])
    best = recs[int(order[0])]
    nominal = float(problem.objective(problem.nominal))
    best_f = best["fval"]
    summary = {
        "problem": str(problem.yaml_path),
        "objective": "nllh + prior" if any(p is not None for p in problem.priors) else "nllh",
        "best_nllh": best_f,
        "nominal_nllh": nominal,
        "n_starts": len(recs),
        "n_converged": int(sum(r["success"] for r in recs)),
        "n_reached_best": int(sum(r["fval"] <= best_f + 0.1 for r in recs)),  # within 0.1 of the best
        "parameters": [{"id": pid, "estimate": float(10 ** x if s == "log10" else np.exp(x) if s == "log" else x),
                        "lower": float(problem.petab.parameter_df.loc[pid, "lowerBound"]),
                        "upper": float(problem.petab.parameter_df.loc[pid, "upperBound"]), "scale": s,
                        "estimate_scaled": float(x)}
                       for pid, x, s in zip(problem.estimated, best["x"], problem.scales)],
        "waterfall": [float(recs[i]["fval"]) for i in order],
        "seed": seed,
        "engine": problem.engine,
        "resumed_starts": resumed,
        "wall_s": wall_s,
    }
    if out is not None:
        (Path(out) / "fit.json").write_text(json.dumps(summary, indent=1))
    return summary
