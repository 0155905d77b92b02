"""Read-outs of a simulated experiment: uptake as % of dose, cell-type shares, niche indices, T cells."""

from __future__ import annotations

import numpy as np
import xarray as xr

from exoniche.biology import CELLS, ORGANS, UPTAKE_SITES
from exoniche.errors import check_choice


def _organ(organ: str) -> str:
    return check_choice("organ", organ, ORGANS)


def at(ds: xr.Dataset, var: str, day: float) -> float:
    """Value of a variable at a day (linear interpolation between output times)."""
    return float(np.interp(day, ds["time"].values, ds[var].values))


def uptake_percent_dose(ds: xr.Dataset, organ: str, day: float, dose_gp: float, population: str = "inj") -> float:
    """Exosomes retained in an uptake site (an organ, ``spleen`` or ``other``) as % of the injected dose.

    An organ counts all its cells, macrophages included (liver = Kupffer cells + hepatocytes/LSEC).
    """
    if organ in ("spleen", "other"):
        return 100.0 * at(ds, f"B_{population}_{organ}", day) / dose_gp
    organ = _organ(organ)
    return 100.0 * sum(at(ds, f"B_{population}_{organ}_{c}", day) for c in CELLS) / dose_gp


def biodistribution(ds: xr.Dataset, day: float, dose_gp: float, population: str = "inj") -> dict[str, float]:
    """% of the injected dose in plasma, the slow pool, every uptake site and degraded, at one day."""
    out = {"plasma": 100.0 * at(ds, f"E_{population}", day) / dose_gp,
           "interstitium": 100.0 * at(ds, f"E_{population}_int", day) / dose_gp}
    out.update({site: uptake_percent_dose(ds, site, day, dose_gp, population) for site in UPTAKE_SITES})
    out["degraded"] = 100.0 * at(ds, f"D_{population}", day) / dose_gp
    return out


def target_cell_share(ds: xr.Dataset, organ: str, day: float, population: str = "inj") -> float:
    """Fraction of an organ's retained exosomes that sit in its target cell type."""
    organ = _organ(organ)
    target = at(ds, f"B_{population}_{organ}_target", day)
    total = sum(at(ds, f"B_{population}_{organ}_{c}", day) for c in CELLS)
    return target / total if total > 0 else float("nan")


def mean_over(ds: xr.Dataset, var: str, t0: float, t1: float) -> float:
    """Time average of a variable between two days (trapezoid)."""
    t = ds["time"].values
    mask = (t >= t0) & (t <= t1)
    return float(np.trapezoid(ds[var].values[mask], t[mask]) / (t[mask][-1] - t[mask][0]))
