"""Cut-points of one marker with STARD-style accuracy tables.

A cut-point is chosen on a :class:`~exoniche.biomarkers.ROC` curve by Youden's index, by the point closest
to (0, 1), or as the most specific threshold with sensitivity >= x (or the most sensitive with
specificity >= x). Sensitivity, specificity, PPV and NPV come with exact Clopper-Pearson intervals; likelihood
ratios with the log-method intervals of Simel et al. (1991). A threshold chosen on the same data it is
evaluated on is optimistic; the table says how it was chosen so a reader can judge (STARD 2015 item 12).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from exoniche._ci import z_two_sided
from exoniche.biomarkers._roc import ROC
from exoniche.errors import DataError

METHODS = ("youden", "closest_topleft", "se>=", "sp>=", "threshold")
_CONSTRAINT = re.compile(r"^(se|sp|sens|spec|sensitivity|specificity)\s*>=\s*([0-9.]+)$")


def clopper_pearson(k: int, n: int, conf_level: float = 0.95) -> tuple[float, float]:
    """Exact binomial CI of k/n from the beta distribution (NaN when n = 0)."""
    if n == 0:
        return float("nan"), float("nan")
    alpha = 1 - conf_level
    low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def _ratio_ci(ratio: float, var_log: float, z: float) -> tuple[float, float]:
    if not (np.isfinite(ratio) and ratio > 0 and np.isfinite(var_log)):
        return float("nan"), float("nan")
    half = z * math.sqrt(var_log)
    return ratio * math.exp(-half), ratio * math.exp(half)


def _div(a: float, b: float) -> float:
    if b == 0:
        return float("inf") if a > 0 else float("nan")
    return a / b


@dataclass
class Cutpoint:
    """A threshold and its 2x2 table against the reference standard.

    Positive call as pROC's ``coords(roc, x, input="threshold")``: score >= threshold for direction ``"<"``
    (cases higher), score <= threshold for ``">"``. A sample equal to the threshold is positive. (Curve
    thresholds are midpoints between distinct values, so ties arise only with a user-given threshold.)
    """

    marker: str
    threshold: float
    direction: str
    method: str
    how_chosen: str
    tp: int
    fp: int
    fn: int
    tn: int
    conf_level: float = 0.95
    tied_thresholds: list[float] = field(default_factory=list)

    @property
    def n_cases(self) -> int:
        return self.tp + self.fn

    @property
    def n_controls(self) -> int:
        return self.fp + self.tn

    def measures(self) -> pd.DataFrame:
        """Se, Sp, PPV, NPV (exact CIs), accuracy, Youden J, LR+ and LR- (log-method CIs)."""
        tp, fp, fn, tn, level = self.tp, self.fp, self.fn, self.tn, self.conf_level
        z = z_two_sided(level)
        rows = []
        for name, k, n in (
            ("sensitivity", tp, tp + fn),
            ("specificity", tn, tn + fp),
            ("ppv", tp, tp + fp),
            ("npv", tn, tn + fn),
            ("accuracy", tp + tn, tp + fp + fn + tn),
        ):
            lo, hi = clopper_pearson(k, n, level)
            rows.append((name, k / n if n else float("nan"), lo, hi, f"{k}/{n}"))
        se, sp = tp / (tp + fn), tn / (tn + fp)
        rows.append(("youden_j", se + sp - 1, float("nan"), float("nan"), ""))
        lr_pos, lr_neg = _div(se, 1 - sp), _div(1 - se, sp)
        # var of log LR from the delta method; undefined when a cell is zero
        var_pos = _div(1, tp) - 1 / (tp + fn) + _div(1, fp) - 1 / (fp + tn) if tp and fp else float("nan")
        var_neg = _div(1, fn) - 1 / (tp + fn) + _div(1, tn) - 1 / (fp + tn) if fn and tn else float("nan")
        rows.append(("lr_positive", lr_pos, *_ratio_ci(lr_pos, var_pos, z), ""))
        rows.append(("lr_negative", lr_neg, *_ratio_ci(lr_neg, var_neg, z), ""))
        return pd.DataFrame(rows, columns=["measure", "estimate", "ci_low", "ci_high", "count"])

    def table_2x2(self) -> pd.DataFrame:
        """Index: test positive/negative; columns: cases, controls, total."""
        return pd.DataFrame(
            {
                "cases": [self.tp, self.fn, self.n_cases],
                "controls": [self.fp, self.tn, self.n_controls],
                "total": [self.tp + self.fp, self.fn + self.tn, self.n_cases + self.n_controls],
            },
            index=["test positive", "test negative", "total"],
        )

    def to_dict(self) -> dict:
        m = self.measures().set_index("measure")
        out = {
            "marker": self.marker,
            "method": self.method,
            "how_chosen": self.how_chosen,
            "threshold": self.threshold,
            "direction": self.direction,
            "positive_if": f"{self.marker} {'>=' if self.direction == '<' else '<='} {self.threshold:.6g}",
            "tied_thresholds": self.tied_thresholds,
            "n_cases": self.n_cases,
            "n_controls": self.n_controls,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
        }
        for name, row in m.iterrows():
            out[name] = row["estimate"]
            out[f"{name}_ci_low"] = row["ci_low"]
            out[f"{name}_ci_high"] = row["ci_high"]
        return out


def _parse_method(method: str) -> tuple[str, float | None]:
    text = method.strip().lower().replace(".", "_").replace("-", "_")
    if text in ("youden", "closest_topleft", "topleft"):
        return ("closest_topleft" if text == "topleft" else text), None
    match = _CONSTRAINT.match(method.strip().lower().replace(" ", ""))
    if match:
        value = float(match.group(2))
        if not 0 <= value <= 1:
            raise DataError(f"cut-point method {method!r}: the bound must lie in [0, 1], got {value}")
        return ("se>=" if match.group(1).startswith("se") else "sp>="), value
    raise DataError(
        f"cut-point method: unknown value {method!r}; allowed: youden, closest_topleft, se>=X, sp>=X (X in [0, 1])"
    )


def cutpoint(r: ROC, method: str = "youden", threshold: float | None = None) -> Cutpoint:
    """Choose a cut-point on ROC curve ``r`` and tabulate its accuracy.

    Parameters
    ----------
    method
        ``"youden"`` (max se + sp), ``"closest_topleft"`` (min (1-se)^2 + (1-sp)^2), ``"se>=0.9"`` (highest
        specificity among thresholds with sensitivity >= 0.9; ties broken by higher sensitivity) or
        ``"sp>=0.9"``. Ignored when ``threshold`` is given.
    threshold
        Evaluate this fixed threshold instead (e.g. one published elsewhere: an honest, unbiased estimate).
    """
    thr, se, sp = r.thresholds, r.sensitivities, r.specificities
    finite = np.isfinite(thr)
    if threshold is not None:
        kind, how = "threshold", f"fixed threshold {threshold:g} given by the user"
        chosen = float(threshold)
        ties: list[float] = []
    else:
        kind, bound = _parse_method(method)
        if kind in ("youden", "closest_topleft"):
            crit = se + sp if kind == "youden" else -((1 - se) ** 2 + (1 - sp) ** 2)
            crit = np.where(finite, crit, -np.inf)
            idx = np.flatnonzero(crit == crit.max())
            how = (
                "maximises Youden's J (se + sp - 1) on these data"
                if kind == "youden"
                else "closest to the top-left corner (0, 1) of the ROC plot on these data"
            )
        else:
            primary, secondary = (se, sp) if kind == "se>=" else (sp, se)
            ok = finite & (primary >= bound - 1e-12)
            if not ok.any():
                raise DataError(f"{r.name}: no finite threshold reaches {kind}{bound}")
            crit = np.where(ok, secondary + 1e-9 * primary, -np.inf)
            idx = np.flatnonzero(crit == crit.max())
            other = "specificity" if kind == "se>=" else "sensitivity"
            constrained = "sensitivity" if kind == "se>=" else "specificity"
            how = f"highest {other} with {constrained} >= {bound:g} on these data"
        chosen = float(thr[idx[0]])
        ties = [float(t) for t in thr[idx[1:]]]
        method = kind if bound is None else f"{kind}{bound:g}"
    # pROC counts a sample equal to the threshold as positive (>= for '<', <= for '>')
    positive_cases = r.cases >= chosen if r.direction == "<" else r.cases <= chosen
    positive_controls = r.controls >= chosen if r.direction == "<" else r.controls <= chosen
    tp, fp = int(positive_cases.sum()), int(positive_controls.sum())
    return Cutpoint(
        r.name, chosen, r.direction, method if threshold is None else "threshold", how,
        tp, fp, r.n_cases - tp, r.n_controls - fp, r.conf_level, ties,
    )  # fmt: skip


def stard_table(cuts: list[Cutpoint]) -> pd.DataFrame:
    """One row per cut-point: n, 2x2 counts and each measure as 'est (low-high)', STARD 2015 style."""
    def fmt(m: pd.DataFrame, name: str, digits: int = 3) -> str:
        e, lo, hi = m.loc[name, ["estimate", "ci_low", "ci_high"]]
        if not np.isfinite(lo):
            return f"{e:.{digits}f}"
        return f"{e:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"

    rows = []
    for c in cuts:
        m = c.measures().set_index("measure")

        rows.append(
            {
                "marker": c.marker,
                "cut-point": f"{'>=' if c.direction == '<' else '<='} {c.threshold:.4g}",
                "how chosen": c.how_chosen,
                "cases / controls": f"{c.n_cases} / {c.n_controls}",
                "TP / FP / FN / TN": f"{c.tp} / {c.fp} / {c.fn} / {c.tn}",
                "sensitivity": fmt(m, "sensitivity"),
                "specificity": fmt(m, "specificity"),
                "PPV": fmt(m, "ppv"),
                "NPV": fmt(m, "npv"),
                "LR+": fmt(m, "lr_positive", 2),
                "LR-": fmt(m, "lr_negative", 2),
            }
        )
    return pd.DataFrame(rows)
