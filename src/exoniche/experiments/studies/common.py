"""Shared pieces of the studies: niche composite and a table-to-records helper."""

from __future__ import annotations

import numpy as np

INDICES = ("S100", "Perm", "FN", "BMDC", "MDSC")


def niche_score(ds, organ: str, day: float | None = None) -> float:
    """Mean rise of the niche indices over the healthy organ (0 = no niche), at ``day`` (default: end)."""
    t = ds["time"].values
    k = -1 if day is None else int(np.argmin(np.abs(t - day)))
    return float(np.mean([ds[f"{i}_{organ}"].values[k] - 1.0 for i in INDICES]))


def records(df) -> list[dict]:
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
            for r in df.to_dict(orient="records")]
