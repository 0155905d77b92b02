"""The normal quantile of two-sided confidence intervals, computed in one place for every layer.

Biomarker statistics (DeLong, Greenwood, Cox, RCV), the arms' Wilson intervals and the report's error bars all
use :func:`z_two_sided`; :func:`check_conf_level` is the one check of a user's ``conf_level``.
"""

from __future__ import annotations

import math

from scipy.special import ndtri

from exoniche.errors import DataError, ExonicheError


def check_conf_level(conf_level: float, field: str = "conf_level", cls: type[ExonicheError] = DataError) -> float:
    """Return ``conf_level`` as a float if ``0 < conf_level < 1``, else raise ``cls`` naming ``field``.

    Examples
    --------
    >>> check_conf_level(0.9)
    0.9
    >>> check_conf_level(95)
    Traceback (most recent call last):
    ...
    exoniche.errors.DataError: conf_level: 95 is out of range; allowed: 0 < conf_level < 1 (e.g. 0.95)
    """
    if isinstance(conf_level, bool) or not isinstance(conf_level, (int, float)) or not (
            math.isfinite(conf_level) and 0 < conf_level < 1):
        raise cls(f"{field}: {conf_level!r} is out of range; allowed: 0 < {field} < 1 (e.g. 0.95)")
    return float(conf_level)


def z_two_sided(conf_level: float = 0.95) -> float:
    """Standard-normal quantile ``z`` with ``P(-z < Z < z) = conf_level``.

    Parameters
    ----------
    conf_level : float
        Coverage of the interval, strictly between 0 and 1.

    Returns
    -------
    float
        ``Φ⁻¹(0.5 + conf_level / 2)``: 1.959964 for 95 %.

    Examples
    --------
    >>> round(z_two_sided(0.95), 6)
    1.959964
    >>> round(z_two_sided(0.9), 6)
    1.644854
    """
    return float(ndtri(0.5 + check_conf_level(conf_level) / 2))
