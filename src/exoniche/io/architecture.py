"""The package's layers as the code has them: the import graph of the subpackages, its check, and its figure.

DESIGN.md §5 lets data flow one way, ``evidence -> biology -> engines -> experiments -> observe -> biomarkers /
io / interfaces``: a module may import from its own layer and from layers to its left, never to its right. The
graph is read from the source with :mod:`ast` (every ``import`` statement, also inside functions), so the figure
in docs/architecture.md and the test in tests/test_architecture.py see the code as it is::

    python -m exoniche.io.architecture docs/figures/architecture.png
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import networkx as nx

# Left to right. A layer may hold several subpackages (``calibration`` fits scenarios, like experiments; the
# command line and the web app are the two interfaces). Top-level modules (errors, _ci) serve every layer.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("evidence", ("evidence",)),
    ("biology", ("biology",)),
    ("engines", ("engines",)),
    ("experiments", ("experiments", "calibration")),
    ("observe", ("observe",)),
    ("biomarkers", ("biomarkers",)),
    ("io", ("io",)),
    ("interfaces", ("cli", "web")),
)
SHARED = ("__init__", "errors", "_ci")  # the top level (its __version__, errors, CI helper) serves every layer

ROOT = Path(__file__).resolve().parents[1]


def layer_of(subpackage: str) -> int | None:
    """Return the position of ``subpackage`` in :data:`LAYERS` (None for the shared top-level modules).

    Examples
    --------
    >>> layer_of("engines") < layer_of("experiments") == layer_of("calibration") < layer_of("cli")
    True
    >>> layer_of("errors") is None
    True
    """
    for i, (_, members) in enumerate(LAYERS):
        if subpackage in members:
            return i
    return None


def _is_module(name: str) -> bool:
    return (ROOT / name).is_dir() or (ROOT / f"{name}.py").is_file()


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every ``exoniche.*`` module imported by the file at ``path``, with the line of the import."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "exoniche" else [
                f"exoniche.{a.name}" if _is_module(a.name) else "exoniche.__init__" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out += [(n, node.lineno) for n in names if n.startswith("exoniche.")]
    return out


def module_imports(root: Path = ROOT) -> list[tuple[str, str, str, int]]:
    """Return ``(subpackage, file, imported subpackage, line)`` for every import between subpackages."""
    rows = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        src = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for name, line in _imports(path):
            dst = name.split(".")[1]
            if dst != src:
                rows.append((src, rel.as_posix(), dst, line))
    return rows


def import_graph(root: Path = ROOT) -> nx.DiGraph:
    """Return the subpackage graph: an edge ``a -> b`` when ``a`` imports ``b``, weighted by the imports."""
    g = nx.DiGraph()
    for _, members in LAYERS:
        g.add_nodes_from(members)
    for src, _, dst, _ in module_imports(root):
        if src in SHARED or dst in SHARED:
            continue
        w = g.edges[src, dst]["weight"] + 1 if g.has_edge(src, dst) else 1
        g.add_edge(src, dst, weight=w)
    return g


def violations(root: Path = ROOT) -> list[str]:
    """Return every import of a layer to the right (``file:line imports subpackage``); empty when clean."""
    out = []
    for src, file, dst, line in module_imports(root):
        a, b = layer_of(src), layer_of(dst)
        if dst in SHARED or src in SHARED:
            continue
        if b is None:
            out.append(f"exoniche/{file}:{line} imports {dst!r}, which is in no layer of LAYERS")
        elif a is not None and b > a:
            out.append(f"exoniche/{file}:{line} imports exoniche.{dst} ({LAYERS[b][0]}, right of {LAYERS[a][0]})")
    return out


def draw_architecture(path: str | Path, root: Path = ROOT) -> Path:
    """Draw the layers left to right and the data flow between subpackages (arrow width = imports).

    An arrow goes from the imported subpackage to the one importing it: the way data flows.
    """
    import matplotlib.pyplot as plt

    from exoniche.io.figures import save_figure

    g = import_graph(root)
    pos = {}
    for i, (_, members) in enumerate(LAYERS):
        for j, m in enumerate(members):
            pos[m] = (i, -j * 0.9 + 0.45 * (len(members) - 1))
    fig, ax = plt.subplots(figsize=(13, 4.6))
    for i, (name, _) in enumerate(LAYERS):
        ax.axvspan(i - 0.42, i + 0.42, color="#f1f4f9" if i % 2 else "#e6ecf5", zorder=0)
        ax.text(i, -1.75, name, ha="center", va="bottom", fontsize=9, color="#333", fontweight="bold")
    for a, b, d in g.edges(data=True):  # data flows from the imported (b) to the importing (a) subpackage
        nx.draw_networkx_edges(nx.DiGraph([(b, a)]), pos, ax=ax, width=0.5 + 0.45 * d["weight"] ** 0.5,
                               edge_color="#5d7196", alpha=0.75, arrows=True, arrowsize=11, node_size=2600,
                               connectionstyle="arc3,rad=-0.22", min_source_margin=20,
                               min_target_margin=20)
    nx.draw_networkx_nodes(g, pos, ax=ax, node_size=3000, node_color="white", edgecolors="#2b4c7e", linewidths=1.4)
    nx.draw_networkx_labels(g, pos, ax=ax, font_size=7)
    ax.set_xlim(-0.6, len(LAYERS) - 0.4)
    ax.set_ylim(-1.9, 1.9)
    ax.set_title("exoniche: data flows left to right (arrow: imported -> importing subpackage, width ~ number of "
                 "imports)", fontsize=10, loc="left")
    ax.axis("off")
    return save_figure(fig, path)


if __name__ == "__main__":  # pragma: no cover
    bad = violations()
    if bad:
        sys.exit("\n".join(bad))
    print(draw_architecture(sys.argv[1] if len(sys.argv) > 1 else "docs/figures/architecture.png"))
