"""The whole-body mechanism declared once, as data: species, named expressions, processes.

Every process carries a rate law (an expression over species, parameters and named expressions in
the common syntax of Python and SBML Level 3 formulas: ``+ - * /``, ``pow(a, b)``, ``ln(x)``,
``exp(x)``), the species it changes, and the claims of the evidence base it encodes. Engines and the
SBML exporter read this one declaration; nothing here computes.

Compartments: primary tumour, plasma and a slow distribution pool, five target organs (lung, liver,
bone marrow, brain, regional lymph node) each with a target cell type and the other cells, spleen, the
remaining tissues, and degraded exosomes (lysosomal turnover).

``build_mechanism`` declares the model one hallmark at a time (``_growth_hypoxia`` ...
``_dissemination_colonisation``, in :data:`HALLMARKS` order), each function a short, cited block.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ORGANS = ("lung", "liver", "bone", "brain", "ln")
ORGAN_NAMES = {"lung": "lung", "liver": "liver", "bone": "bone marrow", "brain": "brain", "ln": "lymph node"}
# The resident cell type that integrin zip codes deliver to in each organ [25].
TARGET_CELLS = {
    "lung": "S100A4+ fibroblast",
    "liver": "Kupffer cell",
    "bone": "marrow stromal cell",
    "brain": "brain endothelial cell",
    "ln": "sinus macrophage",
}
CELLS = ("target", "stroma")
# Macrophage (MPS) pools whose uptake saturates: pool -> (tissue mass, species holding its load).
MPS_POOLS = {
    "kupffer": ("organ_mass_liver_g", "B_{p}_liver_target"),
    "spleen": ("organ_mass_spleen_g", "B_{p}_spleen"),
    "marrow": ("organ_mass_bone_g", "B_{p}_bone_stroma"),
}
# Where injected exosomes can be recovered: the five target organs plus spleen and other tissues.
UPTAKE_SITES = (*("lung", "liver", "bone", "brain", "ln"), "spleen", "other")
# Integrin zip codes: cargo key -> organ it directs uptake to [25] (parameter integrin_<cargo>_<organ>).
ZIP_CODES = (("itga6b4", "lung"), ("itga6b1", "lung"), ("itgavb5", "liver"), ("itgavb3", "brain"))
# Cargo read as a signal by niche processes (besides integrins).
SIGNAL_CARGO = ("pdl1", "mif", "mir105", "mir25", "vegf", "surveillance", "met")
POPULATIONS = {"tum": "tumour-derived exosomes (primary + metastases)", "inj": "injected exosomes"}
NICHE_INDICES = ("S100", "Perm", "Ang", "FN", "BMDC", "MDSC", "Surv")
HALLMARKS = (
    "growth_hypoxia", "secretion", "circulation_clearance", "organotropism", "inflammation",
    "immune_suppression", "immune_surveillance", "permeability_angiogenesis", "matrix_bmdc",
    "dissemination_colonisation",
)  # fmt: skip


@dataclass(frozen=True)
class Species:
    """A state variable: amount or fold index in one compartment, with its initial-value formula."""

    name: str
    unit: str
    compartment: str
    description: str
    initial: str = "0"  # an expression over parameters
    scale: float = 1.0  # typical magnitude, for absolute tolerances


@dataclass(frozen=True)
class Expression:
    """A named formula over species, parameters and earlier expressions (evaluated in declaration order)."""

    name: str
    formula: str
    unit: str
    description: str


@dataclass(frozen=True)
class Process:
    """A rate law with its stoichiometry, the hallmark it belongs to and the claims (and papers) it encodes."""

    name: str
    rate: str
    stoich: dict
    hallmark: str
    claims: tuple[str, ...]
    description: str
    refs: tuple[str, ...] = ()  # primary papers beyond the review

    def reaction(self) -> str:
        """Return the process as ``reactants -> products``."""
        lhs = " + ".join(s for s, v in self.stoich.items() if v < 0) or "∅"
        rhs = " + ".join(s for s, v in self.stoich.items() if v > 0) or "∅"
        return f"{lhs} -> {rhs}"


@dataclass
class Mechanism:
    """The whole declaration: species, named expressions and processes, in order."""

    species: list[Species] = field(default_factory=list)
    expressions: list[Expression] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)

    def species_names(self) -> list[str]:
        """Return the species names in state-vector order."""
        return [s.name for s in self.species]

    def index(self) -> dict[str, int]:
        """Map each species name to its position in the state vector."""
        return {s.name: i for i, s in enumerate(self.species)}

    def claim_citations(self) -> dict[str, list[str]]:
        """Map each process to the claim ids it cites."""
        return {p.name: list(p.claims) for p in self.processes}

    # -- builders -------------------------------------------------------------------------------
    def sp(self, name, unit, compartment, description, initial="0", scale=1.0):
        """Declare a species."""
        self.species.append(Species(name, unit, compartment, description, initial, scale))

    def ex(self, name, formula, unit, description):
        """Declare a named expression."""
        self.expressions.append(Expression(name, formula, unit, description))

    def pr(self, name, rate, stoich, hallmark, claims, description, refs=()):
        """Declare a process (its hallmark must be one of :data:`HALLMARKS`)."""
        assert hallmark in HALLMARKS, hallmark
        self.processes.append(Process(name, rate, dict(stoich), hallmark, tuple(claims), description, tuple(refs)))


def _sum(terms) -> str:
    terms = list(terms)
    return "(" + " + ".join(terms) + ")" if terms else "0"


def _relax(rate: str, target: str, state: str) -> str:
    """First-order approach of an index to its driven steady state (fold-change units)."""
    return f"{rate} * ({target} - {state})"


def _pbpk_delivery(m: Mechanism) -> None:
    """Circulation and clearance as physiologically based kinetics (DESIGN.md §2.3 item 3).

    Each uptake site extracts exosomes from its own plasma flow: rate constant = plasma flow to the
    organ x single-pass extraction by a named cell population / plasma volume. Flows scale with body
    weight^0.75 and volumes with body weight (one allometric rule for uptake and clearance alike);
    extractions are cell properties shared by mouse and human. Macrophage pools (Kupffer cells, splenic
    red-pulp and marrow macrophages) saturate with their load and are removed by clodronate liposomes.
    """
    m.ex("plasma_flow_ml_per_day", "cardiac_output_l_per_h_per_kg075 * pow(body_weight_kg, 0.75) * ml_per_l * "
         "hours_per_day * plasma_fraction_of_blood", "mL/day", "plasma flow through the heart (allometric)")
    m.ex("q_per_day", "plasma_flow_ml_per_day / plasma_volume_ml", "1/day",
         "plasma volumes pumped per day (scales as body weight^-0.25)")
    m.ex("mps_present", "1 - macrophage_depletion", "dimensionless",
         "share of liver/spleen macrophages present (clodronate liposomes deplete them)")
    for pool, (mass, species) in MPS_POOLS.items():
        load = _sum(f"{species.format(p=p)}" for p in POPULATIONS)
        m.ex(f"sat_{pool}", f"mps_capacity_gp_per_g * {mass} / (mps_capacity_gp_per_g * {mass} + {load})",
             "dimensionless", f"free uptake capacity of {pool} macrophages (saturable uptake)")
    m.ex("flow_share_other", "1 - flow_share_liver - flow_share_bone - flow_share_brain - flow_share_ln - "
         "flow_share_spleen", "dimensionless", "cardiac output share of the remaining tissues")
    for p in POPULATIONS:
        for o in ORGANS:
            zsum = _zips(p, o)
            m.ex(f"k_{p}_{o}_target", _k_target(p, o, True), "1/day",
                 f"extraction of {p} exosomes by {TARGET_CELLS[o]}s: flow x (integrin-free + integrin zip-code "
                 "extraction) [25]")
            m.ex(f"intfrac_{p}_{o}", f"({zsum}) / (extraction_target_{o} + {zsum})", "dimensionless",
                 f"share of {TARGET_CELLS[o]} uptake of {p} exosomes that engages integrins [25]")
            m.ex(f"k_{p}_{o}_stroma", _k_stroma(o, True), "1/day",
                 f"integrin-independent extraction of {p} exosomes by other {ORGAN_NAMES[o]} cells")
        m.ex(f"k_{p}_spleen", _k_spleen(True), "1/day", f"extraction of {p} exosomes by splenic red-pulp macrophages")
        m.ex(f"k_{p}_other", "q_per_day * flow_share_other * extraction_other", "1/day",
             f"extraction of {p} exosomes by the remaining tissues")
    m.ex("k_distribution", "q_per_day * distribution_extraction", "1/day",
         "transfer of plasma exosomes into the slow distribution pool")
    for sat, suffix in ((True, ""), (False, "0")):
        kupffer = f"(extraction_target_liver + {_zips('tum', 'liver')}) * mps_present"
        kupffer += " * sat_kupffer" if sat else ""
        m.ex(f"first_pass_tum{suffix}", f"ctc_route_portal * ({kupffer} + extraction_stroma_liver)",
             "dimensionless", "single-pass hepatic extraction of tumour exosomes from a portal-drained primary"
             + ("" if sat else " (empty macrophage pools)"))
        if sat:
            m.ex("first_pass_target_share", f"{kupffer} / ({kupffer} + extraction_stroma_liver)", "dimensionless",
                 "Kupffer-cell share of hepatic first-pass extraction")


def _arrest(m: Mechanism, o: str) -> None:
    """Share of circulating cells arrested in organ ``o``'s capillaries, by route of entry.

    Cells stop in the first capillary bed they meet (capillary_arrest_fraction): the lung for venous
    entry, the liver for portal entry; arterial (intracardiac) entry spreads them by cardiac output
    share, and the cells passing those beds reach the lung through the veins.
    """
    fp = "capillary_arrest_fraction"
    systemic = "(flow_share_liver + flow_share_bone + flow_share_brain + flow_share_ln + flow_share_spleen + " \
               "flow_share_other)"
    if o == "lung":
        venous, portal, arterial = fp, f"(1 - {fp}) * {fp}", f"(1 - {fp} * {systemic}) * {fp}"
    elif o == "liver":
        venous, portal, arterial = f"(1 - {fp}) * flow_share_liver", fp, f"{fp} * flow_share_liver"
    else:
        venous = f"(1 - {fp}) * flow_share_{o}"
        portal, arterial = f"(1 - {fp}) * (1 - {fp}) * flow_share_{o}", f"{fp} * flow_share_{o}"
    m.ex(f"arrest_tum_{o}", f"(1 - ctc_route_portal) * {venous} + ctc_route_portal * {portal}", "dimensionless",
         f"share of the primary's CTCs arrested in the {ORGAN_NAMES[o]} (first capillary bed by drainage)")
    m.ex(f"arrest_inj_{o}", f"(1 - inj_route_portal - inj_route_arterial) * {venous} + inj_route_portal * {portal}"
         f" + inj_route_arterial * {arterial}", "dimensionless",
         f"share of injected tumour cells arrested in the {ORGAN_NAMES[o]} (venous, portal or intracardiac)")


def _zips(p: str, o: str) -> str:
    zips = [f"integrin_{cg}_{org} * cargo_{p}_{cg} * (1 - block_{cg})" for cg, org in ZIP_CODES if org == o]
    return " + ".join(zips) if zips else "0"


def _k_target(p: str, o: str, saturating: bool) -> str:
    mps = " * mps_present" + (" * sat_kupffer" if saturating else "") if o == "liver" else ""
    return f"q_per_day * flow_share_{o} * (extraction_target_{o} + {_zips(p, o)}){mps}"


def _k_stroma(o: str, saturating: bool) -> str:
    sat = " * sat_marrow" if o == "bone" and saturating else ""
    return f"q_per_day * flow_share_{o} * extraction_stroma_{o}{sat}"


def _k_spleen(saturating: bool) -> str:
    return "q_per_day * flow_share_spleen * extraction_spleen * mps_present" + (" * sat_spleen" if saturating else "")


def _state(m: Mechanism) -> None:
    """Species: the state vector, declared in one place so its layout is fixed."""
    m.sp("N", "g", "primary", "primary tumour mass", "tumour_initial_g", 1.0)
    for p, desc in POPULATIONS.items():
        m.sp(f"E_{p}", "Gp", "plasma", f"{desc} in plasma", "E_tum_qss0" if p == "tum" else "0", 10.0)
        for o in ORGANS:
            for c in CELLS:
                who = TARGET_CELLS[o] if c == "target" else "other cells"
                m.sp(f"B_{p}_{o}_{c}", "Gp", o, f"{desc} bound/internalised by {who} of the {ORGAN_NAMES[o]}",
                     "0", 10.0)
        m.sp(f"B_{p}_spleen", "Gp", "spleen", f"{desc} taken up by splenic red-pulp macrophages", "0", 10.0)
        m.sp(f"B_{p}_other", "Gp", "other", f"{desc} taken up by other tissues (kidney, gut, muscle, skin)", "0", 10.0)
        m.sp(f"E_{p}_int", "Gp", "interstitium", f"{desc} in the slow distribution pool (interstitium, lymph)",
             "E_tum_int_qss0" if p == "tum" else "0", 10.0)
        m.sp(f"D_{p}", "Gp", "sink", f"{desc} internalised and degraded (lysosomal turnover)", "0", 10.0)
    m.sp("C", "cells", "plasma", "circulating tumour cells shed by primary and metastases",
         "ctc_shedding_per_g_per_day * tumour_initial_g / ctc_loss_per_day", 1e4)
    m.sp("C_inj", "cells", "plasma", "tumour cells injected into the circulation (experimental metastasis)", "0", 1e4)
    for o in ORGANS:
        for idx, desc in (
            ("S100", "S100 inflammation (S100A4/A6/A8/A9/A10/A11/A13/A16, S100P) in target stromal cells"),
            ("Perm", "vascular permeability"),
            ("Ang", "angiogenesis (microvessel density)"),
            ("FN", "fibronectin deposition"),
            ("BMDC", "arrested bone-marrow-derived macrophages and neutrophils"),
            ("MDSC", "suppressive myeloid and regulatory cells (MDSC, TAM, TAN, Treg)"),
            ("Surv", "patrolling monocytes and NK cells (surveillance)"),
        ):
            m.sp(f"{idx}_{o}", "fold", o, f"{desc}, fold over the healthy {ORGAN_NAMES[o]}", "1", 1.0)
        m.sp(f"Col_{o}", "colonies", o, f"expected number of metastases seeded in the {ORGAN_NAMES[o]}", "0", 1e-3)
        m.sp(f"M_{o}", "g", o, f"metastatic tumour mass in the {ORGAN_NAMES[o]} (mean field)", "0", 1e-9)
    m.sp("Resist", "fraction", "primary", "chemoresistant fraction of tumour cells (exosome-transferred ΔNp73 [102])",
         "0", 1.0)
    m.sp("TGFb_liver", "fold", "liver", "Kupffer-cell TGF-β, fold over healthy liver", "1", 1.0)
    m.sp("T_spleen", "fold", "spleen", "CD8+ T cells in spleen, fold over healthy host", "immune_competence", 1.0)
    m.sp("T_ln", "fold", "ln", "CD8+ T cells in regional lymph node, fold over healthy host", "immune_competence",
         1.0)
    m.sp("NK", "fold", "plasma", "NK-cell function, fold over healthy host", "1", 1.0)
    m.sp("Edu_bone", "fold", "bone", "bone-marrow progenitors educated by exosomal MET (c-Kit+ Tie2+ Met+, "
         "pro-vasculogenic), fold over the healthy marrow [19]", "1", 1.0)
    m.sp("PDL1_ifn", "fold", "primary", "IFN-γ-driven PD-L1 on tumour cells and their exosomes, fold over the "
         "line's resting level [38]", "1", 1.0)


def _growth_hypoxia(m: Mechanism) -> None:
    """Primary growth, hypoxia and chemotherapy with exosome-transferred resistance [68, 69, 102]."""
    m.ex("tumour_alpha", "tumour_growth_host_factor * ln(2) / (tumour_doubling_time_days * "
         "ln(tumour_capacity_g / 0.001))", "1/day",
         "Gompertz rate giving the preset's doubling time at 1 mg (slower in human hosts)")
    m.ex("hyp_size", "pow(N, hypoxia_hill) / (pow(N, hypoxia_hill) + pow(hypoxia_half_mass_g, hypoxia_hill))",
         "dimensionless", "hypoxic fraction rising with tumour size [68, 69]")
    m.ex("hypoxia", "hyp_size + (1 - hyp_size) * hypoxia_extra", "dimensionless",
         "hypoxic fraction including experimentally imposed hypoxia")
    m.ex("met_mass", _sum(f"M_{o}" for o in ORGANS), "g", "total metastatic mass")
    m.pr("tumour_growth", "tumour_alpha * N * ln(tumour_capacity_g / (N + mass_floor_g))", {"N": 1},
         "growth_hypoxia", ["BG-13"], "Gompertz growth of the primary", refs=["Norton 1988 Cancer Res 48:7067"])
    m.ex("chemo_effect", "chemo_kill_per_day * (1 - Resist)", "1/day",
         "chemotherapy kill rate, lowered by the resistant fraction [102]")
    m.pr("chemotherapy", "chemo_effect * N", {"N": -1}, "growth_hypoxia", ["THER-08", "THER-12"],
         "cytotoxic chemotherapy of the primary (e.g. oxaliplatin)")
    m.pr("resistance_transfer", "chemo_resistance_rate * conc_tum * cargo_tum_resistance * (1 - Resist) "
         "* (chemo_kill_per_day / (chemo_kill_per_day + chemo_reference_kill_per_day))",
         {"Resist": 1}, "growth_hypoxia", ["THER-12", "THER-11", "THER-08"],
         "exosomes of resistant cells transfer ΔNp73 and oxaliplatin resistance to sensitive cells under therapy [102]")


def _secretion(m: Mechanism) -> None:
    """Exosome release by tumour mass into blood and lymph, raised by hypoxia [50, 51]."""
    released = (  # what the tumour releases: amount, and the cargo that changes with the tumour's state
        ("sec_per_g", "tumour_secretion_per_cell_per_h * hours_per_day * cells_per_g / particles_per_gp * "
         "(1 + hypoxia_secretion_gain * hypoxia) * release_factor", "Gp/g/day", "exosome release per g tumour"),
        ("cargo_tum_pdl1_now", "cargo_tum_pdl1 * PDL1_ifn", "dimensionless",
         "PD-L1 on tumour cells and their exosomes now: the line's level raised by IFN-γ [38]"),
        ("cargo_hyp_vegf", "cargo_tum_vegf * (1 + hypoxia_cargo_gain * hypoxia)", "dimensionless",
         "pro-angiogenic cargo of tumour exosomes, raised by hypoxia [50, 51]"),
    )
    for name, formula, unit, description in released:
        m.ex(name, formula, unit, description)
    m.pr("secretion_blood", "sec_per_g * (N * (1 - lymph_drainage_fraction) * (1 - first_pass_tum) + met_mass)",
         {"E_tum": 1},
         "secretion", ["IMS-06", "BG-10", "ANG-01", "ECM-15"],
         "exosome release by primary and metastases into blood (more when hypoxic [50, 51])",
         refs=["Chiu 2016 Small (60-65 exosomes/cell/h)"])
    m.pr("secretion_lymph", "sec_per_g * N * lymph_drainage_fraction", {"B_tum_ln_target": 1}, "secretion",
         ["IMS-06", "IMS-11"], "exosomes draining through lymphatics to the regional node")


def _circulation_clearance(m: Mechanism) -> None:
    """Whole-body exosome kinetics: PBPK delivery, uptake by every site, turnover, first pass."""
    for o in ORGANS:
        m.ex(f"mass_{o}", f"organ_mass_{o}_g", "g", f"{ORGAN_NAMES[o]} mass")
    _pbpk_delivery(m)
    # Plasma tumour exosomes start at their quasi-steady state for the initial tumour (they equilibrate
    # within an hour, so a day-0 blood draw already sees them); bound exosomes and the niche start healthy.
    h0 = "pow(tumour_initial_g, hypoxia_hill) / (pow(tumour_initial_g, hypoxia_hill) + " \
         "pow(hypoxia_half_mass_g, hypoxia_hill))"
    # at day 0 the macrophage pools are empty (saturation factors 1): parameter-only rate constants
    k_out = " + ".join([_k_target("tum", o, False) for o in ORGANS] + [_k_stroma(o, False) for o in ORGANS]
                       + [_k_spleen(False), "q_per_day * flow_share_other * extraction_other"])
    m.ex("E_tum_qss0", f"tumour_secretion_per_cell_per_h * hours_per_day * cells_per_g / particles_per_gp * "
         f"(1 + hypoxia_secretion_gain * ({h0} + (1 - {h0}) * hypoxia_extra)) * release_factor * "
         f"tumour_initial_g * (1 - lymph_drainage_fraction) * (1 - first_pass_tum0) / ({k_out})", "Gp",
         "plasma tumour exosomes at quasi-steady state for the initial tumour")
    m.ex("E_tum_int_qss0", "E_tum_qss0 * distribution_volume_ratio", "Gp",
         "tumour exosomes of the slow distribution pool in equilibrium with plasma")
    m.ex("conc_tum", "E_tum / plasma_volume_ml", "Gp/mL", "tumour-derived exosome concentration in plasma")
    for c, share in (("target", "first_pass_target_share"), ("stroma", "(1 - first_pass_target_share)")):
        m.pr(f"secretion_first_pass_{c}", f"sec_per_g * N * (1 - lymph_drainage_fraction) * first_pass_tum * {share}",
             {f"B_tum_liver_{c}": 1}, "circulation_clearance", ["ORG-03", "ORG-10"],
             "portal-drained primaries (colorectal, pancreas): exosomes pass the liver before the systemic "
             f"circulation, whose {TARGET_CELLS['liver'] + 's' if c == 'target' else 'hepatocytes/LSEC'} extract "
             "their single-pass share")
    for p in POPULATIONS:
        m.pr(f"spleen_uptake_{p}", f"k_{p}_spleen * E_{p}", {f"E_{p}": -1, f"B_{p}_spleen": 1},
             "circulation_clearance", ["ORG-03", "IMS-10"],
             "splenic red-pulp macrophages extract exosomes from the splenic plasma flow (saturable; depleted by "
             "clodronate); here exosomal PD-L1 meets splenic T cells [38]",
             refs=["Wiklander 2015 JEV 4:26316", "Imai 2015 JEV 4:26238"])
        m.pr(f"spleen_turnover_{p}", f"bound_turnover_per_day * B_{p}_spleen", {f"B_{p}_spleen": -1, f"D_{p}": 1},
             "circulation_clearance", ["ORG-03"], "degradation of exosomes in splenic macrophages")
        m.pr(f"other_uptake_{p}", f"k_{p}_other * E_{p}", {f"E_{p}": -1, f"B_{p}_other": 1},
             "circulation_clearance", ["ORG-03"], "uptake by the remaining tissues (kidney, gut, muscle, skin)",
             refs=["Wiklander 2015 JEV 4:26316 (gut, kidney among recovered organs)"])
        m.pr(f"other_turnover_{p}", f"bound_turnover_per_day * B_{p}_other", {f"B_{p}_other": -1, f"D_{p}": 1},
             "circulation_clearance", ["ORG-03"], "degradation of exosomes taken up by other tissues")
        m.pr(f"distribution_{p}", f"k_distribution * E_{p}", {f"E_{p}": -1, f"E_{p}_int": 1},
             "circulation_clearance", ["ORG-03"],
             "exosomes leave plasma into a slow pool (interstitium, lymph): the distribution phase that makes "
             "plasma kinetics two-phase", refs=["Kim 2019 Pharmaceutics 11:649 Table 1 (two-phase fits)"])
        m.pr(f"redistribution_{p}", f"k_distribution / distribution_volume_ratio * E_{p}_int",
             {f"E_{p}_int": -1, f"E_{p}": 1}, "circulation_clearance", ["ORG-03"],
             "return of the slow pool to plasma (lymph flow)")
        for o in ORGANS:
            for c in CELLS:
                claims = ["ORG-03", "ORG-05", "ORG-11"]
                if c == "target":
                    claims += {"lung": ["ORG-09", "ORG-12", "ORG-06"], "liver": ["ORG-10", "ORG-13", "ORG-07"],
                               "bone": [], "brain": ["ORG-17"], "ln": []}[o]
                who = TARGET_CELLS[o] if c == "target" else "other cells"
                m.pr(f"uptake_{p}_{o}_{c}", f"k_{p}_{o}_{c} * E_{p}", {f"E_{p}": -1, f"B_{p}_{o}_{c}": 1},
                     "organotropism" if c == "target" else "circulation_clearance", claims,
                     f"extraction from the {ORGAN_NAMES[o]}'s plasma flow by {who} (flow x extraction)")
                m.pr(f"turnover_{p}_{o}_{c}", f"bound_turnover_per_day * B_{p}_{o}_{c}",
                     {f"B_{p}_{o}_{c}": -1, f"D_{p}": 1}, "circulation_clearance", ["ORG-03"],
                     "degradation of internalised exosomes")


def _organotropism(m: Mechanism) -> None:
    """Integrin-engaged uptake activates Src in each organ's target cells; cargo loads per organ [25]."""
    # cargo-weighted loads per g organ; tumour-population vegf uses the hypoxia-raised cargo
    cargo_of = {("tum", "vegf"): "cargo_hyp_vegf", ("tum", "pdl1"): "cargo_tum_pdl1_now"}
    for o in ORGANS:
        engaged = _sum(f"B_{p}_{o}_target * (intfrac_{p}_{o} + src_nonintegrin_weight * (1 - intfrac_{p}_{o}))"
                       for p in POPULATIONS)
        m.ex(f"x_src_{o}", f"{engaged} * particles_per_gp / (mass_{o} * target_cells_per_g)", "particles/cell",
             f"integrin-engaged exosomes internalised per {TARGET_CELLS[o]} (integrin-free uptake weighted by "
             "src_nonintegrin_weight)")
        m.ex(f"src_{o}", f"pow(x_src_{o}, src_hill) / (pow(x_src_{o}, src_hill) + "
             f"pow(src_half_particles_per_cell, src_hill))", "dimensionless",
             f"Src activation in {TARGET_CELLS[o]}s by integrin-bound exosomes [25]")
        for k in SIGNAL_CARGO:
            if k == "met" and o != "bone":  # MET is read only where it educates: the marrow [19]
                continue
            cells = ("target",) if k == "mif" else CELLS  # MIF acts on Kupffer cells [72]
            terms = [f"B_{p}_{o}_{c} * {cargo_of.get((p, k), f'cargo_{p}_{k}')}" for p in POPULATIONS for c in cells]
            m.ex(f"load_{k}_{o}", f"{_sum(terms)} / mass_{o}", "Gp/g", f"{k}-weighted exosome load per g {o}")


def _inflammation(m: Mechanism) -> None:
    """S100 upregulation by integrin-activated Src in the target cells [25]."""
    for o in ORGANS:
        m.pr(f"s100_{o}", _relax("s100_rate_per_day", f"(1 + s100_max_fold * src_{o})", f"S100_{o}"),
             {f"S100_{o}": 1}, "inflammation",
             ["INF-09", "INF-10", "INF-11"] + (["INF-03", "INF-04", "INF-05", "INF-06", "INF-07", "INF-08"]
                                               if o == "lung" else ["INF-01", "INF-02"] if o == "liver" else []),
             "integrin-bound exosomes activate Src and upregulate S100 genes [25]")


def _permeability_angiogenesis(m: Mechanism) -> None:
    """Vascular leakage and angiogenesis by exosomal miR-105, miR-25-3p and VEGF-like cargo [50-58]."""
    for o in ORGANS:
        leak = f"leak_weight_mir105 * load_mir105_{o} + leak_weight_mir25 * load_mir25_{o} + " \
               f"leak_weight_vegf * load_vegf_{o} * (1 - anti_vegf_block)"
        m.ex(f"leak_{o}", f"({leak}) / (({leak}) + leak_half_gp_per_g)", "dimensionless",
             "pro-permeability signal: miR-105 [56], miR-25-3p [58], VEGF-like cargo [50, 51]")
        ang = f"angio_weight_vegf * load_vegf_{o} * (1 - anti_vegf_block) + angio_weight_mir25 * load_mir25_{o}"
        m.ex(f"angsig_{o}", f"({ang}) / (({ang}) + angio_half_gp_per_g)", "dimensionless",
             "pro-angiogenic signal: VEGF/CA9/E-cadherin [50-55], miR-25-3p [58]")
        m.pr(f"permeability_{o}", _relax("perm_rate_per_day", f"(1 + perm_max_fold * leak_{o} + "
                                         f"mmp_perm_weight * fnact_{o} * (1 - mmp_block))", f"Perm_{o}"),
             {f"Perm_{o}": 1}, "permeability_angiogenesis",
             ["ANG-02", "ANG-10", "ANG-11", "ANG-15", "ANG-16", "ANG-24", "ANG-25"]
             + (["ANG-13", "ANG-14"] if o == "lung" else []),
             "vascular leakage within ~24 h of exosome exposure [19, 25, 56, 58]")
        m.pr(f"angiogenesis_{o}", _relax("angio_rate_per_day", f"(1 + angio_max_fold * angsig_{o})", f"Ang_{o}"),
             {f"Ang_{o}": 1}, "permeability_angiogenesis", ["ANG-01", "ANG-07", "ANG-08", "ANG-23", "BG-12"],
             "angiogenesis by pro-angiogenic cargo [50-55, 58]")


def _matrix_bmdc(m: Mechanism) -> None:
    """Fibronectin, BMDC arrest, the bone-marrow route (MET education [19]) and the liver's MIF cascade [64, 65, 72]."""
    for o in ORGANS:
        act = "(TGFb_liver - 1) * (1 - tgfb_block)" if o == "liver" else f"(S100_{o} - 1)"
        m.ex(f"fnact_{o}", f"{act} / ({act} + fn_half_activation)", "dimensionless",
             "stromal activation driving fibronectin: Kupffer TGF-β on stellate cells [72] (liver), "
             "activated S100A4+ fibroblasts [64] (other organs)")
        # Arrest needs a substrate and a signal: VLA-4+ BMDCs adhere to fibronectin (Kaplan 2005; [72]: FN
        # deposits make BMDCs stagnate), S100A8/A9 and hypoxic G-CSF/VEGF only raise how many are drawn in
        # (Hiratsuka 2006; [65, 68, 69]). So chemoattraction without fibronectin (MIF knockdown [72]) arrests none.
        bm = f"((FN_{o} - 1) * (1 + bmdc_weight_s100 * (S100_{o} - 1) + bmdc_weight_hypoxia * hypoxia))"
        m.ex(f"bmact_{o}", f"(1 - ccl2_block) * {bm} / ({bm} + bmdc_half_activation) * Edu_bone", "dimensionless",
             "BMDC arrest on fibronectin [72] (VLA-4 adhesion, Kaplan 2005), amplified by S100A8/A9 chemoattraction "
             "[65] and hypoxia G-CSF/VEGF [68, 69], scaled by the supply of MET-educated marrow progenitors [19]")
        m.pr(f"fibronectin_{o}", _relax("fn_rate_per_day", f"(1 + fn_max_fold * fnact_{o})", f"FN_{o}"),
             {f"FN_{o}": 1}, "matrix_bmdc", ["ECM-20", "ECM-06"] if o == "liver" else ["ECM-02", "ECM-03", "ECM-18"],
             "fibronectin deposition by activated stroma [64, 72]")
        m.pr(f"bmdc_{o}", _relax("bmdc_rate_per_day", f"(1 + bmdc_max_fold * bmact_{o})", f"BMDC_{o}"),
             {f"BMDC_{o}": 1}, "matrix_bmdc", ["ECM-21", "ECM-22", "ECM-23", "ECM-14", "INF-16", "ECM-17"],
             "arrest of bone-marrow-derived macrophages/neutrophils [72, 2, 68, 69]")
    m.ex("mifsig", "(1 - mif_block) * load_mif_liver / (load_mif_liver + mif_half_gp_per_g)", "dimensionless",
         "MIF delivered to Kupffer cells [72]")
    # The bone-marrow route [19]: exosomes taken up in the marrow hand MET to progenitors, which stay
    # educated ("permanently", Peinado 2012) and are mobilised to every niche in larger numbers.
    m.ex("metsig", "load_met_bone / (load_met_bone + met_half_gp_per_g)", "dimensionless",
         "exosomal MET delivered to bone-marrow cells [19]")
    m.pr("marrow_education", "marrow_education_rate_per_day * metsig * (1 + marrow_education_max_fold - Edu_bone) "
         "- marrow_education_decay_per_day * (Edu_bone - 1)", {"Edu_bone": 1}, "matrix_bmdc", ["ANG-12"],
         "melanoma exosomes educate bone-marrow progenitors through MET towards a pro-vasculogenic, "
         "pro-metastatic phenotype; education persists after exposure [19]",
         refs=["Peinado 2012 Nat Med 18:883 (MET knockdown in exosomes or Rab27a RNAi prevents education)"])
    m.pr("tgfb_liver", _relax("tgfb_rate_per_day", "(1 + tgfb_max_fold * mifsig)", "TGFb_liver"),
         {"TGFb_liver": 1}, "matrix_bmdc", ["ECM-19", "ECM-09"], "exosomal MIF makes Kupffer cells release TGF-β [72]")


def _immune_suppression(m: Mechanism) -> None:
    """Exosomal PD-L1, DC and NK impairment, suppressive cells and the IFN-γ -> PD-L1 loop [38-45]."""
    for o in ORGANS:
        md = f"((S100_{o} - 1) + (BMDC_{o} - 1))"
        m.ex(f"mdact_{o}", f"{md} / ({md} + mdsc_half_activation)", "dimensionless",
             "suppressive-cell recruitment by inflammation and BMDCs [5, 39-41]")
        m.pr(f"mdsc_{o}", _relax("mdsc_rate_per_day", f"(1 + mdsc_max_fold * mdact_{o})", f"MDSC_{o}"),
             {f"MDSC_{o}": 1}, "immune_suppression",
             ["IMS-13", "IMS-14", "IMS-15", "IMS-16", "IMS-17", "IMS-18", "IMS-26", "IMS-29"],
             "recruitment of MDSC/TAM/TAN/Treg to the niche [5, 39-41]")
    m.ex("conc_pdl1", "(E_tum * cargo_tum_pdl1_now + E_inj * cargo_inj_pdl1) / plasma_volume_ml", "Gp/mL",
         "PD-L1-weighted exosome concentration in plasma")
    # Anti-PD-1 competes with PD-L1 for PD-1: blockade b raises the half-saturating ligand level
    # by 1/(1-b), so very high exosomal PD-L1 can still engage PD-1 under therapy [38].
    m.ex("pd1_shift", "1 / (1 - pd1_blockade)", "dimensionless", "competitive shift of PD-1 engagement")
    m.ex("load_pdl1_spleen", "(B_tum_spleen * cargo_tum_pdl1_now + B_inj_spleen * cargo_inj_pdl1) / "
         "organ_mass_spleen_g",
         "Gp/g", "PD-L1-weighted exosome load per g spleen")
    m.ex("phi_spleen", "load_pdl1_spleen / (load_pdl1_spleen + pdl1_half_gp_per_g * pd1_shift)", "dimensionless",
         "PD-1 engagement of splenic/circulating CD8+ T cells by exosomal PD-L1 [38]")
    m.ex("phi_ln", "load_pdl1_ln / (load_pdl1_ln + pdl1_half_gp_per_g * pd1_shift)", "dimensionless",
         "PD-1 engagement in the regional lymph node by exosomal PD-L1 [38]")
    m.ex("pdl1_tumour", "pdl1_tumour_local * cargo_tum_pdl1_now + conc_pdl1 / pdl1_half_gp_per_ml", "dimensionless",
         "PD-L1 met by tumour-infiltrating T cells: the line's own and circulating exosomal PD-L1 [38]")
    m.ex("phi_tumour", "pdl1_tumour / (pdl1_tumour + pd1_shift)", "dimensionless",
         "PD-1 engagement of tumour-infiltrating CD8+ T cells [38]")
    m.ex("dc_maturation", "1 / (1 + conc_tum / dc_impairment_half_gp_per_ml)", "dimensionless",
         "DC maturation impaired by tumour exosomes [45]")
    m.ex("antigen", "N / (N + antigen_half_g)", "dimensionless", "tumour antigen presented in draining nodes")
    m.ex("tcell_prolif_spleen", "tcell_prolif_per_day * (1 + hdaci_boost) * antigen * dc_maturation * "
         "(1 - phi_spleen)", "1/day",
         "CD8+ T-cell proliferation rate in spleen, suppressed by exosomal PD-L1 [38]")
    m.ex("tcell_prolif_ln", "tcell_prolif_per_day * (1 + hdaci_boost) * antigen * dc_maturation * (1 - phi_ln)",
         "1/day",
         "CD8+ T-cell proliferation rate in the lymph node [38]")
    m.ex("nk_target", "1 / (1 + conc_tum / nk_impairment_half_gp_per_ml)", "dimensionless",
         "NK function under tumour exosomes [43, 44]")
    m.pr("tumour_killing", "ctl_kill_per_day * T_ln * (1 - phi_tumour) * N", {"N": -1}, "immune_suppression",
         ["IMS-08", "IMS-09", "IMS-04", "THER-01"], "CD8+ T-cell killing of the primary, blocked by PD-L1 [38]")
    m.pr("tcell_spleen", "tcell_homeostasis_per_day * (immune_competence - T_spleen) + tcell_prolif_spleen * "
         "T_spleen * (1 - T_spleen / tcell_max_fold) - tcell_apoptosis_per_day * phi_spleen * T_spleen",
         {"T_spleen": 1}, "immune_suppression", ["IMS-08", "IMS-10", "IMS-03", "IMS-05", "IMS-23", "IMS-24", "IMS-25"],
         "splenic CD8+ T cells: homeostasis, antigen-driven expansion, PD-L1 suppression and apoptosis [38]")
    m.pr("tcell_ln", "tcell_homeostasis_per_day * (immune_competence - T_ln) + tcell_prolif_ln * "
         "T_ln * (1 - T_ln / tcell_max_fold) - tcell_apoptosis_per_day * phi_ln * T_ln",
         {"T_ln": 1}, "immune_suppression", ["IMS-11", "IMS-08", "IMS-22"],
         "lymph-node CD8+ T cells, suppressed by exosomal PD-L1 drained to the node [38]")
    m.pr("nk_function", _relax("nk_rate_per_day", "nk_target", "NK"), {"NK": 1}, "immune_suppression",
         ["IMS-21"], "NK dysfunction under tumour exosomes [43, 44]")
    m.ex("ifng", "T_ln * antigen * (1 - phi_tumour)", "dimensionless",
         "IFN-γ from tumour-reactive CD8+ T cells that are primed (antigen) and not held by PD-1 [38]")
    m.pr("ifng_pdl1", _relax("ifn_pdl1_rate_per_day", "(1 + ifn_pdl1_max_gain * ifng / (ifng + ifn_half_activity))",
                             "PDL1_ifn"), {"PDL1_ifn": 1}, "immune_suppression", ["IMS-06", "IMS-07"],
         "IFN-γ from activated CD8+ T cells raises PD-L1 on tumour cells and on their exosomes, so exosomal "
         "PD-L1 reflects immune activity as well as burden (adaptive resistance)",
         refs=["Chen 2018 Nature 560:382 (IFN-γ raises exosomal PD-L1; circulating exosomal PD-L1 tracks IFN-γ)"])


def _immune_surveillance(m: Mechanism) -> None:
    """Patrolling monocytes and NK cells recruited by non-metastatic exosomes [49]."""
    for o in ORGANS:
        m.ex(f"survsig_{o}", f"load_surveillance_{o} / (load_surveillance_{o} + surveillance_half_gp_per_g)",
             "dimensionless", "non-metastatic exosome signal recruiting patrolling monocytes / NK [49]")
        m.pr(f"surveillance_{o}", _relax("surveillance_rate_per_day", f"(1 + surveillance_max_fold * survsig_{o})",
                                         f"Surv_{o}"),
             {f"Surv_{o}": 1}, "immune_surveillance", ["SURV-01", "SURV-02", "SURV-03", "SURV-04"],
             "patrolling monocytes and NK cells recruited by non-metastatic exosomes [49]")


def _dissemination_colonisation(m: Mechanism) -> None:
    """CTC shedding, capillary arrest by route, bounded colonisation and metastatic growth."""
    for o in ORGANS:
        _arrest(m, o)
        drive = (f"(receptivity_weight_fn * (FN_{o} - 1) + receptivity_weight_bmdc * (BMDC_{o} - 1) + "
                 f"receptivity_weight_s100 * (S100_{o} - 1))")
        # Suppressive myeloid cells protect seeds through killing_<o> (T-cell killing / MDSC) only: counting
        # them in the soil's drive as well counted the same protection twice.
        m.ex(f"receptivity_{o}", f"1 + (receptivity_max_fold - 1) * {drive} / ({drive} + receptivity_half_drive)",
             "dimensionless", "seed survival in prepared soil: saturates at receptivity_max_fold (fibronectin, "
             "BMDCs, S100 [2, 64-72])")
        m.ex(f"extravasation_{o}", f"(extravasation_baseline + (1 - extravasation_baseline) * (Perm_{o} - 1) / "
             f"(Perm_{o} - 1 + extravasation_half_perm)) / extravasation_baseline", "dimensionless",
             "extravasation relative to the unprimed organ: most arrested cells extravasate anyway (Koop 1995), "
             "leaky vessels let the rest through [19, 56, 58]")
        m.ex(f"killing_{o}", f"(1 + kill_weight_nk + kill_weight_tcell) / (1 + kill_weight_nk * NK * Surv_{o} + "
             f"kill_weight_tcell * T_spleen / (MDSC_{o} * breg_mdsc_potentiation))", "dimensionless",
             "seed survival against NK/monocyte and CD8+ T-cell killing (1 at baseline)")
        m.ex(f"soil_{o}", f"colonisation_baseline * extravasation_{o} * receptivity_{o} * killing_{o}",
             "dimensionless", f"probability that an arrested cell of a fully compatible line founds a persistent "
             f"metastasis in the {ORGAN_NAMES[o]} (dormant and cleared founders excluded)")
        for pop in ("tum", "inj"):
            potential = "colonisation_potential" if pop == "tum" else "inj_colonisation_potential"
            m.ex(f"p_col_{pop}_{o}", f"{potential} * compat_{pop}_{o} * soil_{o}", "dimensionless",
                 f"probability that an arrested {'shed' if pop == 'tum' else 'injected'} tumour cell founds a "
                 f"metastasis in the {ORGAN_NAMES[o]}: seed (line potential x organ compatibility) x soil")
        m.ex(f"seed_{o}", f"ctc_loss_per_day * (shed_cell_viability * C * arrest_tum_{o} * p_col_tum_{o} + "
             f"C_inj * arrest_inj_{o} * p_col_inj_{o})", "colonies/day",
             f"metastases founded per day in the {ORGAN_NAMES[o]}")
        m.ex(f"met_cap_{o}", f"metastasis_capacity_fraction * mass_{o}", "g", "metastatic burden plateau")
        m.pr(f"colonisation_{o}", f"seed_{o}", {f"Col_{o}": 1}, "dissemination_colonisation",
             ["ORG-01", "ORG-02", "ORG-04", "BG-02", "ECM-27", "ANG-09", "ANG-17"]
             + (["ANG-26"] if o == "liver" else ["ANG-27"] if o == "lung" else []),
             "arrested CTCs extravasate (permeability) and survive (receptivity, immunity)",
             refs=["Coumans 2013 Clin Exp Metastasis (1 metastasis per ~6e7 cells)"])
        m.pr(f"seeding_mass_{o}", f"seed_{o} * cell_mass_g", {f"M_{o}": 1}, "dissemination_colonisation",
             ["ORG-01"], "new metastases add their founding cell")
        m.pr(f"metastasis_chemo_{o}", f"chemo_effect * M_{o}", {f"M_{o}": -1}, "growth_hypoxia", ["THER-12"],
             "chemotherapy of metastases")
        m.pr(f"metastasis_growth_{o}", f"tumour_alpha * M_{o} * ln(met_cap_{o} / (M_{o} + mass_floor_g))",
             {f"M_{o}": 1}, "dissemination_colonisation", ["BG-01"],
             "Gompertz growth of metastases (which release exosomes like the primary)")
    m.pr("ctc_shedding", "ctc_shedding_per_g_per_day * (N + met_mass)", {"C": 1}, "dissemination_colonisation",
         ["BG-02"], "tumour cells shed into blood in proportion to tumour mass",
         refs=["Butler & Gullino 1975 Cancer Res 35:512"])
    m.pr("ctc_loss", "ctc_loss_per_day * C", {"C": -1}, "dissemination_colonisation", ["BG-02"],
         "CTCs arrest in capillaries or die (half-life 1-2.4 h)", refs=["Meng 2004 Clin Cancer Res"])
    m.pr("injected_cell_loss", "ctc_loss_per_day * C_inj", {"C_inj": -1}, "dissemination_colonisation", ["BG-02"],
         "injected tumour cells arrest in capillaries (same half-life as CTCs)")


def build_mechanism() -> Mechanism:
    """Declare the whole-body model (85 species), one hallmark at a time.

    Named expressions are evaluated in declaration order, so the hallmarks come in dependency order:
    growth, secretion and circulation before the niche signals that read organ loads, and the immune
    state before the colonisation probability that it scales.
    """
    m = Mechanism()
    for declare in (_state, _growth_hypoxia, _secretion, _circulation_clearance, _organotropism, _inflammation,
                    _permeability_angiogenesis, _matrix_bmdc, _immune_suppression, _immune_surveillance,
                    _dissemination_colonisation):
        declare(m)
    return m
