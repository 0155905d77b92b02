"""Run folders, figures and HTML for `exoniche run`, `exoniche compare` and `exoniche study`.

A run folder holds what is needed to redo the run: the scenario file(s) as given, each arm's exact
parameter values and intervention events, the seed, replicates and package version, the trajectories
and replicate outcomes (Parquet, one row per arm x time / arm x replicate x organ), the summary, the
figures and the report.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from exoniche import __version__  # noqa: E402
from exoniche.biology import ORGAN_NAMES  # noqa: E402
from exoniche.experiments import km_curve  # noqa: E402
from exoniche.io.figures import save_figure  # noqa: E402
from exoniche.io.report import INDEX_LABELS, _fmt, _img, _prepare  # noqa: E402

ARM_COLOURS = ["#000000", "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf"]
CSS = """body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em;color:#222}
table{border-collapse:collapse;font-size:13px;margin-bottom:1em}td,th{border:1px solid #ccc;padding:3px 6px;
text-align:left}th{background:#f3f3f3}details{margin-top:1em}.note{color:#555;font-size:13px}"""


def colour(i: int) -> str:
    """Return the ``i``-th colour of the arm palette (cycling)."""
    return ARM_COLOURS[i % len(ARM_COLOURS)]


def focus_organ(cmp) -> str:
    """Return the organ where arms differ most (expected metastases, else S100), for the trajectory figure."""
    organs = [o for o in cmp.organs]
    best, score = organs[0], -1.0
    for o in organs:
        mets = [a.dataset[f"Col_{o}"].values[-1] for a in cmp.arms]
        s100 = [a.dataset[f"S100_{o}"].values.max() for a in cmp.arms]
        s = (max(mets) - min(mets)) / (max(mets) + 1e-12) + 0.5 * (max(s100) - min(s100)) / max(s100) + \
            1e-3 * max(mets)
        if s > score:
            best, score = o, s
    return best


def _spines(ax):
    ax.spines[["top", "right"]].set_visible(False)


def figure_trajectories(cmp, path: Path, organ: str | None = None) -> Path:
    """Plot the arms' niche trajectories in ``organ`` (default: where the arms differ most) to ``path``."""
    organ = organ or focus_organ(cmp)
    on = ORGAN_NAMES[organ]
    panels = [("N", "primary tumour (g)", True), ("exo", "exosomes in plasma (particles/mL)", True),
              ("T_spleen", "CD8+ T cells, spleen (fold)", False), (f"Col_{organ}", f"expected metastases, {on}", True),
              (f"S100_{organ}", f"{INDEX_LABELS['S100']}, {on}", False),
              (f"Perm_{organ}", f"{INDEX_LABELS['Perm']}, {on}", False),
              (f"FN_{organ}", f"{INDEX_LABELS['FN']}, {on}", False),
              (f"BMDC_{organ}", f"{INDEX_LABELS['BMDC']}, {on}", False)]
    fig, axes = plt.subplots(2, 4, figsize=(15, 6.8), sharex=True)
    for ax, (var, title, log) in zip(axes.flat, panels):
        for i, a in enumerate(cmp.arms):
            ds = a.dataset
            t = ds["time"].values
            if var == "exo":
                pv = a.experiment.parameters().numbers()
                y = (ds["E_tum"].values + ds["E_inj"].values) / pv["plasma_volume_ml"] * 1e9
            else:
                y = ds[var].values
            ls = "-" if i < 6 else "--"
            ax.plot(t, np.maximum(y, 1e-12) if log else y, color=colour(i), ls=ls, lw=1.6, label=a.name)
        ax.set_title(title, fontsize=10)
        if log:
            ax.set_yscale("log")
            top = max(ln.get_ydata().max() for ln in ax.get_lines())
            ax.set_ylim(bottom=max(top * 1e-5, 1e-12), top=top * 2)  # 5 decades: zeros at day 0 stay off-scale
        else:
            ax.axhline(1.0, color="grey", lw=0.6, ls=":")
        _spines(ax)
    for ax in axes[1]:
        ax.set_xlabel("day")
    axes[0, 0].legend(frameon=False, fontsize=8)
    fig.suptitle(f"{cmp.name}: arms over time (niche panels: {on}; dotted line = healthy)", fontsize=12)
    return save_figure(fig, path)


def figure_metastasis_bars(cmp, path: Path) -> Path:
    """Plot expected metastases and P(detectable) with 95 % CIs per organ and arm to ``path``."""
    organs = list(cmp.organs)
    x = np.arange(len(organs))
    n_arms = len(cmp.arms)
    w = 0.8 / n_arms
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.6))
    for i, a in enumerate(cmp.arms):
        rows = {r["organ"]: r for r in a.summary["organs"]}
        p = np.array([rows[o]["p_detectable"] for o in organs])
        ci = np.array([rows[o]["p_detectable_ci"] for o in organs])
        err = [np.clip(p - ci[:, 0], 0, None), np.clip(ci[:, 1] - p, 0, None)]
        ax1.bar(x - 0.4 + w * (i + 0.5), p, w, yerr=err, capsize=2, color=colour(i), label=a.name)
        m = np.array([max(rows[o]["mean_metastases_per_replicate"], 1e-3) for o in organs])
        lo = np.array([max(rows[o]["mean_metastases_ci"][0] or 0, 1e-3) for o in organs])
        hi = np.array([max(rows[o]["mean_metastases_ci"][1] or 0, 1e-3) for o in organs])
        ax2.bar(x - 0.4 + w * (i + 0.5), m, w, yerr=[m - np.minimum(lo, m), np.maximum(hi, m) - m], capsize=2,
                color=colour(i), label=a.name)
    names = [ORGAN_NAMES[o] for o in organs]
    ax1.set_xticks(x, names)
    ax1.set_ylim(0, 1.05)
    ax1.set_ylabel("P(detectable metastasis) ± Wilson 95 % CI")
    ax1.set_title(f"Detectable (≥ 1 mm) metastasis by day {cmp.arms[0].summary['days']:g}", fontsize=11)
    ax2.set_xticks(x, names)
    ax2.set_yscale("log")
    ax2.set_ylim(bottom=1e-3)
    ax2.set_ylabel("metastases seeded per replicate (mean ± 95 % CI)")
    ax2.set_title("Metastases seeded (any size); floor 0.001 = none", fontsize=11)
    ax1.legend(frameon=False, fontsize=8)
    for ax in (ax1, ax2):
        _spines(ax)
    fig.suptitle(f"{cmp.name}: metastasis per organ ({cmp.replicates} replicates per arm)", fontsize=12)
    return save_figure(fig, path)


def figure_km(cmp, path: Path) -> Path:
    """Plot the Kaplan–Meier curves of the day of the first detectable metastasis per arm to ``path``."""
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    t_end = cmp.arms[0].summary["days"]
    for i, a in enumerate(cmp.arms):
        times = np.array([np.nan if v is None else v for v in a.summary["first_detectable_any"]], dtype=float)
        t, s = km_curve(times, t_end)
        ax.step(t, s, where="post", color=colour(i), lw=1.8, ls="-" if i < 6 else "--",
                label=f"{a.name} (median {_fmt(a.summary['median_day_first_detectable_any'])})")
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlim(0, t_end)
    ax.set_xlabel("day")
    ax.set_ylabel("fraction free of detectable metastasis")
    ax.set_title(f"Metastasis-free (Kaplan–Meier, any organ; {cmp.replicates} replicates per arm)", fontsize=11)
    ax.legend(frameon=False, fontsize=8, loc="lower left")
    _spines(ax)
    return save_figure(fig, path)


def figure_uptake(cmp, path: Path) -> Path | None:
    """Uptake per organ: % injected dose (injection arms) or share of tumour-exosome uptake."""
    inj = any(a.experiment.injection is not None for a in cmp.arms)
    organs = list(cmp.organs)
    x = np.arange(len(organs))
    w = 0.8 / len(cmp.arms)
    fig, ax = plt.subplots(figsize=(8, 4.4))
    day = None
    for i, a in enumerate(cmp.arms):
        rows = {r["organ"]: r for r in a.summary["organs"]}
        if inj:
            day = next(iter(rows[organs[0]]["uptake_pct_injected_dose"]))
            v = [rows[o]["uptake_pct_injected_dose"][day] or 0.0 for o in organs]
        else:
            v = [100 * rows[o]["tumour_uptake_share"] for o in organs]
        ax.bar(x - 0.4 + w * (i + 0.5), v, w, color=colour(i), label=a.name)
    ax.set_xticks(x, [ORGAN_NAMES[o] for o in organs])
    ax.set_ylabel("% of injected dose retained" if inj else "% of tumour-exosome uptake (cumulative)")
    ax.set_title(f"Exosome uptake by organ at day {day}" if inj else "Where tumour exosomes are taken up",
                 fontsize=11)
    ax.legend(frameon=False, fontsize=8)
    _spines(ax)
    return save_figure(fig, path)


SITES = (("liver", "liver"), ("spleen", "spleen"), ("lung", "lung"), ("bone", "bone marrow"), ("brain", "brain"),
         ("ln", "lymph node"), ("other", "other tissues"), ("interstitium", "slow pool"), ("plasma", "plasma"),
         ("degraded", "degraded"))


def figure_biodistribution(cmp, path: Path) -> Path | None:
    """Injected exosomes: plasma curve (% dose, log) and where the dose is at each read-out day."""
    arms = [a for a in cmp.arms if a.summary.get("biodistribution_pct_injected_dose")]
    if not arms:
        return None
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [1, 1.4]})
    for i, a in enumerate(arms):
        ds = a.dataset
        t_h = ds["time"].values * 24.0
        first = min(a.experiment.injection.times)
        dose = a.experiment.injection.dose_gp(a.experiment.parameters().value("particles_per_ug"))
        mask = (t_h >= first * 24) & (t_h <= first * 24 + 24)
        ax1.semilogy(t_h[mask] - first * 24, 100 * ds["E_inj"].values[mask] / dose, color=colour(i), label=a.name)
    ax1.set_xlabel("hours after the (first) injection")
    ax1.set_ylabel("plasma, % of injected dose")
    ax1.set_title("Plasma: fast macrophage phase, then slow phase", fontsize=10)
    ax1.legend(frameon=False, fontsize=8)
    _spines(ax1)
    bars, labels = [], []
    for a in arms:
        for day, sites in a.summary["biodistribution_pct_injected_dose"].items():
            bars.append(sites)
            when = f"{float(day) * 24:.0f} h" if float(day) < 1 else f"day {float(day):g}"
            labels.append(f"{a.name}\n{when}")
    x = np.arange(len(bars))
    bottom = np.zeros(len(bars))
    cmap = plt.get_cmap("tab10")
    for k, (key, name) in enumerate(SITES):
        v = np.array([b.get(key, 0.0) for b in bars])
        ax2.bar(x, v, 0.7, bottom=bottom, color=cmap(k % 10), label=name)
        bottom += v
    ax2.set_xticks(x, labels, fontsize=7)
    ax2.set_ylabel("% of injected dose")
    ax2.set_title("Where the dose is (liver = Kupffer cells + hepatocytes)", fontsize=10)
    ax2.legend(frameon=False, fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _spines(ax2)
    return save_figure(fig, path)


def _html_table(header: tuple[str, ...], rows: list[tuple]) -> str:
    """Return an HTML table: ``header`` cells (HTML) and one row of cells (HTML) per tuple."""
    head = "<tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table>{head}{body}</table>"


def _p_ci(p: float, ci) -> str:
    return f"{p:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"


def organ_table_html(cmp) -> str:
    """Return one table: arm x organ rows with uptake, niche, incidence and timing."""
    rows = []
    for a in cmp.arms:
        for r in a.summary["organs"]:
            upt = ", ".join(f"{v:.2f} % ID (d{d})" for d, v in r["uptake_pct_injected_dose"].items() if v is not None)
            upt = upt or f"{100 * r['tumour_uptake_share']:.1f} % of tumour exosomes"
            niche = "<br>".join(f"d{d}: " + ", ".join(f"{k} {v:.2f}" for k, v in n.items())
                                for d, n in r["niche"].items())
            rows.append((html.escape(a.name), r["organ_name"], upt, niche, f"{r['expected_metastases']:.3g}",
                         _p_ci(r["p_seeded"], r["p_seeded_ci"]), _p_ci(r["p_detectable"], r["p_detectable_ci"]),
                         _fmt(r["median_day_first_detectable"])))
    return _html_table(("arm", "organ", "uptake", "niche indices (fold) at day", "expected metastases",
                        "P(seeded) [95 % CI]", "P(detectable) [95 % CI]", "KM median day first detectable"), rows)


def arm_table_html(cmp) -> str:
    """Return the HTML table of the arms (interventions, primary tumour, P(any detectable) with CI)."""
    rows = []
    for a in cmp.arms:
        s = a.summary
        what = html.escape(a.description) + ("<br>" if a.description and s["interventions"] else "") + \
            "<br>".join(html.escape(i) for i in s["interventions"])
        rows.append((html.escape(a.name), what or "—", f"{s['tumour_final_g']:.3g}",
                     f"{s['plasma_tumour_exosomes_per_ml_final']:.3g}", f"{s['cd8_spleen_fold_final']:.2f}",
                     _p_ci(s["p_any_detectable"], s["p_any_detectable_ci"]),
                     _fmt(s["median_day_first_detectable_any"])))
    return _html_table(("arm", "description / interventions", "primary at end (g)",
                        "plasma tumour exosomes at end (/mL)", "CD8+ spleen (fold)",
                        "P(any detectable metastasis) [95 % CI]", "KM median day first detectable"), rows)


def page(title: str, body: str) -> str:
    """Return a self-contained HTML page with ``title`` and ``body``."""
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>")


def write_comparison(cmp, out: str | Path, command: str, scenario_files=()) -> dict:
    """Write the run folder of a run/compare; returns the paths written."""
    out = _prepare(Path(out))
    arms_meta = []
    traj, reps = [], []
    for a in cmp.arms:
        prob = a.experiment.problem()
        arms_meta.append({
            "arm": a.name, "description": a.description,
            "experiment": {k: v for k, v in a.experiment.__dict__.items()
                           if k not in ("injection", "challenge", "interventions", "output_times")},
            "injection": a.experiment.injection.__dict__ if a.experiment.injection else None,
            "challenge": a.experiment.challenge.__dict__ if a.experiment.challenge else None,
            "interventions": [iv.__dict__ for iv in a.experiment.interventions],
            "events": [e.__dict__ for e in prob.events],
            "parameters": prob.params.to_records(),
        })
        ds = a.dataset
        tv = [v for v in ds.data_vars if ds[v].dims == ("time",)]
        df = ds[tv].to_dataframe().reset_index()
        df.insert(0, "arm", a.name)
        traj.append(df)
        rv = [v for v in ds.data_vars if ds[v].dims == ("replicate", "organ")]
        dr = ds[rv].to_dataframe().reset_index()
        dr.insert(0, "arm", a.name)
        reps.append(dr)
    (out / "arms.json").write_text(json.dumps(arms_meta, indent=1, default=_json_default, ensure_ascii=False))
    pd.concat(traj).to_parquet(out / "trajectories.parquet", index=False)
    pd.concat(reps).to_parquet(out / "replicates.parquet", index=False)
    copied = []
    for i, f in enumerate(scenario_files):
        dest = out / (f"scenario_{i + 1}_{Path(f).name}" if len(scenario_files) > 1 else "scenario.toml")
        shutil.copyfile(f, dest)
        copied.append(dest.name)
    meta = {"exoniche_version": __version__, "command": command, "seed": cmp.seed, "replicates": cmp.replicates,
            "workers": cmp.workers, "scenario_files": copied,
            "redo": f"exoniche {'run' if len(copied) <= 1 and command.startswith('exoniche run') else 'compare'} "
                    f"{' '.join(copied)} --out <folder>"}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    summary = cmp.to_dict()
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=_json_default, ensure_ascii=False))
    figs = [figure_trajectories(cmp, out / "trajectories.png"), figure_metastasis_bars(cmp, out / "metastasis.png"),
            figure_km(cmp, out / "metastasis_free.png"), figure_uptake(cmp, out / "uptake.png"),
            figure_biodistribution(cmp, out / "biodistribution.png")]
    figs = [f for f in figs if f is not None]  # arms without injections have no biodistribution figure
    body = (f"<h1>{html.escape(cmp.name)}</h1><p>{len(cmp.arms)} arm(s), {cmp.replicates} stochastic replicates "
            f"each, seed {cmp.seed} (shared by all arms), {cmp.arms[0].experiment.physiology} host, "
            f"{cmp.arms[0].summary['days']:g} days. exoniche {__version__}; <code>{html.escape(command)}</code></p>"
            f"<h2>Arms</h2>{arm_table_html(cmp)}<h2>Per organ</h2>{organ_table_html(cmp)}"
            f"<p class='note'>Incidence CIs: Wilson 95 % over replicates. Expected metastases: the mean-field "
            f"number seeded (any size). KM median: day by which half the replicates have a detectable (≥ 1 mm) "
            f"metastasis, censored at the end.</p>"
            f"<h2>Figures</h2>{''.join(_img(f) for f in figs)}"
            f"<p class='note'>To redo: {html.escape(meta['redo'])} (arms.json holds each arm's exact parameters "
            f"and events).</p>")
    report = out / "report.html"
    report.write_text(page(cmp.name, body), encoding="utf-8")
    return {"folder": str(out), "report": str(report), "figures": [str(f) for f in figs],
            "trajectories": str(out / "trajectories.parquet"), "replicates": str(out / "replicates.parquet")}


def run_document(cmp, paths: dict) -> dict:
    """Return the document ``exoniche run|compare --json`` prints (and the web API returns).

    It is the comparison's summary without the per-replicate first-detection days, plus the files written.
    """
    d = cmp.to_dict()
    for arm in d["arms"]:
        arm.pop("first_detectable_any", None)
    return {**d, "run": paths}


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, tuple):
        return list(o)
    if hasattr(o, "items"):
        return dict(o)
    return str(o)


def write_study(name: str, question: str, answer: str, table: pd.DataFrame, figure: Path, out: Path,
                extra: dict | None = None, notes: str = "") -> dict:
    """Write a study report: the question, the answer in words, one table and one figure."""
    out = Path(out)
    table.to_csv(out / "table.csv", index=False)
    meta = {"exoniche_version": __version__, "study": name, **(extra or {})}
    (out / "meta.json").write_text(json.dumps(meta, indent=1, default=_json_default))
    tab = table.to_html(index=False, float_format=lambda v: f"{v:.3g}", border=0)
    body = (f"<h1>Study: {html.escape(name)}</h1><p><b>Question.</b> {html.escape(question)}</p>"
            f"<p><b>Answer.</b> {html.escape(answer)}</p>{_img(figure)}<h2>Table</h2>{tab}"
            f"<p class='note'>{html.escape(notes)}</p><p class='note'>exoniche {__version__}; table.csv holds the "
            f"table; meta.json the settings.</p>")
    report = out / "report.html"
    report.write_text(page(f"study {name}", body), encoding="utf-8")
    return {"folder": str(out), "report": str(report), "figure": str(figure), "table": str(out / "table.csv")}
