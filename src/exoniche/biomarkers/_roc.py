"""ROC analysis equal to R's pROC: AUC, DeLong variance and tests, bootstrap CI, partial AUC, curves.

The DeLong variance uses the O(n log n) midrank algorithm of Sun & Xu (2014, IEEE Signal Process. Lett. 21:
1389): placement values come from three rankings (all scores, cases only, controls only) instead of the
O(n_cases * n_controls) kernel matrix, so a million observations take well under a second.

Conventions follow pROC (documented in ``tests/reference/README.md``): ``direction="<"`` means controls score
lower than cases (a case is called positive when its score is above the threshold); ``">"`` is the reverse;
``"auto"`` picks ``"<"`` when the median of the controls is <= the median of the cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from exoniche._ci import z_two_sided
from exoniche.errors import DataError, unknown

DIRECTIONS = ("auto", "<", ">")
BEST_METHODS = ("youden", "closest_topleft")


# --------------------------------------------------------------------------------------------- kernels
def _midranks(x: np.ndarray) -> np.ndarray:
    """Midranks along the last axis (ties get the mean of their ranks)."""
    return stats.rankdata(x, method="average", axis=-1)


def placements(cases: np.ndarray, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong placement values by Sun & Xu's midrank algorithm.

    Parameters
    ----------
    cases, controls
        Scores oriented so that cases are expected higher; shape ``(m,)``/``(n,)`` or ``(k, m)``/``(k, n)``
        for ``k`` markers measured on the same subjects.

    Returns
    -------
    v10 : array (..., m)
        For each case, the fraction of controls it beats (ties count 1/2).
    v01 : array (..., n)
        For each control, the fraction of cases that beat it.
    """
    m, n = cases.shape[-1], controls.shape[-1]
    tz = _midranks(np.concatenate([cases, controls], axis=-1))
    v10 = (tz[..., :m] - _midranks(cases)) / n
    v01 = 1.0 - (tz[..., m:] - _midranks(controls)) / m
    return v10, v01


def delong_cov(v10: np.ndarray, v01: np.ndarray) -> np.ndarray:
    """DeLong covariance matrix of k AUCs from placements of shape (k, m) and (k, n)."""
    v10, v01 = np.atleast_2d(v10), np.atleast_2d(v01)
    m, n = v10.shape[1], v01.shape[1]
    if m < 2 or n < 2:  # a sample variance needs two values; pROC returns NA too
        return np.full((v10.shape[0], v10.shape[0]), np.nan)
    return np.atleast_2d(np.cov(v10, ddof=1)) / m + np.atleast_2d(np.cov(v01, ddof=1)) / n


def _tie_groups(cases: np.ndarray, controls: np.ndarray):
    """One sort of all scores: distinct values (ascending), cases and controls per value, each one's value index."""
    m = cases.size
    scores = np.concatenate([cases, controls])
    order = np.argsort(scores)
    ordered = scores[order]
    new = np.empty(ordered.size, dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    group = np.empty(ordered.size, dtype=np.int64)
    group[order] = np.cumsum(new) - 1
    values = ordered[new]
    n_case = np.bincount(group[:m], minlength=values.size)
    n_ctrl = np.bincount(group[m:], minlength=values.size)
    return values, n_case, n_ctrl, group[:m], group[m:]


def auto_direction(cases: np.ndarray, controls: np.ndarray) -> str:
    """PROC's rule: '<' when median(controls) <= median(cases), else '>'."""
    return "<" if np.median(controls) <= np.median(cases) else ">"


# --------------------------------------------------------------------------------------------- ROC
@dataclass(eq=False)
class ROC:
    """An empirical ROC curve of one marker, built by :func:`roc`.

    Attributes
    ----------
    auc : float
        Area under the curve in the chosen direction (Mann-Whitney, ties count 1/2).
    var : float
        DeLong variance of the AUC.
    ci : tuple of float
        DeLong confidence interval at ``conf_level``, clipped to [0, 1] as pROC does.
    direction : str
        ``"<"`` (cases higher) or ``">"`` (cases lower).
    n_cases, n_controls : int
    """

    cases: np.ndarray
    controls: np.ndarray
    direction: str
    name: str = "marker"
    conf_level: float = 0.95
    response: np.ndarray | None = field(default=None, repr=False)  # for paired tests: same subjects?

    def __post_init__(self) -> None:
        values, n_case, n_ctrl, g_case, g_ctrl = _tie_groups(self.cases, self.controls)
        if self.direction == ">":  # mirror the scores: the same formulas then hold for both directions
            values, n_case, n_ctrl = -values[::-1], n_case[::-1], n_ctrl[::-1]
            g_case, g_ctrl = values.size - 1 - g_case, values.size - 1 - g_ctrl
        self._groups = (values, n_case, n_ctrl)
        m, n = self.cases.size, self.controls.size
        ctrl_below = np.cumsum(n_ctrl) - n_ctrl
        case_above = m - np.cumsum(n_case)
        # Sun & Xu placements from the tie groups of a single sort: ties count 1/2
        self.v10 = ((ctrl_below + 0.5 * n_ctrl) / n)[g_case]
        self.v01 = ((case_above + 0.5 * n_case) / m)[g_ctrl]
        self.auc = float(np.mean(self.v10))
        self.var = float(delong_cov(self.v10, self.v01)[0, 0])
        half = z_two_sided(self.conf_level) * np.sqrt(self.var)
        self.ci = (
            (max(0.0, self.auc - float(half)), min(1.0, self.auc + float(half)))
            if np.isfinite(half)
            else (np.nan, np.nan)
        )

    @property
    def n_cases(self) -> int:
        return int(self.cases.size)

    @property
    def n_controls(self) -> int:
        return int(self.controls.size)

    # ------------------------------------------------------------------ curve
    @cached_property
    def _curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """PROC's curve: thresholds -Inf, midpoints between distinct values, Inf (reversed for '>')."""
        values, n_case, n_ctrl = self._groups
        thresholds = np.concatenate([[-np.inf], (values[:-1] + values[1:]) / 2, [np.inf]])
        # at the threshold just below values[i]: cases >= values[i] are called positive
        tp = np.append(self.cases.size - (np.cumsum(n_case) - n_case), 0)
        tn = np.append(np.cumsum(n_ctrl) - n_ctrl, self.controls.size)
        sign = 1.0 if self.direction == "<" else -1.0
        return sign * thresholds, tp / self.cases.size, tn / self.controls.size

    @property
    def thresholds(self) -> np.ndarray:
        return self._curve[0]

    @property
    def sensitivities(self) -> np.ndarray:
        return self._curve[1]

    @property
    def specificities(self) -> np.ndarray:
        return self._curve[2]

    def to_frame(self) -> pd.DataFrame:
        """Return the curve as a table: threshold, sensitivity, specificity, youden (se + sp - 1), counts."""
        thr, se, sp = self._curve
        return pd.DataFrame(
            {
                "threshold": thr,
                "sensitivity": se,
                "specificity": sp,
                "youden": se + sp - 1.0,
                "tp": np.rint(se * self.n_cases).astype(int),
                "fn": np.rint((1 - se) * self.n_cases).astype(int),
                "tn": np.rint(sp * self.n_controls).astype(int),
                "fp": np.rint((1 - sp) * self.n_controls).astype(int),
            }
        )

    def coords(self, best: str = "youden") -> pd.DataFrame:
        """Optimal threshold(s) as pROC's ``coords(roc, "best")``: every tied optimum, in curve order.

        Parameters
        ----------
        best
            ``"youden"`` (maximise se + sp) or ``"closest_topleft"`` (minimise (1-se)^2 + (1-sp)^2).

        Returns
        -------
        DataFrame with threshold, specificity, sensitivity, youden (se + sp, pROC's definition) and
        closest_topleft.
        """
        method = best.replace(".", "_").replace("-", "_")
        if method == "topleft":
            method = "closest_topleft"
        if method not in BEST_METHODS:
            raise unknown("best", best, BEST_METHODS, DataError, what="method")
        thr, se, sp = self._curve
        youden = se + sp
        topleft = (1 - se) ** 2 + (1 - sp) ** 2
        crit = youden if method == "youden" else -topleft
        keep = crit == crit.max()  # exact ties, as pROC
        return pd.DataFrame(
            {
                "threshold": thr[keep],
                "specificity": sp[keep],
                "sensitivity": se[keep],
                "youden": youden[keep],
                "closest_topleft": topleft[keep],
            }
        )

    # ------------------------------------------------------------------ partial AUC
    def partial_auc(
        self, bounds: tuple[float, float] = (1.0, 0.8), focus: str = "specificity", correct: bool = False
    ) -> float:
        """Area under the curve restricted to specificity (or sensitivity) in ``bounds``.

        With ``correct=True`` the McClish (1989) standardisation maps the area to [0.5, 1]; it is NaN when the
        curve lies below the diagonal in that range (pROC warns and returns NA).
        """
        if focus not in ("specificity", "sensitivity"):
            raise unknown("focus", focus, ("sensitivity", "specificity"), DataError)
        hi, lo = max(bounds), min(bounds)
        if not (0.0 <= lo < hi <= 1.0):
            raise DataError(f"partial AUC bounds must lie in [0, 1] and differ, got {bounds}")
        _, se, sp = self._curve
        x, y = (sp, se) if focus == "specificity" else (se[::-1], sp[::-1])
        x0, x1, y0, y1 = x[:-1], x[1:], y[:-1], y[1:]
        a, b = np.clip(x0, lo, hi), np.clip(x1, lo, hi)
        width = x1 - x0
        ok = (b > a) & (width > 0)
        slope = np.divide(y1 - y0, width, out=np.zeros_like(width), where=width > 0)
        ya, yb = y0 + slope * (a - x0), y0 + slope * (b - x0)
        area = float(np.sum(np.where(ok, (b - a) * (ya + yb) / 2, 0.0)))
        if not correct:
            return area
        area_min = ((1 - lo) ** 2 - (1 - hi) ** 2) / 2  # under the diagonal
        area_max = hi - lo
        if area < area_min:
            return float("nan")
        return (1 + (area - area_min) / (area_max - area_min)) / 2

    # ------------------------------------------------------------------ bootstrap
    def ci_bootstrap(
        self, n_boot: int = 2000, seed: int | np.random.Generator | None = 0, conf_level: float | None = None
    ) -> tuple[float, float]:
        """Stratified bootstrap percentile CI of the AUC (cases and controls resampled separately)."""
        rng = np.random.default_rng(seed)
        level = self.conf_level if conf_level is None else conf_level
        sign = 1.0 if self.direction == "<" else -1.0
        cases, controls = sign * self.cases, sign * self.controls
        m, n = cases.size, controls.size
        aucs = np.empty(n_boot)
        chunk = max(1, int(2e6 // (m + n)))
        for start in range(0, n_boot, chunk):
            k = min(chunk, n_boot - start)
            bc = cases[rng.integers(0, m, size=(k, m))]
            bn = controls[rng.integers(0, n, size=(k, n))]
            ranks = _midranks(np.concatenate([bc, bn], axis=1))[:, :m]
            aucs[start : start + k] = (ranks.sum(axis=1) - m * (m + 1) / 2) / (m * n)
        alpha = (1 - level) / 2
        low, high = np.quantile(aucs, [alpha, 1 - alpha])
        return float(low), float(high)

    # ------------------------------------------------------------------ output
    def summary(self) -> dict:
        """Return the JSON record of ``biomarkers roc``: marker, auc, CI, n_cases, n_controls, direction."""
        return {
            "marker": self.name,
            "auc": self.auc,
            "ci_low": self.ci[0],
            "ci_high": self.ci[1],
            "n_cases": self.n_cases,
            "n_controls": self.n_controls,
            "direction": self.direction,
            "var_delong": self.var,
        }

    def plot(self, ax=None, label: str | None = None, **kwargs):
        """Draw the curve (sensitivity against 1 - specificity) with the diagonal; returns the Axes."""
        return plot_rocs([self], ax=ax, labels=None if label is None else [label], **kwargs)


def roc(
    y,
    score,
    direction: str = "auto",
    name: str | None = None,
    conf_level: float = 0.95,
) -> ROC:
    """Build an empirical ROC curve with its AUC and DeLong CI, as ``pROC::roc`` + ``ci.auc``.

    Parameters
    ----------
    y
        Outcome per subject: bool or 0/1, True/1 = case.
    score
        Marker value per subject (any unit; only the order matters).
    direction
        ``"auto"`` (pROC's median rule), ``"<"`` (cases higher) or ``">"`` (cases lower).
    name
        Marker name used in tables and legends (default: the Series name or "marker").

    Examples
    --------
    >>> r = roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> r.auc
    0.75
    """
    if direction not in DIRECTIONS:
        raise unknown("direction", direction, DIRECTIONS, DataError)
    if name is None:
        name = str(getattr(score, "name", None) or "marker")
    y_arr = np.asarray(y)
    s = np.asarray(score, dtype=float)
    if y_arr.shape != s.shape or y_arr.ndim != 1:
        raise DataError(
            f"{name}: outcome and score must be 1-D of the same length, got {y_arr.shape} and {s.shape}"
        )
    if y_arr.dtype != bool:
        if not np.all((y_arr == 0) | (y_arr == 1)):
            levels = sorted(map(str, np.unique(y_arr).tolist()))
            raise DataError(f"{name}: outcome must be bool or 0/1, got levels {levels}")
        y_arr = y_arr == 1
    if not np.all(np.isfinite(s)):
        raise DataError(f"{name}: score has {int(np.sum(~np.isfinite(s)))} missing or infinite values")
    cases, controls = s[y_arr], s[~y_arr]
    if cases.size == 0 or controls.size == 0:
        raise DataError(
            f"{name}: need at least one case and one control, got {cases.size} and {controls.size}"
        )
    if direction == "auto":
        direction = auto_direction(cases, controls)
    return ROC(cases, controls, direction, name, conf_level, response=y_arr)


# --------------------------------------------------------------------------------------------- tests
@dataclass
class ROCTest:
    """DeLong comparison of two AUCs (``pROC::roc.test(method="delong")``)."""

    a: str
    b: str
    paired: bool
    statistic: float  # Z (paired) or D (unpaired)
    p: float
    diff: float
    diff_ci: tuple[float, float]
    df: float | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "a": self.a,
            "b": self.b,
            "z": self.statistic,
            "p": self.p,
            "diff": self.diff,
            "diff_ci_low": self.diff_ci[0],
            "diff_ci_high": self.diff_ci[1],
            "paired": self.paired,
            "df": self.df,
            "warnings": self.warnings,
        }


def _same_subjects(r1: ROC, r2: ROC) -> bool:
    return (
        r1.response is not None
        and r2.response is not None
        and r1.response.shape == r2.response.shape
        and bool(np.all(r1.response == r2.response))
    )


def _p_value(stat: float, alternative: str, df: float | None = None) -> float:
    """PROC's p-value: two-sided, 'greater' (AUC1 > AUC2) or 'less', normal or Student's t."""
    dist = stats.norm if df is None else stats.t(df)
    if alternative == "two.sided":
        return float(2 * dist.sf(abs(stat)))
    return float(dist.sf(stat) if alternative == "greater" else dist.cdf(stat))


ALTERNATIVES = ("two.sided", "less", "greater")


def roc_test(
    r1: ROC, r2: ROC, paired: bool | None = None, conf_level: float = 0.95, alternative: str = "two.sided"
) -> ROCTest:
    """Compare two AUCs with DeLong's test.

    Paired (same subjects, two markers): Z = (A1 - A2) / sqrt(V1 + V2 - 2 Cov), with the CI of the difference.
    Unpaired (independent samples): D = (A1 - A2) / sqrt(V1 + V2) against Student's t with Welch-type df
    (``(V1+V2)^2 / (V1^2/(N1-1) + V2^2/(N2-1))``), as pROC; pROC gives no CI there, we give the normal one.
    ``paired=None`` decides as pROC: paired when both curves come from the same outcome vector.
    ``alternative``: ``"two.sided"``, ``"greater"`` (H1: AUC1 > AUC2) or ``"less"``, as pROC.
    """
    if alternative not in ALTERNATIVES:
        raise unknown("alternative", alternative, ALTERNATIVES, DataError)
    if paired is None:
        paired = _same_subjects(r1, r2)
    if paired and not _same_subjects(r1, r2):
        raise DataError(
            f"paired test of {r1.name!r} and {r2.name!r}: the two ROC curves are not on the same subjects"
        )
    warnings = []
    if r1.direction != r2.direction:
        warnings.append("DeLong's test should not be applied to ROC curves with a different direction.")
    diff = r1.auc - r2.auc
    z_crit = z_two_sided(conf_level)
    if paired:
        cov = delong_cov(np.vstack([r1.v10, r2.v10]), np.vstack([r1.v01, r2.v01]))
        var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
        se = float(np.sqrt(var)) if var > 0 else 0.0
        z = diff / se if se > 0 else (0.0 if diff == 0 else np.copysign(np.inf, diff))
        p = _p_value(float(z), alternative)
        return ROCTest(
            r1.name,
            r2.name,
            True,
            float(z),
            p,
            diff,
            (diff - z_crit * se, diff + z_crit * se),
            None,
            warnings,
        )
    v1, v2 = r1.var, r2.var
    se = float(np.sqrt(v1 + v2))
    d = diff / se if se > 0 else 0.0
    n1, n2 = r1.n_cases + r1.n_controls, r2.n_cases + r2.n_controls
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1)) if se > 0 else float("nan")
    p = _p_value(float(d), alternative, df) if se > 0 else 1.0
    return ROCTest(
        r1.name, r2.name, False, float(d), p, diff, (diff - z_crit * se, diff + z_crit * se), df, warnings
    )


def compare_all(
    rocs: Sequence[ROC], paired: bool | None = None, conf_level: float = 0.95, alternative: str = "two.sided"
) -> list[ROCTest]:
    """DeLong tests for every pair i < j, in input order."""
    return [
        roc_test(rocs[i], rocs[j], paired=paired, conf_level=conf_level, alternative=alternative)
        for i in range(len(rocs))
        for j in range(i + 1, len(rocs))
    ]


# --------------------------------------------------------------------------------------------- plot
def plot_rocs(rocs: Sequence[ROC], ax=None, labels: Sequence[str] | None = None, title: str | None = None):
    """Publication-style ROC figure: curves, chance diagonal, AUC with 95 % CI in the legend; returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 4.8), dpi=150)
    ax.plot([0, 1], [0, 1], ls="--", lw=0.8, color="0.6", label="chance (AUC 0.5)", zorder=1)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, r in enumerate(rocs):
        name = labels[i] if labels else r.name
        pct = round(r.conf_level * 100)
        label = f"{name}: AUC {r.auc:.3f} ({pct}% CI {r.ci[0]:.3f}–{r.ci[1]:.3f})"
        ax.plot(
            1 - r.specificities,
            r.sensitivities,
            lw=1.6,
            color=colours[i % len(colours)],
            label=label,
            zorder=2,
        )
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("1 − specificity (false-positive rate)")
    ax.set_ylabel("Sensitivity (true-positive rate)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, lw=0.3, color="0.9")
    n = rocs[0].n_cases, rocs[0].n_controls
    ax.set_title(
        title or f"ROC curve{'s' if len(rocs) > 1 else ''} (n = {n[0]} cases, {n[1]} controls)", fontsize=9
    )
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    return ax
