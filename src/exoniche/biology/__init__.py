"""The mechanism as data: species, processes with cited claims, parameters and presets (no numerics)."""

from functools import lru_cache

from exoniche.biology._mechanism import (
    CELLS,
    HALLMARKS,
    MPS_POOLS,
    NICHE_INDICES,
    ORGAN_NAMES,
    ORGANS,
    POPULATIONS,
    SIGNAL_CARGO,
    TARGET_CELLS,
    UPTAKE_SITES,
    ZIP_CODES,
    Expression,
    Mechanism,
    Process,
    Species,
    build_mechanism,
)  # fmt: skip
from exoniche.biology.conditions import IMMUNE_STATUS, MODEL_CARGO, scenario_parameters
from exoniche.biology.parameters import Parameter, ParameterSet, base_parameters, scaled_parameters
from exoniche.biology.presets import CARGO, TumourPreset, cargo_keys, tumour_preset, tumour_presets


@lru_cache(maxsize=1)
def mechanism() -> Mechanism:
    """Return the whole-body mechanism (built once)."""
    return build_mechanism()


def claim_citations() -> dict[str, list[str]]:
    """Model term -> claim ids it cites (the evidence layer's hook for unused claims)."""
    return mechanism().claim_citations()


__all__ = [
    "CARGO", "CELLS", "HALLMARKS", "IMMUNE_STATUS", "MODEL_CARGO", "MPS_POOLS", "NICHE_INDICES", "ORGANS",
    "ORGAN_NAMES", "POPULATIONS", "SIGNAL_CARGO", "TARGET_CELLS", "UPTAKE_SITES", "ZIP_CODES", "Expression",
    "Mechanism", "Parameter", "ParameterSet", "Process", "Species", "TumourPreset", "base_parameters",
    "build_mechanism", "cargo_keys", "claim_citations", "mechanism", "scaled_parameters", "scenario_parameters",
    "tumour_preset", "tumour_presets",
]  # fmt: skip
