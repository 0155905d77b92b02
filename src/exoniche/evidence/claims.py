"""The review's statements as validated data (``data/claims.yaml``).

A claim is one mechanistic or clinical statement of Guo et al. 2019 (Mol Cancer 18:39) with the
review's reference numbers. Model terms in :mod:`exoniche.biology` cite claims by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from exoniche.errors import DataError, check_choice, unknown

SECTIONS = (
    "background",
    "inflammation",
    "immune_suppression",
    "immune_surveillance",
    "angiogenesis_permeability",
    "organotropism",
    "matrix_remodelling",
    "rna_cargo",
    "biomarker_diagnosis",
    "biomarker_metastasis",
    "biomarker_prognosis",
    "biomarker_treatment",
    "therapy",
    "open_question",
)
RELATIONS = (
    "upregulates", "downregulates", "increases", "decreases", "activates", "inhibits", "recruits",
    "taken_up_by", "colocalizes_with", "induces", "promotes", "reduces", "binds", "carries", "secretes",
    "confers", "biomarker_of", "predicts", "associated_with", "requires", "open_question",
)  # fmt: skip
CONTEXT_KEYS = ("cell_line", "organ", "cell_type", "species", "cancer_type", "condition")
DIRECTIONS = ("up", "down", "none", "mixed")
REF_RANGE = (1, 104)  # the review's bibliography
_KEYS = ("id", "section", "subject", "relation", "object", "context", "effect", "refs", "quote")
_REQUIRED = ("id", "section", "subject", "relation", "object", "refs")


@dataclass(frozen=True)
class Claim:
    """One statement of the review.

    Attributes
    ----------
    id : str
        Stable identifier (``ORG-07``); model terms cite it.
    section : str
        Review section, one of :data:`SECTIONS`.
    subject, relation, object : str
        The statement as a triple; ``relation`` is one of :data:`RELATIONS`.
    context : dict
        Cell line, organ, cell type, species, cancer type, condition (only those that apply).
    direction : str
        ``up``, ``down``, ``none`` or ``mixed``.
    size : str or None
        The effect size as the review states it (``"7-fold"``, ``"21 of 44"``), if given.
    refs : tuple of int
        The review's reference numbers.
    quote : str
        A short phrase of the review, to find the statement in the text.
    """

    id: str
    section: str
    subject: str
    relation: str
    object: str
    context: dict = field(default_factory=dict)
    direction: str = "none"
    size: str | None = None
    refs: tuple[int, ...] = ()
    quote: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the claim as a JSON record (every field, references as a list)."""
        return {
            "id": self.id,
            "section": self.section,
            "subject": self.subject,
            "relation": self.relation,
            "object": self.object,
            "context": dict(self.context),
            "effect": {"direction": self.direction, "size": self.size},
            "refs": list(self.refs),
            "quote": self.quote,
        }

    def sentence(self) -> str:
        """Render the claim on one human-readable line with references."""
        size = f" ({self.size})" if self.size else ""
        refs = ", ".join(str(r) for r in self.refs)
        return f"{self.subject} {self.relation.replace('_', ' ')} {self.object}{size} [{refs}]"


def _check_choice(where: str, fld: str, value: Any, allowed: tuple[str, ...]) -> str:
    return check_choice(f"{where}: field '{fld}'", value, allowed, DataError)


def _refs(refs: Any, where: str) -> list[int]:
    """Validate the ``refs`` field: reference numbers of the review."""
    if not isinstance(refs, list) or not all(isinstance(r, int) and not isinstance(r, bool) for r in refs):
        raise DataError(f"{where}: field 'refs' must be a list of integers, got {refs!r}")
    lo, hi = REF_RANGE
    for r in refs:
        if not lo <= r <= hi:
            raise DataError(f"{where}: field 'refs' has {r}; the review's references are numbered {lo}..{hi}")
    return refs


def parse_claim(entry: Any, where: str) -> Claim:
    """Validate one raw YAML entry; errors name the entry and the field."""
    if not isinstance(entry, dict):
        raise DataError(f"{where}: expected a mapping with keys {', '.join(_KEYS)}, got {type(entry).__name__}")
    cid = entry.get("id", "?")
    where = f"{where} (id {cid})"
    for key in entry:
        if key not in _KEYS:
            raise unknown(where, key, _KEYS, DataError, what="field")
    for key in _REQUIRED:
        if key not in entry or entry[key] in (None, ""):
            raise DataError(f"{where}: required field '{key}' is missing or empty")
    for key in ("id", "subject", "object"):
        if not isinstance(entry[key], str):
            raise DataError(f"{where}: field '{key}' must be text, got {entry[key]!r}")
    _check_choice(where, "section", entry["section"], SECTIONS)
    _check_choice(where, "relation", entry["relation"], RELATIONS)
    context = entry.get("context") or {}
    if not isinstance(context, dict):
        raise DataError(f"{where}: field 'context' must be a mapping, got {context!r}")
    for key, value in context.items():
        _check_choice(where, "context", key, CONTEXT_KEYS)
        if not isinstance(value, str):
            raise DataError(f"{where}: field 'context.{key}' must be text, got {value!r}")
    effect = entry.get("effect") or {}
    if not isinstance(effect, dict):
        raise DataError(f"{where}: field 'effect' must be a mapping with direction and size, got {effect!r}")
    direction = _check_choice(where, "effect.direction", effect.get("direction", "none"), DIRECTIONS)
    size = effect.get("size")
    if size is not None and not isinstance(size, str):
        raise DataError(f"{where}: field 'effect.size' must be text such as '7-fold', got {size!r}")
    refs = _refs(entry["refs"], where)
    quote = entry.get("quote") or ""
    return Claim(
        id=entry["id"],
        section=entry["section"],
        subject=entry["subject"],
        relation=entry["relation"],
        object=entry["object"],
        context=dict(context),
        direction=direction,
        size=size,
        refs=tuple(refs),
        quote=str(quote),
    )


def parse_claims(raw: Any, source: str) -> tuple[Claim, ...]:
    """Validate a whole claims document (a YAML list)."""
    if not isinstance(raw, list):
        raise DataError(f"{source}: expected a list of claims at the top level")
    claims = [parse_claim(e, f"{source}: entry {i + 1}") for i, e in enumerate(raw)]
    seen: dict[str, int] = {}
    for i, c in enumerate(claims):
        if c.id in seen:
            raise DataError(f"{source}: entry {i + 1}: duplicate id {c.id!r} (first at entry {seen[c.id] + 1})")
        seen[c.id] = i
    return tuple(claims)


def load_claims(path: str | Path | None = None) -> tuple[Claim, ...]:
    """Load and validate claims; by default the packaged review claims (cached)."""
    if path is None:
        return _packaged()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read claims file ({exc})") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({exc})") from exc
    return parse_claims(raw, str(path))


@lru_cache(maxsize=1)
def _packaged() -> tuple[Claim, ...]:
    resource = files("exoniche.evidence").joinpath("data/claims.yaml")
    return parse_claims(yaml.safe_load(resource.read_text(encoding="utf-8")), "claims.yaml")


def get_claim(claim_id: str) -> Claim:
    """Return one packaged claim by id (case-insensitive)."""
    by_id = {c.id.upper(): c for c in load_claims()}
    try:
        return by_id[claim_id.upper()]
    except KeyError:
        raise unknown("claim id", claim_id.upper(), by_id, DataError, label=None) from None
