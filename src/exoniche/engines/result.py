"""The one labelled result type every engine returns: an ``xarray.Dataset``.

Variables: one per species (dims ``time``), plus the model's named expressions when asked; the
stochastic engine adds per-replicate metastasis variables (dims ``replicate``, ``organ``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from exoniche.biology import Mechanism


def trajectory_dataset(mech: Mechanism, times: np.ndarray, y: np.ndarray, attrs: dict) -> xr.Dataset:
    """Wrap a species x time array as a Dataset with units and descriptions."""
    data = {}
    for i, s in enumerate(mech.species):
        data[s.name] = xr.DataArray(y[i], dims=("time",), attrs={"unit": s.unit, "description": s.description,
                                                                   "compartment": s.compartment})
    ds = xr.Dataset(data, coords={"time": ("time", times, {"unit": "day"})}, attrs=dict(attrs))
    return ds


def add_expressions(ds: xr.Dataset, functions, params, names: list[str] | None = None) -> xr.Dataset:
    """Evaluate named expressions (default all) on the stored trajectory, vectorised over time."""
    y = np.vstack([ds[s].values for s in functions.species])
    p = functions.param_vector(params)
    values = functions.evaluate(y, p)
    for name in names or functions.expressions:
        v = np.broadcast_to(np.asarray(values[name], dtype=float), ds.sizes["time"]).copy()
        ds[name] = xr.DataArray(v, dims=("time",), attrs={"kind": "expression"})
    return ds
