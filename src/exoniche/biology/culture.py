"""In vitro exposure of one stromal cell type to exosomes (validation targets V1, V2).

It re-uses the whole-body model's cell-level laws and parameters: integrin-weighted uptake
(``extraction_target_<organ>`` + zip codes) and Src -> S100 induction (``src_*``, ``s100_*``), so a
calibration of those parameters is shared by the dish and the body.
"""

from __future__ import annotations

from exoniche.biology._mechanism import ZIP_CODES, Mechanism


def build_culture(organ: str) -> Mechanism:
    """Dish of the target cell type of ``organ`` (``liver`` = Kupffer cells, ``lung`` = fibroblasts)."""
    m = Mechanism()
    m.sp("E_med", "Gp", "medium", "exosomes in the culture medium", "culture_dose_ug * particles_per_ug", 10.0)
    m.sp("B_cells", "Gp", "cells", "exosomes internalised by the cultured cells", "0", 10.0)
    m.sp("D_cells", "Gp", "cells", "internalised exosomes degraded", "0", 10.0)
    m.sp("S100", "fold", "cells", "S100 expression, fold over untreated cells", "1", 1.0)
    zips = " + ".join(f"integrin_{cg}_{org} * cargo_inj_{cg}" for cg, org in ZIP_CODES if org == organ) or "0"
    # per-cell uptake clearance in vivo is extraction x plasma flow per g of organ; the dish keeps it
    m.ex("k_culture", f"culture_uptake_g_per_day * (extraction_target_{organ} + {zips}) * flow_share_{organ} / "
         f"organ_mass_{organ}_g", "1/day", "integrin-weighted uptake by the cultured target cells [25]")
    m.ex("intfrac", f"({zips}) / (extraction_target_{organ} + {zips})", "dimensionless",
         "share of uptake that engages integrins [25]")
    m.ex("x_src", "B_cells * (intfrac + src_nonintegrin_weight * (1 - intfrac)) * particles_per_gp / culture_cells",
         "particles/cell", "integrin-engaged exosomes internalised per cell (as in the whole-body model)")
    m.ex("src", "pow(x_src, src_hill) / (pow(x_src, src_hill) + pow(src_half_particles_per_cell, src_hill))",
         "dimensionless", "Src activation [25]")
    m.pr("uptake", "k_culture * E_med", {"E_med": -1, "B_cells": 1}, "organotropism", ["ORG-11"],
         "integrin-mediated uptake in the dish")
    m.pr("turnover", "bound_turnover_per_day * B_cells", {"B_cells": -1, "D_cells": 1}, "circulation_clearance",
         ["ORG-03"], "degradation of internalised exosomes")
    m.pr("s100", "s100_rate_per_day * ((1 + s100_max_fold * src) - S100)", {"S100": 1}, "inflammation",
         ["INF-01", "INF-02", "INF-03", "INF-09", "INF-10", "INF-11"], "Src -> S100 induction [25]")
    return m
