"""Figures and report folders for `exoniche study NAME`.

`exoniche.experiments.studies` computes each study and returns a `StudyResult`; this module draws its
one figure (``plot_<name>``) and writes the report folder (table.csv, meta.json, ``<name>.png``,
report.html) through `exoniche.io.compare_report.write_study`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from exoniche.experiments.studies import STUDIES, StudyResult, run_study
from exoniche.io.compare_report import colour, write_study
from exoniche.io.figures import save_figure
from exoniche.io.report import _prepare


def plot_sources(result: StudyResult, path: Path) -> Path:
    """Tumour, host and interaction effects on each organ's niche score, one panel per host source."""
    table, days, organs = result.table, result.figure["days"], result.figure["organs"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6), sharey=True)
    x = np.arange(len(organs))
    for ax, kind in zip(axes, ("immune", "stromal")):
        sub = table[table["host source"] == kind]
        ax.bar(x - 0.27, sub["tumour effect"], 0.27, color="#d62728", label="tumour-derived exosomes")
        ax.bar(x, sub["host effect"], 0.27, color="#1f77b4", label=f"{kind}-cell-derived exosomes")
        ax.bar(x + 0.27, sub["interaction"], 0.27, color="#7f7f7f", label="interaction (synergy > 0)")
        ax.axhline(0, color="black", lw=0.6)
        ax.set_xticks(x, organs)
        ax.set_title(f"Tumour vs {kind}-cell exosomes (day {days:g})", fontsize=11)
        ax.legend(frameon=False, fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("effect on niche score (mean index rise over healthy)")
    fig.suptitle("Which exosome source builds each organ's niche? (4175-LuT mouse, 2x2 design per host source)")
    return save_figure(fig, path)


def plot_interactions(result: StudyResult, path: Path) -> Path:
    """Plot the 2^4 knockouts' main effects (red) and two-way interactions (grey), one panel per outcome.

    A second row, when the result has them, shows Sobol S1 and ST of each component with their 95 % CIs.
    """
    table = result.table
    sobol = result.figure.get("sobol")
    fig, grid = plt.subplots(2 if sobol else 1, 3, figsize=(15, 9.5 if sobol else 5), squeeze=False)
    ypos = np.arange(len(table))[::-1]
    for ax, k in zip(grid[0], result.figure["panels"]):
        vals = table[f"{k} (log2 fold)"].values
        colours = ["#d62728" if t == "main effect" else "#7f7f7f" for t in table["kind"]]
        ax.barh(ypos, vals, color=colours)
        ax.axvline(0, color="black", lw=0.6)
        ax.set_title(k, fontsize=11)
        ax.set_xlabel("log2 fold change (present vs knocked out)")
        ax.set_yticks(ypos, table["term"] if ax is grid[0][0] else [])
        ax.spines[["top", "right"]].set_visible(False)
    title = ("Cargo components of 4175-LuT exosomes: main effects (red) and two-way interactions (grey), "
             f"2^4 knockout design, day {result.figure['days']:g}")
    if sobol:
        factors = list(sobol["factors"])
        x = np.arange(len(factors))
        for ax, k in zip(grid[1], result.figure["panels"]):
            idx = sobol["indices"][k]
            for shift, key, colour_, label in ((-0.2, "S1", "#1f77b4", "S1 (alone)"),
                                               (0.2, "ST", "#ff7f0e", "ST (with interactions)")):
                ax.bar(x + shift, [idx[key][f] for f in factors], 0.4, yerr=[idx[f"{key}_conf"][f] for f in factors],
                       color=colour_, capsize=3, label=label)
            ax.axhline(0, color="black", lw=0.6)
            ax.set_xticks(x, factors)
            ax.set_ylim(-0.1, 1.2)
            ax.set_title(f"{k}: Sobol indices", fontsize=11)
            ax.set_ylabel("share of variance")
            ax.spines[["top", "right"]].set_visible(False)
        grid[1][0].legend(frameon=False, fontsize=9)
        title += (f"\nbottom: Sobol indices, each level uniform from knocked out to the line's "
                  f"(N = {sobol['n']}, {sobol['n_runs']} runs, bars: 95 % CIs)")
    fig.suptitle(title, fontsize=11)
    return save_figure(fig, path)


def plot_resection(result: StudyResult, path: Path) -> Path:
    """Lung niche score over time per arm, and expected lung metastases with P(detectable) per arm."""
    table, days, lung_niche = result.table, result.figure["days"], result.figure["lung_niche"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 4.8))
    for i, (arm, (t, score)) in enumerate(lung_niche.items()):
        ax1.plot(t, score, color=colour(i), label=arm, ls="-" if i < 6 else "--")
    ax1.set_xlabel("day")
    ax1.set_ylabel("lung niche score (mean index rise)")
    ax1.set_title("Lung niche after resection (metastases keep releasing exosomes)", fontsize=11)
    ax1.legend(frameon=False, fontsize=8)
    x = np.arange(len(table))
    ax2.bar(x, table["expected lung metastases"], color=[colour(i) for i in x])
    ax2.set_yscale("log")
    ax2.set_xticks(x, [a.replace("resection ", "") for a in table["arm"]], rotation=30, ha="right", fontsize=8)
    ax2.set_ylabel(f"expected lung metastases seeded by day {days:g}")
    ax2b = ax2.twinx()
    p = table["P(detectable metastasis)"].values
    ax2b.errorbar(x, p, yerr=[np.clip(p - table["CI low"], 0, None), np.clip(table["CI high"] - p, 0, None)], fmt="o",
                  color="black", capsize=3, label="P(detectable metastasis) ± 95 % CI")
    ax2b.set_ylim(0, 1.05)
    ax2b.set_ylabel("P(detectable metastasis by end)")
    ax2b.legend(frameon=False, fontsize=8, loc="upper right")
    ax2.set_title("Metastasis risk by resection timing", fontsize=11)
    for ax in (ax1, ax2):
        ax.spines[["top"]].set_visible(False)
    return save_figure(fig, path)


def plot_schedules(result: StudyResult, path: Path) -> Path:
    """Metastasis-free (Kaplan–Meier) curves per schedule, and each schedule's fold change in seeding."""
    table, km = result.table, result.figure["km"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 5.2))
    for j, (s, (t, surv)) in enumerate(km.items()):
        ax1.step(t, surv, where="post", color=colour(j), lw=1.6, ls="-" if j < 6 else "--", label=s)
    ax1.set_xlabel("day")
    ax1.set_ylabel("fraction of animals free of detectable metastasis")
    ax1.set_ylim(-0.02, 1.05)
    ax1.set_title(f"Metastasis-free survival ({result.figure['animals']} virtual mice per schedule, same animals)",
                  fontsize=11)
    ax1.legend(frameon=False, fontsize=7, loc="lower left")
    y = np.arange(len(table))[::-1]
    ax2.barh(y, table["fold vs no therapy (paired, geo-mean)"].values, color=[colour(j) for j in range(len(table))])
    ax2.set_xscale("log")
    ax2.axvline(1, color="black", lw=0.6)
    ax2.set_yticks(y, list(table["schedule"]), fontsize=8)
    ax2.set_xlabel("metastases seeded, fold vs no therapy (geometric mean over animals)")
    ax2.set_title("How much each schedule cuts seeding", fontsize=11)
    for ax in (ax1, ax2):
        ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, path)


PLOTS = {"sources": plot_sources, "interactions": plot_interactions, "resection": plot_resection,
         "schedules": plot_schedules}


def plot_biomarkers(result: StudyResult, path: Path) -> Path:
    """Marker AUCs with CI, AUC against analytical CV and against draw day, validation sample size."""
    table, fig_data = result.table, result.figure
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    ax = axes[0, 0]
    pos = np.arange(len(table))[::-1]
    auc = table["AUC metastasis"].to_numpy(float)
    ax.errorbar(auc, pos, xerr=[auc - table["CI low"], table["CI high"] - auc], fmt="o", color="#1f77b4",
                capsize=2, label="single marker (baseline, 95% DeLong CI)")
    bp = fig_data["best_panel"]
    ax.errorbar([bp["oof_auc"]], [len(table)], xerr=[[bp["oof_auc"] - bp["oof_ci_low"]],
                [bp["oof_ci_high"] - bp["oof_auc"]]], fmt="s", color="#d62728", capsize=2,
                label="best panel (cross-validated)")
    ax.set_yticks([*pos, len(table)], [*table["marker"], bp["panel"]], fontsize=8)
    ax.axvline(0.5, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel("AUC for metastasis within a year")
    ax.set_title("Baseline level of each marker, and the best panel", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    top = list(table["marker"][:4])
    for ax, key, xs, xlabel in ((axes[0, 1], "cv", [100 * c for c in fig_data["cvs"]], "analytical CV (%)"),
                                (axes[1, 0], "day", list(fig_data["days"]), "day of the blood draw")):
        ax.set_title("AUC as the assay gets noisier (baseline draw)" if key == "cv" else
                     "AUC as the draw moves later (assay CV of the table)", fontsize=10)
        for i, m in enumerate(top):
            ax.plot(xs, fig_data["curves"][key][m], "o-", color=colour(i), label=m)
        ax.axhline(0.5, color="0.6", lw=0.8, ls="--")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("AUC")
        ax.legend(frameon=False, fontsize=8)
    ax = axes[1, 1]
    sizes = fig_data["sizes"]
    for i, k in enumerate(dict.fromkeys(r["controls per case"] for r in sizes)):
        rows = [r for r in sizes if r["controls per case"] == k]
        ax.plot([r["CI half-width"] for r in rows], [r["cases"] for r in rows], "o-", color=colour(i),
                label=f"controls per case {k}")
    ax.set_yscale("log")
    from matplotlib.ticker import ScalarFormatter

    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(ScalarFormatter())
    ax.tick_params(axis="y", which="minor", labelsize=7)
    ax.set_xlabel("half-width of the 95% CI of the AUC")
    ax.set_ylabel("cases needed")
    ax.set_title(f"Validation study for {table['marker'].iloc[0]} (AUC {auc[0]:.2f})", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    for a in axes.flat:
        a.spines[["top", "right"]].set_visible(False)
    fig.suptitle("Open question 4: how reliable are exosomal biomarkers for metastasis? (virtual cohort)")
    fig.tight_layout()
    return save_figure(fig, path)


PLOTS["biomarkers"] = plot_biomarkers
ALL_STUDIES = (*STUDIES, "biomarkers")  # biomarkers is computed in exoniche.biomarkers (a later layer)
assert set(PLOTS) == set(ALL_STUDIES)


def write_study_report(result: StudyResult, out: str | Path) -> dict:
    """Write one study's report folder; returns {folder, report, figure, table} (paths as strings).

    Raises `ScenarioError` naming ``--out`` if the folder cannot be made or written.
    """
    out = _prepare(Path(out))
    figure = PLOTS[result.study](result, out / f"{result.study}.png")
    return write_study(result.study, result.question, result.answer, result.table, figure, out,
                       result.meta, result.notes)


def run_and_write(name: str, out: str | Path, workers: int | None = None, progress=None) -> dict:
    """Run one study and write its report; returns {study, question, answer, table (rows), ..., run (paths)}.

    The folder is checked before the (long) computation, so an unwritable ``--out`` fails at once.
    """
    if name in ALL_STUDIES:
        _prepare(Path(out))
    if name == "biomarkers":
        from exoniche.biomarkers.study import run

        result = run(workers=workers, progress=progress)
    else:
        result = run_study(name, workers=workers, progress=progress)
    return {**result.to_dict(), "run": write_study_report(result, out)}
