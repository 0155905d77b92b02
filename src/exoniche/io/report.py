"""Run folders for `exoniche simulate`: parameters, trajectories (Parquet), figures (PNG), HTML report.

A run folder holds everything needed to redo the run: the scenario, the exact parameter values
with provenance, the seed, the package version, the trajectories and the replicate outcomes.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from exoniche import __version__  # noqa: E402
from exoniche._ci import z_two_sided
from exoniche.biology import NICHE_INDICES, ORGAN_NAMES, ORGANS  # noqa: E402
from exoniche.errors import ScenarioError  # noqa: E402
from exoniche.io.figures import save_figure  # noqa: E402

INDEX_LABELS = {
    "S100": "S100 inflammation", "Perm": "vascular permeability", "Ang": "angiogenesis",
    "FN": "fibronectin", "BMDC": "arrested BMDCs", "MDSC": "suppressive myeloid/Treg",
    "Surv": "surveillance (NK, monocytes)",
}  # fmt: skip
ORGAN_COLOURS = {"lung": "#1f77b4", "liver": "#d62728", "bone": "#8c564b", "brain": "#9467bd", "ln": "#2ca02c"}


def _prepare(out: Path) -> Path:
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ScenarioError(f"--out: cannot write to {str(out)!r} ({exc.strerror})") from exc
    return out


def _save(fig, axes, path: Path) -> Path:
    """Finish a figure: open axes, then :func:`~exoniche.io.figures.save_figure`."""
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, path)


def figure_exosomes_tumour(ds, path: Path) -> Path:
    """Plot plasma tumour exosomes and their uptake per organ over time to ``path``."""
    t = ds["time"].values
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(t, ds["N"].values, color="black", label="primary tumour")
    met = sum(ds[f"M_{o}"].values for o in ORGANS)
    ax1.plot(t, met, color="grey", ls="--", label="metastases (mean field)")
    ax1.set_yscale("log")
    ax1.set_xlabel("day")
    ax1.set_ylabel("tumour mass (g)")
    ax1.set_title("Tumour burden")
    ax1.legend(frameon=False)
    ax2.plot(t, ds["conc_tum"].values * 1e9, color="tab:purple", label="tumour-derived exosomes")
    ax2.set_yscale("log")
    ax2.set_xlabel("day")
    ax2.set_ylabel("particles per mL plasma")
    ax2.set_title("Plasma tumour exosomes")
    ax2.axhline(1e10, color="grey", lw=0.8, ls=":")
    ax2.text(t[-1], 1e10, "all EVs, healthy (~1e10/mL)", ha="right", va="bottom", fontsize=8, color="grey")
    ax2.legend(frameon=False, loc="center right")
    return _save(fig, (ax1, ax2), path)


def figure_niche(ds, path: Path) -> Path:
    """Plot the niche indices per organ over time to ``path``."""
    t = ds["time"].values
    fig, axes = plt.subplots(2, 4, figsize=(14, 6.5), sharex=True)
    for ax, idx in zip(axes.flat, NICHE_INDICES):
        for o in ORGANS:
            ax.plot(t, ds[f"{idx}_{o}"].values, color=ORGAN_COLOURS[o], label=ORGAN_NAMES[o])
        ax.set_title(INDEX_LABELS[idx], fontsize=10)
        ax.axhline(1.0, color="grey", lw=0.6, ls=":")
        ax.spines[["top", "right"]].set_visible(False)
    ax = axes.flat[-1]
    ax.plot(t, ds["TGFb_liver"].values, color=ORGAN_COLOURS["liver"], label="liver Kupffer TGF-β")
    ax.plot(t, ds["T_spleen"].values, color="black", label="CD8+ T, spleen")
    ax.plot(t, ds["T_ln"].values, color="black", ls="--", label="CD8+ T, lymph node")
    ax.axhline(1.0, color="grey", lw=0.6, ls=":")
    ax.set_title("TGF-β and CD8+ T cells", fontsize=10)
    ax.legend(frameon=False, fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    axes.flat[0].legend(frameon=False, fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("day")
    for ax in axes[:, 0]:
        ax.set_ylabel("fold over healthy organ")
    fig.suptitle("Pre-metastatic niche indices per organ", fontsize=12)
    return save_figure(fig, path)


def figure_metastasis(ds, summary: dict, path: Path) -> Path:
    """Plot metastasis risk per organ (P seeded / detectable with 95 % CIs, expected counts) to ``path``."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    names = [ORGAN_NAMES[o] for o in ORGANS]
    n = summary["replicates"]
    x = np.arange(len(ORGANS))
    for off, key, label, colour in ((-0.2, "p_metastasis_seeded", "seeded", "#9ecae1"),
                                    (0.2, "p_metastasis_detectable", "detectable (≥ 1 mm)", "#08519c")):
        p = np.array([r[key] for r in summary["organs"]])
        err = z_two_sided(0.95) * np.sqrt(p * (1 - p) / n)
        ax1.bar(x + off, p, width=0.4, yerr=err, capsize=3, color=colour, label=label)
    ax1.set_xticks(x, names)
    ax1.set_ylim(0, 1.05)
    ax1.set_ylabel(f"probability by day {summary['days']:g} ({n} replicates)")
    ax1.set_title("Metastasis risk per organ")
    ax1.legend(frameon=False)
    burden = ds["met_burden_g"].values
    rng = np.random.default_rng(0)  # horizontal jitter of the strip plot only
    for k, o in enumerate(ORGANS):
        b = burden[:, k]
        b = b[b > 0]
        if b.size:
            ax2.scatter(k + rng.uniform(-0.25, 0.25, b.size), b, s=8, alpha=0.5, color=ORGAN_COLOURS[o])
    detect = float(ds.attrs.get("detectable_mass_g", 1e-3))
    ax2.axhline(detect, color="black", ls="--", lw=1)
    ax2.set_yscale("log")
    ax2.text(len(ORGANS) - 0.5, detect, "detectable", ha="right", va="bottom", fontsize=8)
    ax2.set_xticks(x, names)
    ax2.set_ylabel(f"metastatic mass per replicate at day {summary['days']:g} (g)")
    ax2.set_title("Metastatic burden (replicates with a metastasis)")
    return _save(fig, (ax1, ax2), path)


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}" style="max-width:100%">'


def _fmt(v) -> str:
    if v is None:
        return "not reached"
    if isinstance(v, float):
        return f"{v:.3g}"
    return html.escape(str(v))


def write_html(summary: dict, figures: list[Path], params: list[dict], path: Path) -> Path:
    """Write the run's self-contained HTML report (figures embedded) to ``path``."""
    sc = summary["scenario"]
    rows = []
    for r in summary["organs"]:
        niche = ", ".join(f"{k} {v:.2f}" for k, v in r["niche"].items())
        rows.append(
            f"<tr><td>{html.escape(r['organ_name'])}</td><td>{100 * r['uptake_share']:.1f} %</td><td>{niche}</td>"
            f"<td>{r['expected_metastases']:.3g}</td><td>{r['p_metastasis_seeded']:.2f}</td>"
            f"<td>{r['p_metastasis_detectable']:.2f}</td><td>{_fmt(r['median_day_first_detectable'])}</td></tr>")
    prow = "".join(
        f"<tr><td>{html.escape(p['name'])}</td><td>{p['value']:.4g}</td><td>{html.escape(p['unit'])}</td>"
        f"<td>{p['kind']}</td><td>{html.escape(p['source'])}</td></tr>" for p in params)
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>exoniche simulate</title>
<style>body{{font-family:sans-serif;max-width:1150px;margin:auto;padding:1em;color:#222}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 6px;text-align:left}}
th{{background:#f3f3f3}}details{{margin-top:1em}}</style></head><body>
<h1>exoniche simulate</h1>
<p>{html.escape(str(sc['tumour']))} tumour ({sc['tumour_initial_g']:g} g at day 0) in a {sc['physiology']} host
({sc['immune_status']}), {sc['duration_days']:g} days; {summary['replicates']} stochastic replicates.
exoniche {__version__}.</p>
<p>Primary at end: {summary['tumour_final_g']:.3g} g; tumour exosomes in plasma:
{summary['plasma_tumour_exosomes_gp_per_ml_final'] * 1e9:.3g} per mL;
CTCs: {summary['ctc_per_7_5ml_final']:.3g} per 7.5 mL;
CD8+ T cells in spleen: {summary['cd8_spleen_fold_final']:.2f}-fold of healthy.
Probability of a detectable metastasis anywhere: {summary['p_any_metastasis_detectable']:.2f};
median day of the first: {_fmt(summary['median_day_first_detectable_any'])}.</p>
<h2>Per organ</h2>
<table><tr><th>organ</th><th>share of tumour-exosome uptake</th><th>niche indices at end (fold)</th>
<th>expected metastases</th><th>P(seeded)</th><th>P(detectable)</th><th>median day first detectable</th></tr>
{''.join(rows)}</table>
<h2>Figures</h2>{''.join(_img(f) for f in figures)}
<details><summary>All {len(params)} parameters with provenance</summary>
<table><tr><th>name</th><th>value</th><th>unit</th><th>kind</th><th>source</th></tr>{prow}</table></details>
</body></html>"""
    path.write_text(doc, encoding="utf-8")
    return path


def write_run(sim, out: str | Path) -> dict:
    """Write the run folder; returns the paths written."""
    out = _prepare(Path(out))
    ds = sim.dataset
    params = sim.experiment.parameters().to_records()
    (out / "parameters.json").write_text(json.dumps(params, indent=1))
    (out / "scenario.json").write_text(json.dumps(sim.summary["scenario"], indent=1))
    meta = {"exoniche_version": __version__, "seed": sim.seed, "replicates": sim.replicates,
            "engine": ds.attrs.get("engine"), "command": "exoniche simulate"}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    traj_vars = [v for v in ds.data_vars if ds[v].dims == ("time",)]
    ds[traj_vars].to_dataframe().reset_index().to_parquet(out / "trajectories.parquet", index=False)
    rep_vars = [v for v in ds.data_vars if ds[v].dims == ("replicate", "organ")]
    ds[rep_vars].to_dataframe().reset_index().to_parquet(out / "replicates.parquet", index=False)
    (out / "summary.json").write_text(json.dumps(sim.summary, indent=1))
    figs = [
        figure_exosomes_tumour(ds, out / "exosomes_tumour.png"),
        figure_niche(ds, out / "niche_indices.png"),
        figure_metastasis(ds, sim.summary, out / "metastasis_risk.png"),
    ]
    report = write_html(sim.summary, figs, params, out / "report.html")
    return {"folder": str(out), "report": str(report), "figures": [str(f) for f in figs],
            "trajectories": str(out / "trajectories.parquet")}
