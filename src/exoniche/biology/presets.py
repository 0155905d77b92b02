"""Tumour presets (cell lines as cargo profile + growth + shedding) and cargo profiles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files

import yaml

from exoniche.errors import ScenarioError, unknown

CARGO = ("itga6b4", "itga6b1", "itgavb5", "itgavb3", "pdl1", "mif", "mir105", "mir25", "vegf", "surveillance",
         "mir21", "resistance", "met")  # fmt: skip
# What users may call a cargo component (knockdown / overexpression targets) -> cargo keys affected.
CARGO_ALIASES: dict[str, tuple[str, ...]] = {
    "itgb4": ("itga6b4",),
    "itga6b4": ("itga6b4",),
    "itgb1": ("itga6b1",),
    "itga6b1": ("itga6b1",),
    "itga6": ("itga6b4", "itga6b1"),
    "itgb5": ("itgavb5",),
    "itgavb5": ("itgavb5",),
    "itgb3": ("itgavb3",),
    "itgavb3": ("itgavb3",),
    "itgav": ("itgavb5", "itgavb3"),
    "pdl1": ("pdl1",),
    "mif": ("mif",),
    "mir105": ("mir105",),
    "mir25": ("mir25",),
    "mir253p": ("mir25",),
    "vegf": ("vegf",),
    "surveillance": ("surveillance",),
    "mir21": ("mir21",),
    "dnp73": ("resistance",),
    "resistance": ("resistance",),
    "met": ("met",),
}
DRAINAGE = ("venous", "portal")
SPECIES = ("human", "mouse")
COMPAT_ORGANS = ("lung", "liver", "bone", "brain", "ln")


@dataclass(frozen=True)
class TumourPreset:
    """A tumour line: cargo profile, drainage route, growth and shedding, with provenance."""

    name: str
    description: str
    cancer_type: str
    drainage: str
    cargo: Mapping[str, float] = field(default_factory=dict)
    secretion_per_cell_per_h: float = 60.0
    doubling_time_days: float = 5.0
    colonisation_potential: float = 1.0
    provenance: str = ""
    species: str = "human"
    organ_compatibility: Mapping[str, float] = field(default_factory=dict)
    compatibility_source: str = ""

    def to_dict(self) -> dict:
        """Return the preset as a JSON record (cargo, drainage, compatibility and provenance)."""
        return {
            "name": self.name,
            "description": self.description,
            "cancer_type": self.cancer_type,
            "drainage": self.drainage,
            "cargo": dict(self.cargo),
            "secretion_per_cell_per_h": self.secretion_per_cell_per_h,
            "doubling_time_days": self.doubling_time_days,
            "colonisation_potential": self.colonisation_potential,
            "provenance": self.provenance,
            "species": self.species,
            "organ_compatibility": dict(self.organ_compatibility),
            "compatibility_source": self.compatibility_source,
        }


def cargo_keys(component: str) -> tuple[str, ...]:
    """Map a user's cargo name ("ITGβ4", "miR-25-3p", "PD-L1") to model cargo keys."""
    from exoniche.evidence import normalise  # upstream layer: allowed

    key = normalise(component)
    if key not in CARGO_ALIASES:
        raise unknown("cargo", component, sorted(CARGO_ALIASES), what="component")
    return CARGO_ALIASES[key]


@lru_cache(maxsize=1)
def tumour_presets() -> dict[str, TumourPreset]:
    """Return the tumour presets of ``data/tumours.yaml`` by name, each checked on loading."""
    text = files("exoniche.biology").joinpath("data/tumours.yaml").read_text(encoding="utf-8")
    out = {}
    for name, entry in yaml.safe_load(text).items():
        cargo = {k: float(entry["cargo"].get(k, 0.0)) for k in CARGO}
        bad = set(entry["cargo"]) - set(CARGO)
        if bad or entry["drainage"] not in DRAINAGE:
            raise ScenarioError(f"tumours.yaml {name}: bad cargo keys {bad} or drainage {entry['drainage']!r}")
        compat = entry.get("organ_compatibility", {})
        if entry.get("species") not in SPECIES or set(compat) != set(COMPAT_ORGANS) or not entry.get(
                "compatibility_source"):
            raise ScenarioError(f"tumours.yaml {name}: needs species ({'/'.join(SPECIES)}), organ_compatibility for "
                                f"{', '.join(COMPAT_ORGANS)} and compatibility_source")
        out[name] = TumourPreset(name=name, **{**entry, "cargo": cargo,
                                               "organ_compatibility": {k: float(v) for k, v in compat.items()}})
    return out


def tumour_preset(name: str) -> TumourPreset:
    """Return the tumour preset ``name``; an unknown name is a :class:`ScenarioError` naming ``tumour.preset``."""
    presets = tumour_presets()
    if name not in presets:
        raise unknown("tumour.preset", name, presets)
    return presets[name]
