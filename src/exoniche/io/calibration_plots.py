"""Figures of fits, profiles and sensitivity indices (the calibration package computes, this module draws)."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from exoniche.io.figures import save_figure  # noqa: E402


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def waterfall(values, path: Path, nominal: float | None = None) -> Path:
    """Plot the sorted final objective values of the starts (the waterfall) to ``path``."""
    v = np.sort(np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float))
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    best = v[0]
    ax.plot(np.arange(1, v.size + 1), v - best + 1.0, "o-", color="#1f77b4", ms=4)
    top = max(v[-1], nominal if nominal is not None and np.isfinite(nominal) else v[-1]) - best + 1.0
    if top > 10:  # a log axis over less than a decade labels every tick alike
        ax.set_yscale("log")
    else:
        ax.ticklabel_format(axis="y", useOffset=False)
    if nominal is not None and np.isfinite(nominal):
        ax.axhline(nominal - best + 1.0, color="#d62728", ls="--", lw=1, label=f"nominal ({nominal:.2f})")
        ax.legend(frameon=False)
    ax.set_xlabel("start (sorted by final objective)")
    ax.set_ylabel("nllh - best + 1")
    ax.set_title(f"waterfall: best nllh {best:.3f}, {v.size} finite starts", fontsize=10)
    return save_figure(fig, path)


def fit_figures(problem, summary: dict, out: Path) -> list[str]:
    """waterfall.png and one fit_<observable>.png (data and best fit per condition)."""
    out = Path(out)
    paths = [str(waterfall(summary["waterfall"], out / "waterfall.png", summary["nominal_nllh"]))]
    theta = np.array([p["estimate_scaled"] for p in summary["parameters"]])
    sim = problem.simulate(theta)[:, 0]
    mdf = problem.petab.measurement_df
    for obs in dict.fromkeys(mdf["observableId"]):
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        sel = mdf["observableId"] == obs
        for k, cond in enumerate(dict.fromkeys(mdf.loc[sel, "simulationConditionId"])):
            rows = np.nonzero((sel & (mdf["simulationConditionId"] == cond)).to_numpy())[0]
            t = mdf["time"].to_numpy(dtype=float)[rows]
            order = np.argsort(t, kind="stable")
            colour = f"C{k % 10}"
            ax.plot(t[order], mdf["measurement"].to_numpy(dtype=float)[rows][order], "o", color=colour, ms=4,
                    label=f"{cond} data")
            # a marker as well, so that a condition measured at one time shows its fit
            ax.plot(t[order], sim[rows][order], "-x", color=colour, lw=1.3, ms=7, label=f"{cond} fit")
        trans = problem.petab.observable_df.loc[obs].get("observableTransformation", "lin")
        values = np.concatenate([mdf.loc[sel, "measurement"].to_numpy(dtype=float), sim[sel.to_numpy()]])
        # a log axis where the values span a decade (log tick labels of a narrow range all read the same)
        lo, hi = np.nanmin(values), np.nanmax(values)
        if isinstance(trans, str) and trans.startswith("log") and hi > 10 * lo > 0:
            ax.set_yscale("log")
        else:
            ax.ticklabel_format(axis="y", useOffset=False)
            if 0 < lo and hi < 1.1 * lo:  # data and fit (nearly) equal: show them on a +-50 % axis
                ax.set_ylim(0.5 * lo, 1.5 * hi)
        ax.set_xlabel("time (model units)")
        ax.set_ylabel(obs)
        ax.set_title(f"{obs}: data and best fit (nllh {summary['best_nllh']:.3f})", fontsize=10)
        ax.legend(frameon=False, fontsize=7, ncol=2)
        paths.append(str(save_figure(fig, out / f"fit_{_safe(obs)}.png")))
    return paths


def profile_figures(report: dict, out: Path) -> list[str]:
    """profiles.png: one panel per parameter, nllh - best against the parameter (scaled), 95 % threshold."""
    params = report["parameters"]
    n = len(params)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False)
    for ax, p in zip(axes.flat, params):
        x = np.array(p["profile_x"])
        y = np.array(p["profile_nllh"]) - report["best_nllh"]
        ax.plot(x, y, "o-", ms=3, color="#1f77b4")
        ax.axhline(report["threshold"], color="#d62728", ls="--", lw=1)
        ax.axvline(p["estimate_scaled"], color="grey", lw=0.8)
        ax.set_title(f"{p['id']}: {p['class']}", fontsize=8)
        ax.set_xlabel(f"{p['scale']}({p['id']})" if p["scale"] != "lin" else p["id"], fontsize=8)
        ax.set_ylabel("nllh - best", fontsize=8)
        ax.set_ylim(-0.1 * report["threshold"], max(3 * report["threshold"], float(np.nanmax(y)) * 1.05
                                                   if np.isfinite(np.nanmax(y)) else 1.0))
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    return [str(save_figure(fig, Path(out) / "profiles.png"))]


def sensitivity_figure(result: dict, path: Path) -> Path:
    """Bars of S1 and ST (Sobol) or mu* and sigma (Morris) per parameter, one panel per output, with CIs."""
    outputs = result["outputs"]
    fig, axes = plt.subplots(1, len(outputs), figsize=(4.8 * len(outputs), 0.45 * len(result["params"]) + 2.2),
                             squeeze=False)
    names = result["params"]
    y = np.arange(len(names))
    for ax, out in zip(axes[0], outputs):
        idx = result["indices"][out]
        if result["method"] == "sobol":
            pairs = (("S1", "first order S1", "#1f77b4"), ("ST", "total ST", "#ff7f0e"))
        else:
            pairs = (("mu_star", "mu*", "#1f77b4"), ("sigma", "sigma", "#ff7f0e"))
        for k, (key, label, colour) in enumerate(pairs):
            vals = np.array([idx[key][n] for n in names], dtype=float)
            ci = np.array([idx.get(f"{key}_conf", {}).get(n, 0.0) or 0.0 for n in names], dtype=float)
            ax.barh(y + (k - 0.5) * 0.38, vals, height=0.38, xerr=ci, color=colour, label=label, capsize=2)
        ax.set_yticks(y, names, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="black", lw=0.6)
        ax.set_title(out, fontsize=10)
        ax.legend(frameon=False, fontsize=8)
    fig.suptitle(f"{result['method']} indices, N = {result['n']} ({result['n_runs']} runs), 95 % CIs", fontsize=10)
    return save_figure(fig, path)
