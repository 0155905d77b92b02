"""The claims as a networkx graph of entities (nodes) and relations (edges)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import networkx as nx

from exoniche.errors import DataError, unknown
from exoniche.evidence.claims import Claim, load_claims

GRAPH_FORMATS = ("graphml", "json")


def build_graph(claims: Iterable[Claim] | None = None) -> nx.MultiDiGraph:
    """One node per entity (subject or object text), one edge per claim, keyed by claim id."""
    g = nx.MultiDiGraph(name="exoniche evidence (Guo et al. 2019, Mol Cancer 18:39)")
    for c in load_claims() if claims is None else claims:
        for node in (c.subject, c.object):
            if node not in g:
                g.add_node(node, label=node)
        g.add_edge(
            c.subject,
            c.object,
            key=c.id,
            claim=c.id,
            relation=c.relation,
            section=c.section,
            direction=c.direction,
            size=c.size or "",
            refs=",".join(str(r) for r in c.refs),  # GraphML attributes must be scalars
        )
    return g


def write_graph(path: str | Path, fmt: str = "graphml", claims: Iterable[Claim] | None = None) -> Path:
    """Write the graph as GraphML or node-link JSON; returns the path written."""
    if fmt not in GRAPH_FORMATS:
        raise unknown("--format", fmt, GRAPH_FORMATS, DataError)
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise DataError(f"--out: folder {str(path.parent)!r} does not exist")
    g = build_graph(claims)
    try:
        if fmt == "graphml":
            nx.write_graphml(g, path)
        else:
            path.write_text(json.dumps(nx.node_link_data(g, edges="links"), indent=1, ensure_ascii=False))
    except OSError as exc:
        raise DataError(f"--out: cannot write {str(path)!r} ({exc.strerror})") from exc
    return path
