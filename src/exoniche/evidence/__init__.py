"""The literature as data: the review's claims, search, statistics and graph export."""

from exoniche.evidence.claims import Claim, get_claim, load_claims
from exoniche.evidence.graph import build_graph, write_graph
from exoniche.evidence.query import normalise, search, stats

__all__ = ["Claim", "load_claims", "get_claim", "search", "stats", "normalise", "build_graph", "write_graph"]
