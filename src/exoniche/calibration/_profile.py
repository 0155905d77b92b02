"""Profile likelihoods around a fit's best parameters: 95 % confidence intervals and identifiability.

For each estimated parameter the profile walks away from the best fit on the parameter scale in both
directions, re-optimising all other parameters from the previous point (L-BFGS-B, warm start), until the
objective rises by more than 1.2 x the threshold, the bound is reached, or ``points`` steps are taken. Steps
start at 2 % of the bound range, grow by 1.5x while the objective rises by less than 0.1 x the threshold per
step and are halved when it rises by more than 0.5 x the threshold, so that the crossing (linear
interpolation between two points) is resolved. The threshold is the pointwise 95 % quantile of chi2(1) / 2 = 1.921.

Classes: ``identifiable`` (the profile crosses the threshold on both sides inside the bounds),
``structurally flat`` (the profile never rises more than 0.01 above the best on either side), and
``practically non-identifiable`` (it rises but stays below the threshold on at least one side).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.stats import chi2

from exoniche.calibration._fit import optimise_start
from exoniche.calibration.petab_problem import PetabProblem, load, unscale
from exoniche.errors import DataError

THRESHOLD = float(chi2.ppf(0.95, 1) / 2)
FLAT = 0.01


def _side(problem: PetabProblem, x_best: np.ndarray, f_best: float, i: int, direction: int, points: int):
    lo, hi = problem.lower[i], problem.upper[i]
    h = 0.02 * (hi - lo)
    x, f_prev = x_best.copy(), f_best
    xs, fs = [], []
    for _ in range(4 * points):  # accepted points plus step halvings
        if len(xs) >= points:
            break
        v = float(np.clip(x[i] + direction * h, lo, hi))
        if v == x[i]:
            break
        rec = optimise_start(problem, np.where(np.arange(x.size) == i, v, x), fixed={i: v})
        rise = rec["fval"] - f_prev
        if rise > 0.5 * THRESHOLD and h > 1e-4 * (hi - lo):  # too coarse near the threshold: halve the step
            h /= 2
            continue
        x, f_prev = np.array(rec["x"]), rec["fval"]
        xs.append(v)
        fs.append(rec["fval"])
        if rec["fval"] - f_best > THRESHOLD * 1.2 or v in (lo, hi):
            break
        if rise < 0.1 * THRESHOLD:
            h *= 1.5
    return xs, fs


def _crossing(x0: float, xs: list, fs: list, f_best: float) -> float | None:
    prev_x, prev_f = x0, f_best
    for x, f in zip(xs, fs):
        if f - f_best >= THRESHOLD:
            d = (f - prev_f)
            w = (f_best + THRESHOLD - prev_f) / d if d > 0 else 1.0
            return float(prev_x + w * (x - prev_x))
        prev_x, prev_f = x, f
    return None


def profile(problem: PetabProblem, x_best, f_best: float, points: int = 10) -> dict:
    """Profiles of every estimated parameter; returns the report (see docs/calibration.md)."""
    x_best = np.asarray(x_best, dtype=float)
    rows = []
    for i, pid in enumerate(problem.estimated):
        left = _side(problem, x_best, f_best, i, -1, points)
        right = _side(problem, x_best, f_best, i, +1, points)
        xs = left[0][::-1] + [float(x_best[i])] + right[0]
        fs = left[1][::-1] + [float(f_best)] + right[1]
        lo = _crossing(x_best[i], *left, f_best)
        hi = _crossing(x_best[i], *right, f_best)
        rise = max((f - f_best for f in left[1] + right[1] if np.isfinite(f)), default=0.0)
        if lo is not None and hi is not None:
            cls = "identifiable"
        elif rise < FLAT:
            cls = "structurally flat"
        else:
            cls = "practically non-identifiable"
        s = problem.scales[i]
        rows.append({"id": pid, "scale": s, "estimate_scaled": float(x_best[i]),
                     "estimate": float(unscale(x_best[i], s)),
                     "ci_lower_scaled": lo, "ci_upper_scaled": hi,
                     "ci_lower": None if lo is None else float(unscale(lo, s)),
                     "ci_upper": None if hi is None else float(unscale(hi, s)),
                     "class": cls, "max_rise": float(rise), "profile_x": xs, "profile_nllh": fs,
                     "better_optimum_found": bool(min(fs) < f_best - 1e-3)})
    return {"best_nllh": float(f_best), "threshold": THRESHOLD, "confidence": 0.95, "parameters": rows}


def profile_run(run_dir: str | Path, points: int = 10) -> dict:
    """Profile the best fit stored in a run folder of `exoniche fit`; writes ``profiles.json`` there."""
    run_dir = Path(run_dir)
    path = run_dir / "fit.json"
    if not path.is_file():
        raise DataError(f"{run_dir}: no fit.json (run `exoniche fit PROBLEM.yaml --out {run_dir}` first)")
    if points < 1:
        raise DataError(f"--points: {points} must be at least 1")
    summary = json.loads(path.read_text())
    problem = load(summary["problem"], lint=False, engine=summary.get("engine", "compiled"))
    x = np.array([p["estimate_scaled"] for p in summary["parameters"]])
    report = profile(problem, x, float(summary["best_nllh"]), points=points)
    report["problem"] = summary["problem"]
    (run_dir / "profiles.json").write_text(json.dumps(report, indent=1))
    return report
