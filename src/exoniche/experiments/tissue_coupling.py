"""The ONE place where the tissue engine reads the whole-body model.

Another developer may rename whole-body species, expressions or parameters: only this file changes.
``organ_arrivals`` gives the organ's exosome and tumour-cell arrival rates over time; ``organ_niche``
the whole-body niche indices shown beside the tissue's.
"""

from __future__ import annotations

import numpy as np

from exoniche.engines.functions import compile_mechanism
from exoniche.engines.result import add_expressions
from exoniche.engines.tissue.model import Arrivals


def organ_arrivals(ds, problem, organ: str) -> Arrivals:
    """Arrival rates into ``organ`` per g of organ over the whole-body run ``ds`` of ``problem``.

    Exosomes (particles/g/day): the organ's uptake flux ``(k_<pop>_<organ>_target + k_<pop>_<organ>_stroma)
    * E_<pop>`` for the tumour and injected populations. Tumour cells (cells/g/day): the arrest flux
    ``ctc_loss_per_day * (shed_cell_viability * C * arrest_tum_<organ> + C_inj * arrest_inj_<organ>)`` (model
    v2: shed CTCs follow the primary's drainage, injected cells their own route).
    """
    params = problem.params
    names = [f"k_{p}_{organ}_{c}" for p in ("tum", "inj") for c in ("target", "stroma")] + [
        f"arrest_tum_{organ}", f"arrest_inj_{organ}"]
    ds = add_expressions(ds.copy(), compile_mechanism(problem.mechanism, params), params, names)
    gp = params.value("particles_per_gp")
    mass = params.value(f"organ_mass_{organ}_g")

    def exo(p):
        return (ds[f"k_{p}_{organ}_target"] + ds[f"k_{p}_{organ}_stroma"]).values * ds[f"E_{p}"].values * gp / mass

    ctc = params.value("ctc_loss_per_day") * (
        params.value("shed_cell_viability") * ds["C"].values * ds[f"arrest_tum_{organ}"].values
        + ds["C_inj"].values * ds[f"arrest_inj_{organ}"].values) / mass
    return Arrivals(np.asarray(ds["time"].values, float), exo("tum"), exo("inj"), np.asarray(ctc, float))


def organ_niche(ds, organ: str, days) -> dict[str, np.ndarray]:
    """Whole-body niche indices of ``organ`` (fold over healthy) at ``days``."""
    t = ds["time"].values
    return {k: np.interp(days, t, ds[f"{k}_{organ}"].values) for k in ("S100", "Perm", "FN", "BMDC")}


def cargo_levels(params) -> tuple[dict[str, float], dict[str, float]]:
    """Cargo levels of the tumour and injected exosome populations (parameters ``cargo_tum_*``, ``cargo_inj_*``)."""
    values = params.numbers()
    return ({k[len("cargo_tum_"):]: v for k, v in values.items() if k.startswith("cargo_tum_")},
            {k[len("cargo_inj_"):]: v for k, v in values.items() if k.startswith("cargo_inj_")})
