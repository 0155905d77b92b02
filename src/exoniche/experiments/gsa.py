"""Global sensitivity analysis with SALib on any vectorised model: Sobol (Saltelli sampling) and Morris.

The generic part of ``exoniche sensitivity`` (:mod:`exoniche.calibration.sensitivity`, which adds scenarios,
chunked resumable runs and the outputs catalogue). It lives in the experiments layer so that the open-question
studies (``interactions``: Sobol indices of the cargo components) use the same sampling and analysis;
it knows nothing of the model.
"""

from __future__ import annotations

import numpy as np

from exoniche.errors import ScenarioError, check_choice

METHODS = ("sobol", "morris")


def analyse(model, names: list[str], bounds: list[tuple[float, float]], method: str = "sobol", n: int = 1024,
            seed: int = 1, second_order: bool = False, outputs: list[str] | None = None,
            num_resamples: int = 1000) -> dict:
    """Sample, evaluate ``model(X) -> Y`` (samples x outputs, or a vector) and compute SALib's indices."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    check_choice("--method", method, METHODS)
    if n < 2:
        raise ScenarioError(f"--n: {n} must be at least 2")
    problem = {"num_vars": len(names), "names": list(names), "bounds": [list(b) for b in bounds]}
    if method == "sobol":
        X = sobol_sample.sample(problem, n, calc_second_order=second_order, scramble=True, seed=seed)
    else:
        X = morris_sample.sample(problem, n, num_levels=4, seed=seed)
    Y = np.asarray(model(X), dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    outputs = outputs or [f"y{k}" for k in range(Y.shape[1])]
    indices = {}
    for k, out in enumerate(outputs):
        y = Y[:, k]
        if not np.all(np.isfinite(y)):
            raise ScenarioError(f"output {out}: {int(np.sum(~np.isfinite(y)))} runs gave no finite value")
        if method == "sobol":
            r = sobol_analyze.analyze(problem, y, calc_second_order=second_order, conf_level=0.95,
                                      num_resamples=num_resamples, seed=seed)
            idx = {key: dict(zip(names, map(float, r[key]))) for key in ("S1", "S1_conf", "ST", "ST_conf")}
            if second_order:
                idx["S2"] = {f"{a}:{b}": float(r["S2"][i, j]) for i, a in enumerate(names)
                             for j, b in enumerate(names) if j > i}
                idx["S2_conf"] = {f"{a}:{b}": float(r["S2_conf"][i, j]) for i, a in enumerate(names)
                                  for j, b in enumerate(names) if j > i}
        else:
            r = morris_analyze.analyze(problem, X, y, conf_level=0.95, num_resamples=num_resamples, seed=seed)
            idx = {key: dict(zip(names, map(float, r[key]))) for key in ("mu", "mu_star", "sigma", "mu_star_conf")}
        indices[out] = idx
    return {"method": method, "n": n, "n_runs": int(X.shape[0]), "params": list(names), "outputs": outputs,
            "bounds": {nm: list(map(float, b)) for nm, b in zip(names, bounds)}, "seed": seed,
            "second_order": bool(second_order), "indices": indices}
