"""Figures of the mechanism's structure, drawn from the declaration (never by hand).

``circulation_figure`` draws every process that moves injected exosomes (population ``inj``) between
species: plasma, the slow distribution pool, each uptake site's cell pools and degradation. Edges are
the declared processes, labelled by the cell population they name, so the figure changes when the
mechanism does.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

from exoniche.biology import ORGAN_NAMES, TARGET_CELLS, Mechanism  # noqa: E402
from exoniche.io.figures import save_figure  # noqa: E402


def circulation_graph(mech: Mechanism, population: str = "inj") -> nx.DiGraph:
    """Directed graph species -> species of the processes that move one exosome population."""
    g = nx.DiGraph()
    tag = f"_{population}"
    for p in mech.processes:
        src = [s for s, v in p.stoich.items() if v < 0 and tag in s]
        dst = [s for s, v in p.stoich.items() if v > 0 and tag in s]
        for a in src:
            for b in dst:
                g.add_edge(a, b, process=p.name, hallmark=p.hallmark)
    return g


def _label(species: str, population: str) -> str:
    core = species.replace(f"_{population}", "")
    if core == "E":
        return "plasma"
    if core == "E_int":
        return "slow pool\n(interstitium, lymph)"
    if core == "D":
        return "degraded"
    parts = core.split("_")[1:]
    if len(parts) == 1:
        return {"spleen": "spleen\nred-pulp macrophages", "other": "other tissues"}.get(parts[0], parts[0])
    organ, cell = parts
    who = TARGET_CELLS[organ] if cell == "target" else "other cells"
    if organ == "bone" and cell == "stroma":
        who = "marrow macrophages"
    if organ == "liver" and cell == "stroma":
        who = "hepatocytes / LSEC"
    return f"{ORGAN_NAMES[organ]}\n{who}"


def circulation_figure(mech: Mechanism, path: Path, population: str = "inj") -> Path:
    """Plasma at the centre, the uptake pools on a ring, degradation outside; arrows are processes."""
    g = circulation_graph(mech, population)
    plasma, sink, slow = f"E_{population}", f"D_{population}", f"E_{population}_int"
    ring = [n for n in g.nodes if n not in (plasma, sink, slow)]
    pos = nx.circular_layout(ring, scale=1.0)
    pos[plasma], pos[slow], pos[sink] = (0.0, 0.0), (0.42, -0.3), (1.75, 0.0)
    fig, ax = plt.subplots(figsize=(11, 8.5))
    colours = {"organotropism": "#d95f02", "circulation_clearance": "#1b9e77", "secretion": "#7570b3"}
    for hallmark, colour in colours.items():
        edges = [(a, b) for a, b, d in g.edges(data=True) if d["hallmark"] == hallmark and b != sink]
        nx.draw_networkx_edges(g, pos, edgelist=edges, edge_color=colour, arrows=True, arrowsize=14, ax=ax,
                               connectionstyle="arc3,rad=0.08", width=1.6, label=hallmark.replace("_", " "))
    to_sink = [(a, b) for a, b in g.edges if b == sink]
    nx.draw_networkx_edges(g, pos, edgelist=to_sink, edge_color="#999999", style="dotted", arrows=True, ax=ax,
                           width=0.8, label="lysosomal turnover")
    mps = {n for n in ring if any(k in n for k in ("liver_target", "spleen", "bone_stroma"))}
    nx.draw_networkx_nodes(g, pos, nodelist=[plasma, slow], node_color="#fde0dd", node_size=2600, ax=ax)
    nx.draw_networkx_nodes(g, pos, nodelist=sorted(mps), node_color="#c7e9c0", node_size=2300, ax=ax,
                           edgecolors="#238b45")
    nx.draw_networkx_nodes(g, pos, nodelist=[n for n in ring if n not in mps] + [sink], node_color="#eeeeee",
                           node_size=2300, ax=ax)
    nx.draw_networkx_labels(g, pos, labels={n: _label(n, population) for n in g.nodes}, font_size=7.5, ax=ax)
    ax.set_title("Exosome circulation and clearance as declared in the mechanism (injected population)\n"
                 "each arrow is one process (flow x extraction by the named cells); green: saturable macrophage "
                 "pools\n(liver and spleen pools are depleted by clodronate liposomes)", fontsize=10)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, lw=1.6, label=h.replace("_", " ")) for h, c in colours.items()
               if any(d["hallmark"] == h for *_, d in g.edges(data=True))]
    handles.append(Line2D([], [], color="#999999", lw=0.8, ls=":", label="lysosomal turnover"))
    ax.legend(handles=handles, loc="lower left", fontsize=8, frameon=False)
    ax.set_axis_off()
    return save_figure(fig, Path(path))
