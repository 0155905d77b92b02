"""Scenario-level parameters: the values a tumour preset, a host and an experiment set.

They are declared here (biology) because the mechanism's rate laws name them; the experiments layer
chooses their values. Each carries provenance of kind ``scenario`` naming where its value came from.
"""

from __future__ import annotations

from collections.abc import Mapping

from exoniche.biology._mechanism import SIGNAL_CARGO, ZIP_CODES
from exoniche.biology.parameters import Parameter, ParameterSet, base_parameters
from exoniche.biology.presets import COMPAT_ORGANS, TumourPreset

MODEL_CARGO = tuple(dict.fromkeys([c for c, _ in ZIP_CODES] + list(SIGNAL_CARGO) + ["resistance"]))
# Intervention parameters: 0 = no intervention. Experiments switch them on and off over time.
INTERVENTIONS = {
    "anti_vegf_block": "fraction of exosomal VEGF-like signalling neutralised by anti-VEGF",
    "tgfb_block": "fraction of Kupffer TGF-β signalling to stellate cells blocked (anti-TGF-β)",
    "mif_block": "fraction of exosomal MIF activity blocked (MIF inhibitor)",
    "ccl2_block": "fraction of CCL2-driven BMDC recruitment blocked (anti-CCL2) [81]",
    "mmp_block": "fraction of MMP activity blocked (MMP inhibitor) [57, 64]",
    "hdaci_boost": "relative boost of CD8+ T-cell priming by an HDAC inhibitor (with anti-PD-1) [37]",
    "macrophage_depletion": "fraction of liver and spleen macrophages depleted (clodronate liposomes)",
    "chemo_kill_per_day": "chemotherapy kill rate of sensitive tumour cells (1/day)",
    **{f"block_{c}": f"fraction of exosomal {c} blocked by an integrin-blocking antibody [25]" for c, _ in ZIP_CODES},
}
IMMUNE_STATUS = {"immunocompetent": 1.0, "immunodeficient": 0.0}


def cargo_parameters(population: str, cargo: Mapping[str, float], source: str) -> list[Parameter]:
    """Return one ``cargo_<population>_<component>`` parameter per model cargo component (absent = 0)."""
    return [
        Parameter(f"cargo_{population}_{k}", float(cargo.get(k, 0.0)), "dimensionless", "scenario", source)
        for k in MODEL_CARGO
    ]


def scenario_parameters(
    physiology: str,
    tumour: TumourPreset | None,
    tumour_initial_g: float = 0.0,
    tumour_cargo: Mapping[str, float] | None = None,
    injected_cargo: Mapping[str, float] | None = None,
    injected_source: str = "no injection",
    immune_status: str = "immunocompetent",
    release_factor: float = 1.0,
    pd1_blockade: float = 0.0,
    hypoxia_extra: float = 0.0,
    challenge_route: str | None = None,
    challenge_line: TumourPreset | None = None,
) -> ParameterSet:
    """Return the base parameters for the host plus the scenario's own (tumour preset, cargo, host status)."""
    base = base_parameters(physiology)
    tname = tumour.name if tumour else "no tumour"
    route = tumour.drainage if tumour else "venous"
    extra = [
        Parameter("tumour_initial_g", tumour_initial_g, "g", "scenario", "initial primary tumour mass"),
        Parameter("tumour_doubling_time_days", tumour.doubling_time_days if tumour else 5.0, "day", "scenario",
                  f"tumour preset {tname} (doubling at 1 mg)"),
        Parameter("tumour_secretion_per_cell_per_h", tumour.secretion_per_cell_per_h if tumour else 0.0,
                  "particles/cell/h", "scenario", f"tumour preset {tname}"),
        Parameter("colonisation_potential", tumour.colonisation_potential if tumour else 1.0, "dimensionless",
                  "scenario", f"tumour preset {tname}: intrinsic metastatic potential"),
        Parameter("release_factor", release_factor, "dimensionless", "scenario",
                  "exosome release relative to untreated (Rab27a knockdown / GW4869 lower it)"),
        Parameter("hypoxia_extra", hypoxia_extra, "dimensionless", "scenario",
                  "imposed hypoxic fraction on top of size-driven hypoxia (0 = none)"),
        Parameter("immune_competence", IMMUNE_STATUS[immune_status], "dimensionless", "scenario",
                  f"host immune status: {immune_status} (T-cell pool present = 1, absent = 0)"),
        Parameter("pd1_blockade", pd1_blockade, "dimensionless", "scenario",
                  "fraction of PD-1 blocked by anti-PD-1 / anti-PD-L1 antibody"),
        Parameter("ctc_route_portal", 1.0 if route == "portal" else 0.0, "dimensionless", "scenario",
                  f"drainage of the primary (its CTCs and exosomes): {route}"),
        Parameter("inj_route_portal", 1.0 if challenge_route == "portal" else 0.0, "dimensionless", "scenario",
                  f"route of injected tumour cells: {challenge_route or 'none'}"),
        Parameter("inj_route_arterial", 1.0 if challenge_route == "intracardiac" else 0.0, "dimensionless",
                  "scenario", f"route of injected tumour cells: {challenge_route or 'none'}"),
        Parameter("inj_colonisation_potential", challenge_line.colonisation_potential if challenge_line else 1.0,
                  "dimensionless", "scenario",
                  f"injected cell line {challenge_line.name if challenge_line else '(unnamed: reference line)'}"),
    ]
    for pop, line in (("tum", tumour), ("inj", challenge_line)):
        for o, v in (line.organ_compatibility if line else {}).items() or [(o, 1.0) for o in COMPAT_ORGANS]:
            extra.append(Parameter(f"compat_{pop}_{o}", float(v), "dimensionless", "scenario",
                                   f"{line.name}: {line.compatibility_source}" if line else
                                   "no cell line named: reference compatibility 1"))
    extra += [Parameter(name, 0.0, "1/day" if name.endswith("per_day") else "dimensionless", "scenario",
                        f"intervention off: {text}") for name, text in INTERVENTIONS.items()]
    extra += cargo_parameters("tum", tumour_cargo or (tumour.cargo if tumour else {}), f"tumour preset {tname}")
    extra += cargo_parameters("inj", injected_cargo or {}, injected_source)
    return base.extended(extra)
