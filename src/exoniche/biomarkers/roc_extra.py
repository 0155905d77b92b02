"""pROC additions: coords at a sensitivity or specificity, precision-recall, multi-class AUC, power and size.

Each function follows pROC 1.18 (checked against ``tests/reference/fixtures/proc_extra.json``):

* :func:`coords_at` = ``coords(roc, x, input = "sensitivity" | "specificity")``: an exact curve point when one
  has that value (the last such point for sensitivity, the first for specificity, as pROC), else linear
  interpolation between the neighbouring points (threshold NaN);
* :func:`pr_curve` = ``coords(roc, "all", ret = c("threshold", "recall", "precision"))``; AUPRC is the
  trapezoid over those points with a defined precision, by increasing recall (pROC has the coordinates but no
  AUPRC; the fixture applies the same rule in R), with a stratified bootstrap percentile CI;
* :func:`multiclass_auc` = ``multiclass.roc``: Hand & Till (2001) — the mean AUC over all pairs of classes;
  with one predictor each pair gets its own ROC (``direction`` as given, ``"auto"`` per pair); with a matrix of
  class scores the pair (i, j) averages A(i|j) and A(j|i), each from the score column of its first class;
* :func:`smooth_binormal` = ``smooth(roc, method = "binormal")`` (its AUC is the binormal
  pnorm(a / sqrt(1 + b^2))) and :func:`var_obuchowski` = ``var(roc, method = "obuchowski")``;
* :func:`power_roc_test` = ``power.roc.test`` for one ROC curve against AUC 0.5 (Obuchowski's variance):
  give all but one of ``auc``, ``ncases`` (or ``ncontrols`` and ``kappa``), ``power``, ``sig_level``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import optimize, stats

from exoniche.biomarkers._roc import ROC, roc
from exoniche.errors import DataError, unknown


# --------------------------------------------------------------------------------------------- coords
def coords_at(r: ROC, input: str, values: Sequence[float]) -> pd.DataFrame:
    """Threshold, specificity and sensitivity at given sensitivities or specificities (pROC's rule)."""
    if input not in ("sensitivity", "specificity"):
        raise unknown("coords input", input, ("sensitivity", "specificity"), DataError)
    thr, se, sp = r.thresholds, r.sensitivities, r.specificities
    src = se if input == "sensitivity" else sp
    decreasing = input == "sensitivity"
    rows = []
    for v in values:
        v = float(v)
        if v < src.min() or v > src.max():
            raise DataError(f"{input} {v:g} is outside the curve's range {src.min():g}-{src.max():g}")
        hit = np.flatnonzero(src == v)
        if hit.size:
            i = hit[-1] if decreasing else hit[0]
            rows.append((float(thr[i]), float(sp[i]), float(se[i])))
            continue
        nxt = int(np.argmax(src < v)) if decreasing else int(np.argmax(src > v))
        prop = (v - src[nxt]) / (src[nxt - 1] - src[nxt])
        rows.append(
            (float("nan"), sp[nxt] + prop * (sp[nxt - 1] - sp[nxt]), se[nxt] + prop * (se[nxt - 1] - se[nxt]))
        )
    return pd.DataFrame(rows, columns=["threshold", "specificity", "sensitivity"])


# --------------------------------------------------------------------------------------------- PR
def pr_curve(r: ROC) -> pd.DataFrame:
    """Precision-recall points in pROC's curve order (precision NaN where nothing is called positive)."""
    se, sp = r.sensitivities, r.specificities
    tp, fp = se * r.n_cases, (1 - sp) * r.n_controls
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / (tp + fp)
    return pd.DataFrame({"threshold": r.thresholds, "recall": se, "precision": precision})


def _trapezoid_pr(recall: np.ndarray, precision: np.ndarray) -> float:
    ok = ~np.isnan(precision)
    rec, pre = recall[ok], precision[ok]
    o = np.argsort(rec, kind="stable")
    rec, pre = rec[o], pre[o]
    return float(np.sum(np.diff(rec) * (pre[:-1] + pre[1:]) / 2))


def auprc(r: ROC) -> float:
    """Area under the PR curve: trapezoid over pROC's PR points with a defined precision."""
    pr = pr_curve(r)
    return _trapezoid_pr(pr["recall"].to_numpy(), pr["precision"].to_numpy())


def auprc_ci(r: ROC, n_boot: int = 2000, seed: int | None = 0, conf_level: float = 0.95) -> tuple[float, float]:
    """Stratified bootstrap percentile CI of :func:`auprc` (cases and controls resampled separately)."""
    rng = np.random.default_rng(seed)
    vals = np.empty(n_boot)
    for b in range(n_boot):
        cases = r.cases[rng.integers(0, r.n_cases, r.n_cases)]
        controls = r.controls[rng.integers(0, r.n_controls, r.n_controls)]
        y = np.r_[np.ones(cases.size, bool), np.zeros(controls.size, bool)]
        vals[b] = auprc(roc(y, np.r_[cases, controls], direction=r.direction))
    alpha = (1 - conf_level) / 2
    lo, hi = np.quantile(vals, [alpha, 1 - alpha])
    return float(lo), float(hi)


# --------------------------------------------------------------------------------------------- bootstrap CIs
def _resamples(r: ROC, n_boot: int, seed: int | None):
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(r.n_cases, bool), np.zeros(r.n_controls, bool)]
    for _ in range(n_boot):
        cases = r.cases[rng.integers(0, r.n_cases, r.n_cases)]
        controls = r.controls[rng.integers(0, r.n_controls, r.n_controls)]
        yield roc(y, np.r_[cases, controls], direction=r.direction)


def _quantile_table(name: str, at: Sequence[float], draws: np.ndarray, conf_level: float) -> pd.DataFrame:
    alpha = (1 - conf_level) / 2
    q = np.quantile(draws, [alpha, 0.5, 1 - alpha], axis=0)  # R's quantile type 7
    return pd.DataFrame({name: list(at), "low": q[0], "median": q[1], "high": q[2]})


def ci_se(r: ROC, specificities: Sequence[float], n_boot: int = 2000, seed: int | None = 0,
          conf_level: float = 0.95) -> pd.DataFrame:  # fmt: skip
    """Bootstrap CI of the sensitivity at given specificities (``ci.se``; stratified, percentile)."""
    draws = np.array([coords_at(b, "specificity", specificities)["sensitivity"].to_numpy()
                      for b in _resamples(r, n_boot, seed)])  # fmt: skip
    return _quantile_table("specificity", specificities, draws, conf_level)


def ci_sp(r: ROC, sensitivities: Sequence[float], n_boot: int = 2000, seed: int | None = 0,
          conf_level: float = 0.95) -> pd.DataFrame:  # fmt: skip
    """Bootstrap CI of the specificity at given sensitivities (``ci.sp``; stratified, percentile)."""
    draws = np.array([coords_at(b, "sensitivity", sensitivities)["specificity"].to_numpy()
                      for b in _resamples(r, n_boot, seed)])  # fmt: skip
    return _quantile_table("sensitivity", sensitivities, draws, conf_level)


def ci_thresholds(r: ROC, thresholds: Sequence[float], n_boot: int = 2000, seed: int | None = 0,
                  conf_level: float = 0.95) -> pd.DataFrame:  # fmt: skip
    """Bootstrap CIs of specificity and sensitivity at fixed thresholds (``ci.thresholds``).

    A sample equal to the threshold is positive, as in :func:`exoniche.biomarkers.cutpoint`.
    """
    t = np.asarray(thresholds, dtype=float)
    sign = 1.0 if r.direction == "<" else -1.0
    sp, se = [], []
    for b in _resamples(r, n_boot, seed):
        se.append((sign * b.cases[None, :] >= sign * t[:, None]).mean(axis=1))
        sp.append((sign * b.controls[None, :] < sign * t[:, None]).mean(axis=1))
    a = _quantile_table("threshold", thresholds, np.array(sp), conf_level)
    c = _quantile_table("threshold", thresholds, np.array(se), conf_level)
    return a.merge(c, on="threshold", suffixes=("_sp", "_se"))


# --------------------------------------------------------------------------------------------- multiclass
@dataclass
class MulticlassAUC:
    """Hand & Till multiclass AUC with the pairwise AUCs it averages."""

    auc: float
    levels: list[str]
    pairs: list[dict]

    def to_dict(self) -> dict:
        """Return the AUC, the levels and the pairwise AUCs as a JSON record."""
        return {"auc": self.auc, "levels": self.levels, "pairs": self.pairs, "method": "Hand & Till (2001)"}


def multiclass_auc(y, predictor, levels: Sequence | None = None, direction: str = "auto") -> MulticlassAUC:
    """Hand & Till multi-class AUC, as ``pROC::multiclass.roc`` (vector or class-score matrix predictor)."""
    y = np.asarray(y)
    if levels is None:
        levels = sorted(pd.unique(y).tolist())
    levels = [lv for lv in levels if (y == lv).any()]
    if len(levels) < 2:
        raise DataError(f"multi-class AUC: the outcome has {len(levels)} level(s) with observations; need 2+")
    pairs = []
    if isinstance(predictor, pd.DataFrame):
        if direction == "auto":
            raise DataError("multi-class AUC with a score matrix: give direction '>' or '<', not 'auto'")
        cols = {str(c): predictor[c].to_numpy(dtype=float) for c in predictor.columns}
        missing = [str(lv) for lv in levels if str(lv) not in cols]
        if missing:
            raise DataError(f"multi-class AUC: no score column for class(es) {', '.join(missing)}")
        total = 0.0
        for a, b in combinations(levels, 2):
            aucs = []
            for i, j in ((a, b), (b, a)):
                s = cols[str(i)]
                keep = (y == i) | (y == j)
                aucs.append(roc(y[keep] == j, s[keep], direction=direction).auc)
            total += float(np.mean(aucs))
            pairs.append({"pair": f"{a}/{b}", "auc": aucs})
    else:
        x = np.asarray(predictor, dtype=float)
        total = 0.0
        for a, b in combinations(levels, 2):
            keep = (y == a) | (y == b)
            r = roc(y[keep] == b, x[keep], direction=direction)
            total += r.auc
            pairs.append({"pair": f"{a}/{b}", "auc": r.auc, "direction": r.direction})
    c = len(levels)
    return MulticlassAUC(2 * total / (c * (c - 1)), [str(lv) for lv in levels], pairs)


# --------------------------------------------------------------------------------------------- smoothing
@dataclass
class BinormalROC:
    """``smooth(roc, method = "binormal")``: qnorm(sp) = intercept + slope * qnorm(se), fitted by OLS."""

    sensitivities: np.ndarray
    specificities: np.ndarray
    intercept: float
    slope: float

    @property
    def auc(self) -> float:
        """Binormal AUC, pnorm(intercept / sqrt(1 + slope^2)) (pROC's ``auc`` of a binormal smooth)."""
        return float(stats.norm.cdf(self.intercept / np.sqrt(1 + self.slope**2)))


def smooth_binormal(r: ROC, n: int = 512) -> BinormalROC:
    """Binormal smoothing of an empirical curve over its finite probit points; ``n`` points on the curve."""
    with np.errstate(divide="ignore"):
        zsp, zse = stats.norm.ppf(r.specificities), stats.norm.ppf(r.sensitivities)
    ok = np.isfinite(zsp) & np.isfinite(zse)
    if ok.sum() <= 1 or np.ptp(zse[ok]) == 0:
        raise DataError(f"{r.name}: ROC curve not smoothable (not enough points)")
    design = np.column_stack([np.ones(ok.sum()), zse[ok]])
    (a, b), *_ = np.linalg.lstsq(design, zsp[ok], rcond=None)
    grid = stats.norm.ppf(np.arange(n) / (n - 1))
    with np.errstate(invalid="ignore"):
        sp = stats.norm.cdf(a + b * grid)
    se = stats.norm.cdf(grid)
    if sp[0] > sp[-1]:  # pROC sorts by increasing specificity ...
        se, sp = se[::-1], sp[::-1]
    # ... and closes the curve at (sp 0, se 1) and (sp 1, se 0)
    return BinormalROC(np.r_[1.0, se, 0.0], np.r_[0.0, sp, 1.0], float(a), float(b))


def var_obuchowski(r: ROC) -> float:
    """Obuchowski's variance of the (full) AUC from the binormal parameters (``var(roc, "obuchowski")``)."""
    sm = smooth_binormal(r)
    A, B = sm.intercept, sm.slope
    kappa = r.n_controls / r.n_cases
    e1, e2 = np.exp(-(A**2) / (2 * (1 + B**2))), 1 + B**2
    f = e1 * (2 * np.pi * e2) ** -0.5
    g = -e1 * A * B * (2 * np.pi * e2**3) ** -0.5
    return float((f**2 * (1 + B**2 / kappa + A**2 / 2) + g**2 * B**2 * (1 + kappa) / (2 * kappa)) / r.n_cases)


# --------------------------------------------------------------------------------------------- power
def obuchowski_var(auc: float, kappa: float) -> float:
    """Obuchowski's binormal approximation of the AUC variance (pROC's ``var.theta.obuchowski``)."""
    A = stats.norm.ppf(auc) * 1.414
    return (0.0099 * np.exp(-(A**2) / 2)) * ((5 * A**2 + 8) + (A**2 + 8) / kappa)


def power_roc_test(
    auc: float | None = None,
    ncases: float | None = None,
    ncontrols: float | None = None,
    power: float | None = None,
    sig_level: float | None = 0.05,
    kappa: float = 1.0,
    alternative: str = "two.sided",
) -> dict:
    """Sample size, power, significance level or detectable AUC for one ROC curve (``power.roc.test``).

    Exactly one of ``auc``, ``power``, ``sig_level`` or the sample size (``ncases`` and ``ncontrols``,
    or one of them with ``kappa`` = ncontrols / ncases) is left as ``None`` and solved for. The AUC is
    solved with Brent's method to 1e-12 (pROC's ``uniroot`` stops at about 1e-4).
    """
    if alternative not in ("two.sided", "one.sided"):
        raise unknown("alternative", alternative, ("one.sided", "two.sided"), DataError)
    for name, v in (("power", power), ("sig_level", sig_level)):
        if v is not None and not 0 < v < 1:
            raise DataError(f"{name}: must lie in (0, 1), got {v}")
    if ncontrols is None and ncases is not None:
        ncontrols = kappa * ncases
    elif ncases is None and ncontrols is not None:
        ncases = ncontrols / kappa
    sig = None if sig_level is None else (sig_level / 2 if alternative == "two.sided" else sig_level)

    def v0(k):
        return 0.0792 * (1 + 1 / k)

    if auc is None:
        if ncases is None or power is None or sig is None:
            raise DataError("power_roc_test: to solve for auc give ncases/ncontrols, power and sig_level")
        k = ncontrols / ncases
        za, zb = stats.norm.ppf(1 - sig), stats.norm.ppf(power)

        def f(x):
            return (za * np.sqrt(v0(k)) + zb * np.sqrt(obuchowski_var(x, k))) ** 2 / (x - 0.5) ** 2 - ncases

        auc = float(optimize.brentq(f, 0.5 + 1e-9, 1 - 1e-16, xtol=1e-14))
    elif ncases is None:
        if power is None or sig is None:
            raise DataError("power_roc_test: to solve for the sample size give auc, power, sig_level, kappa")
        va, delta = obuchowski_var(auc, kappa), auc - 0.5
        za, zb = stats.norm.ppf(1 - sig), stats.norm.ppf(power)
        ncases = float((za * np.sqrt(v0(kappa)) + zb * np.sqrt(va)) ** 2 / delta**2)
        ncontrols = kappa * ncases
    elif power is None:
        if sig is None:
            raise DataError("power_roc_test: to solve for power give auc, ncases/ncontrols and sig_level")
        k = ncontrols / ncases
        va, delta = obuchowski_var(auc, k), auc - 0.5
        zb = (np.sqrt(ncases * delta**2) - stats.norm.ppf(1 - sig) * np.sqrt(v0(k))) / np.sqrt(va)
        power = float(stats.norm.cdf(zb))
    elif sig is None:
        k = ncontrols / ncases
        va, delta = obuchowski_var(auc, k), auc - 0.5
        za = (np.sqrt(ncases * delta**2) - stats.norm.ppf(power) * np.sqrt(va)) / np.sqrt(v0(k))
        sig = float(stats.norm.sf(za))
    else:
        raise DataError("power_roc_test: leave exactly one of auc, ncases/ncontrols, power, sig_level as None")
    return {
        "ncases": ncases,
        "ncontrols": ncontrols,
        "auc": auc,
        "sig_level": sig * 2 if alternative == "two.sided" else sig,
        "power": power,
        "alternative": alternative,
        "method": "One ROC curve power calculation (Obuchowski)",
    }


def power_roc_test_two(
    r1: ROC,
    r2: ROC,
    power: float | None = None,
    sig_level: float | None = 0.05,
    kappa: float | None = None,
    alternative: str = "two.sided",
) -> dict:
    """Power, significance or sample size to detect AUC1 - AUC2 of two paired curves (``power.roc.test``).

    As pROC with its default ``method = "delong"``: the DeLong variances and covariance of the observed curves,
    scaled to one case, give v0 = 2 (V1 - C) under H0 and va = V1 + V2 - 2C under H1. ``power=None`` solves
    the power at the observed size; ``sig_level=None`` the level; both given: the number of cases (and
    ``kappa`` controls per case, default the observed ratio).
    """
    from exoniche.biomarkers._roc import _same_subjects, delong_cov

    if alternative not in ("two.sided", "one.sided"):
        raise unknown("alternative", alternative, ("one.sided", "two.sided"), DataError)
    if not _same_subjects(r1, r2):
        raise DataError("power for two ROC curves: the curves must be paired (same subjects)")
    cov = delong_cov(np.vstack([r1.v10, r2.v10]), np.vstack([r1.v01, r2.v01])) * r1.n_cases
    v0 = 2 * cov[0, 0] - 2 * cov[0, 1]
    va = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    delta = r1.auc - r2.auc
    ncases, ncontrols = float(r1.n_cases), float(r1.n_controls)
    kappa = ncontrols / ncases if kappa is None else kappa
    sig = None if sig_level is None else (sig_level / 2 if alternative == "two.sided" else sig_level)
    if power is None:
        if sig is None:
            raise DataError("power for two ROC curves: give sig_level or power")
        zb = (np.sqrt(ncases * delta**2) - stats.norm.ppf(1 - sig) * np.sqrt(v0)) / np.sqrt(va)
        power = float(stats.norm.cdf(zb))
    elif sig is None:
        za = (np.sqrt(ncases * delta**2) - stats.norm.ppf(power) * np.sqrt(va)) / np.sqrt(v0)
        sig = float(stats.norm.sf(za))
    else:
        za, zb = stats.norm.ppf(1 - sig), stats.norm.ppf(power)
        ncases = float((za * np.sqrt(v0) + zb * np.sqrt(va)) ** 2 / delta**2)
        ncontrols = kappa * ncases
    return {"ncases": ncases, "ncontrols": ncontrols, "sig_level": sig * 2 if alternative == "two.sided" else sig,
            "power": power, "auc_difference": delta, "alternative": alternative,
            "method": "Two ROC curves power calculation (Obuchowski, DeLong variances)"}  # fmt: skip


__all__ = [
    "BinormalROC", "MulticlassAUC", "auprc", "auprc_ci", "ci_se", "ci_sp", "ci_thresholds", "coords_at",
    "multiclass_auc", "obuchowski_var", "power_roc_test", "power_roc_test_two", "pr_curve", "smooth_binormal",
    "var_obuchowski",
]  # fmt: skip
