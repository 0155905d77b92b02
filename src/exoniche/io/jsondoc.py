"""JSON documents as every interface prints them: NaN/inf become null, numpy values become Python ones.

The command line's ``--json`` and the web API serialise through :func:`dumps`, so one result gives the
same text in both.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def clean(obj: Any) -> Any:
    """Make numpy scalars / NaN JSON-safe (NaN and inf become null, as JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(obj: Any) -> str:
    """One JSON document (indented, UTF-8 kept), without the trailing newline."""
    return json.dumps(clean(obj), indent=2, ensure_ascii=False)
