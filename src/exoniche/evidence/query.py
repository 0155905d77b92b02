"""Search and summarise claims; report which claims no model term uses yet."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping

from exoniche.evidence.claims import RELATIONS, SECTIONS, Claim, load_claims

_GREEK = {
    "α": "a", "β": "b", "γ": "g", "δ": "d", "Δ": "d", "κ": "k", "λ": "l", "μ": "m", "µ": "m",
    "ε": "e", "θ": "th", "ζ": "z", "ω": "w", "τ": "t", "ß": "b",
}  # fmt: skip
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> str:
    """Fold case, Greek letters and punctuation so "ITGβ4", "ITGB4" and "itg-b4" compare equal."""
    text = "".join(_GREEK.get(ch, ch) for ch in unicodedata.normalize("NFC", str(text)))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _NON_ALNUM.sub("", text)


def _haystack(claim: Claim) -> str:
    parts = [claim.subject, claim.object, *claim.context.values()]
    return " ".join(normalise(p) for p in parts)


def search(text: str, claims: Iterable[Claim] | None = None) -> list[Claim]:
    """Claims whose subject, object or context contains ``text`` (case- and Greek-insensitive)."""
    needle = normalise(text)
    if not needle:
        return []
    pool = load_claims() if claims is None else claims
    return [c for c in pool if needle in _haystack(c)]


def stats(
    claims: Iterable[Claim] | None = None, cited_by: Mapping[str, Iterable[str]] | None = None
) -> dict:
    """Count claims per section and relation, and the claims that no model term cites.

    Parameters
    ----------
    cited_by
        Mapping model-term name -> claim ids it cites (from :mod:`exoniche.biology`); passed in by a
        downstream caller, since evidence sits upstream of biology and must not import it.
    """
    pool = list(load_claims() if claims is None else claims)
    per_section = Counter(c.section for c in pool)
    per_relation = Counter(c.relation for c in pool)
    out = {
        "n_claims": len(pool),
        "sections": {s: per_section.get(s, 0) for s in SECTIONS},
        "relations": {r: per_relation[r] for r in RELATIONS if per_relation.get(r)},
        "references_cited": sorted({r for c in pool for r in c.refs}),
    }
    if cited_by is not None:
        used: dict[str, list[str]] = {}
        for term, ids in cited_by.items():
            for cid in ids:
                used.setdefault(cid, []).append(term)
        known = {c.id for c in pool}
        out["n_claims_used_by_model"] = sum(1 for c in pool if c.id in used)
        out["claims_without_model_term"] = [c.id for c in pool if c.id not in used]
        out["unknown_claim_ids_cited"] = sorted(set(used) - known)
    return out
