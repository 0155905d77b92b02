"""Outputs of ``exoniche tissue``: cell tables (Parquet), fields (NetCDF), snapshots, animation, report."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.animation import FuncAnimation, PillowWriter  # noqa: E402

from exoniche.io.compare_report import page  # noqa: E402
from exoniche.io.figures import save_figure  # noqa: E402
from exoniche.io.report import _img  # noqa: E402

TYPE_STYLE = {"fibroblast": ("#2ca02c", 14), "kupffer": ("#2ca02c", 14), "epithelial": ("#c7c7c7", 8),
              "endothelial": ("#d62728", 10), "macrophage": ("#ff7f0e", 8), "cd8_t": ("#1f77b4", 12),
              "nk": ("#9467bd", 12), "tumour": ("#000000", 30)}
INDICES = ("S100", "Perm", "FN", "BMDC")


def _draw(ax, arm, day_index: int, vmax: float):
    res = arm.result
    day = float(res.fields["day"].values[day_index])
    exo = res.fields["exo_tumour"].isel(day=day_index).mean("z").values
    x = res.fields["x"].values
    y = res.fields["y"].values
    dx = float(res.fields.attrs["voxel_um"])
    im = ax.imshow(exo, origin="lower", cmap="magma", vmin=0, vmax=vmax,
                   extent=(x[0] - dx / 2, x[-1] + dx / 2, y[0] - dx / 2, y[-1] + dx / 2))
    cells = res.cells[np.isclose(res.cells["day"], day)]
    for t, (c, size) in TYPE_STYLE.items():
        sel = cells[cells["type"] == t]
        if len(sel):
            ax.scatter(sel["x_um"], sel["y_um"], s=size, c=c, edgecolors="white" if t == "tumour" else "none",
                       linewidths=0.5, label=t.replace("_", " "))
    ax.set_title(f"{arm.name}: day {day:.1f}", fontsize=10)
    ax.set_xlabel("µm")
    ax.set_ylabel("µm")
    return im


def figure_snapshots(arm, path: Path) -> Path:
    """Plot the tissue at four days (cells and tumour-exosome field) to ``path``."""
    res = arm.result
    n = res.fields.sizes["day"]
    picks = sorted({0, n // 3, 2 * n // 3, n - 1})
    vmax = float(res.fields["exo_tumour"].max()) or 1.0
    fig, axes = plt.subplots(1, len(picks), figsize=(4 * len(picks) + 1, 4.3), layout="constrained")
    for ax, i in zip(np.atleast_1d(axes), picks):
        im = _draw(ax, arm, i, vmax)
    fig.colorbar(im, ax=axes, shrink=0.8, label="tumour exosomes (particles/µm³)")
    np.atleast_1d(axes)[-1].legend(fontsize=7, loc="upper right", markerscale=1.2, framealpha=0.8)
    return save_figure(fig, path)


def animation(arm, path: Path) -> Path:
    """Write the tissue run as an animated GIF to ``path``."""
    res = arm.result
    vmax = float(res.fields["exo_tumour"].max()) or 1.0
    fig, ax = plt.subplots(figsize=(5, 5))

    def frame(i):
        ax.clear()
        _draw(ax, arm, i, vmax)
        if i == 0:
            ax.legend(fontsize=7, loc="upper right")

    anim = FuncAnimation(fig, frame, frames=res.fields.sizes["day"])
    anim.save(path, writer=PillowWriter(fps=3))
    plt.close(fig)
    return path


def figure_niche(study, path: Path) -> Path:
    """Tissue folds over healthy tissue beside the whole-body indices, and the first tumour cell's arrival."""
    fig, axes = plt.subplots(1, len(INDICES), figsize=(4 * len(INDICES), 3.4))
    for j, k in enumerate(INDICES):
        ax = axes[j]
        for i, arm in enumerate(study.arms):
            c = f"C{i}"
            ax.plot(arm.folds["day"], arm.folds[f"tissue_{k}"], "-o", ms=3, color=c, label=f"{arm.name} tissue")
            ax.plot(arm.folds["day"], arm.folds[f"whole_body_{k}"], "--", color=c, label=f"{arm.name} whole body")
            first = arm.result.events.get("first_tumour_cell_day")
            if first is not None:
                ax.axvline(first, color=c, lw=0.8, ls=":")
        ax.set_title(f"{k} (fold over healthy)", fontsize=10)
        ax.set_xlabel("day")
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{study.setup.organ} niche in tissue vs whole body (dotted: first tumour cell arrives)",
                 fontsize=11)
    return save_figure(fig, path)


def write_tissue(study, out: str | Path, command: str) -> dict:
    """Write a tissue study's run folder (figures, tables, report, JSON) and return its document."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict = {"folder": str(out)}
    cells = [a.result.cells.assign(arm=a.name) for a in study.arms] + [study.healthy.cells.assign(arm="healthy")]
    pd.concat(cells, ignore_index=True).to_parquet(out / "cells.parquet")
    paths["cells"] = str(out / "cells.parquet")
    for a in [*study.arms]:
        f = out / f"fields_{a.name}.nc"
        a.result.fields.to_netcdf(f, engine="scipy")
    paths["fields"] = [str(out / f"fields_{a.name}.nc") for a in study.arms]
    figs = [figure_niche(study, out / "niche_tissue_vs_whole_body.png")]
    for a in study.arms:
        figs.append(figure_snapshots(a, out / f"snapshots_{a.name}.png"))
    gif = animation(study.arms[0], out / f"niche_{study.arms[0].name}.gif")
    paths["figures"] = [str(f) for f in figs]
    paths["animation"] = str(gif)
    d = study.to_dict()
    target = study.target_cell()
    (out / "summary.json").write_text(json.dumps(d, indent=1, default=float), encoding="utf-8")
    rows = "".join(
        f"<tr><td>{html.escape(a['arm'])}</td><td>{r['day']:.1f}</td>" +
        "".join(f"<td>{r['niche_tissue'][k]:.2f} / {r['niche_whole_body'][k]:.2f}</td>" for k in INDICES) +
        f"<td>{r['uptake_share'][target]:.2f}</td>"
        f"<td>{r['tumour_cells_arrived']}</td><td>{r['colonies_founded']}</td></tr>"
        for a in d["arms"] for r in a["per_day"])
    head = "".join(f"<th>{k} tissue / whole body</th>" for k in INDICES)
    gif_b64 = base64.b64encode(gif.read_bytes()).decode()
    body = (f"<h1>Tissue niche: {html.escape(study.scenario.name)} ({study.setup.organ})</h1>"
            f"<p class='note'>{html.escape(command)}; grid {d['grid']} voxels of {d['voxel_um']:g} µm, seed "
            f"{d['seed']}. Tissue indices are folds over healthy tissue (same seed, no arrivals).</p>"
            f"<table><tr><th>arm</th><th>day</th>{head}<th>uptake share, {target}s</th>"
            "<th>tumour cells arrived</th><th>colonies</th></tr>"
            f"{rows}</table>" + "".join(_img(f) for f in figs) +
            f'<h2>Animation</h2><img alt="animation" src="data:image/gif;base64,{gif_b64}">')
    (out / "report.html").write_text(page(f"tissue {study.scenario.name}", body), encoding="utf-8")
    paths["report"] = str(out / "report.html")
    return paths
