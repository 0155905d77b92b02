"""Threshold-rule marker panels: CombiROC's counting rule and a PanelomiX-style threshold search.

CombiROC (Mazzara et al. 2017, Sci. Rep. 7: 45477; R package ``combiroc`` 0.3.4, functions ``combi`` and
``ranked_combs``), reproduced exactly:

* a marker is positive in a sample when its value is **>=** the shared ``signal_threshold``;
* a combination of two or more markers is positive when **at least** ``min_positive`` of its markers are
  positive; a single marker is positive when it is positive (CombiROC applies ``combithr`` only to
  combinations);
* SE = 100 * positive cases / cases, SP = 100 - 100 * positive controls / controls (percent, computed with
  CombiROC's floating-point operations so the numbers agree to the last bit), Youden = (SE + SP) / 100 - 1;
* combinations are enumerated by size and then lexicographically over the marker names sorted
  alphabetically (``gtools::combinations`` sorts them), ranked by Youden, ties in enumeration order (R's
  ``order`` is stable); ``meets_min`` flags SE >= ``min_se`` and SP >= ``min_sp`` (CombiROC's "gold").

CombiROC itself labels combinations wrongly when the marker columns are not in alphabetical order (it sorts
the names but counts by column position); here names and counts always belong together.

PanelomiX (Robin et al. 2013, BMC Bioinformatics 14: 73) searches a threshold per marker instead: candidate
thresholds are the local maxima of each marker's ROC curve (its upper-left corners), the score of a sample is
the number of panel markers beyond their thresholds, and the panel is positive at score >= k. The panel,
thresholds and k maximise sensitivity subject to specificity >= ``min_sp``. The search is repeated inside
stratified cross-validation so the reported SE/SP (with Clopper-Pearson CIs) are not those of the data the
thresholds were chosen on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations, product

import numpy as np
import pandas as pd

from exoniche.biomarkers._cutpoint import clopper_pearson
from exoniche.biomarkers._roc import roc
from exoniche.errors import DataError


def _check_inputs(y, X: pd.DataFrame, max_size: int | None, where: str) -> tuple[np.ndarray, np.ndarray, int]:
    y = np.asarray(y, dtype=bool)
    Z = X.to_numpy(dtype=float)
    if Z.shape[0] != y.size:
        raise DataError(f"{where}: {Z.shape[0]} marker rows but {y.size} outcomes")
    if not np.all(np.isfinite(Z)):
        bad = [str(c) for c, ok in zip(X.columns, np.all(np.isfinite(Z), axis=0), strict=True) if not ok]
        raise DataError(f"{where}: markers with missing values: {', '.join(bad)}; choose a missing-value policy")
    if y.all() or not y.any():
        raise DataError(f"{where}: the outcome needs both cases and controls")
    p = Z.shape[1]
    size = p if max_size is None else int(max_size)
    if not 1 <= size <= p:
        raise DataError(f"max-size: must be between 1 and the number of markers ({p}), got {max_size}")
    return y, Z, size


# --------------------------------------------------------------------------------------------- CombiROC
@dataclass
class CombiROCResult:
    """All combinations, ranked by Youden (``table``), as CombiROC's ``combi`` + ``ranked_combs``."""

    table: pd.DataFrame
    signal_threshold: float
    min_positive: int
    min_se: float
    min_sp: float
    n_cases: int
    n_controls: int
    markers: list[str]
    all_negative_markers: list[str] = field(default_factory=list)

    def to_dict(self, top: int | None = None) -> dict:
        """Return the JSON document of ``biomarkers panel --method combiroc --json`` (the ``top`` combinations)."""
        rows = self.table if top is None else self.table.head(top)
        combos = [
            {
                "combination": r.combination,
                "markers": list(r.markers),
                "positives_case": int(r.positives_case),
                "positives_control": int(r.positives_control),
                "se": float(r.se),
                "sp": float(r.sp),
                "youden": float(r.youden),
                "meets_min": bool(r.meets_min),
            }
            for r in rows.itertuples(index=False)
        ]
        return {
            "method": "combiroc",
            "signal_threshold": self.signal_threshold,
            "min_positive": self.min_positive,
            "min_se": self.min_se,
            "min_sp": self.min_sp,
            "n_cases": self.n_cases,
            "n_controls": self.n_controls,
            "n_combinations": len(self.table),
            "n_meeting_min": int(self.table["meets_min"].sum()),
            "all_negative_markers": self.all_negative_markers,
            "combinations": combos,
        }


def combiroc(
    y,
    X: pd.DataFrame,
    signal_threshold: float,
    min_positive: int = 1,
    max_size: int | None = None,
    min_se: float = 0.0,
    min_sp: float = 0.0,
) -> CombiROCResult:
    """CombiROC's threshold-rule combinations (see the module docstring); SE, SP and minimums in percent.

    Raises
    ------
    DataError
        When the threshold makes every marker negative in every sample (every SE would be 0 and every SP
        100: the threshold is off the scale of the data), when ``min_positive`` < 1, or on bad input.
    """
    y, Z, size = _check_inputs(y, X, max_size, "combiroc panel")
    if int(min_positive) < 1:
        raise DataError(f"min-positive: must be >= 1 (markers positive for a combination), got {min_positive}")
    for name, v in (("min-se", min_se), ("min-sp", min_sp)):
        if not 0 <= v <= 100:
            raise DataError(f"{name}: CombiROC minimums are percentages in [0, 100], got {v}")
    names = [str(c) for c in X.columns]
    order = sorted(range(len(names)), key=lambda j: names[j])
    names, Z = [names[j] for j in order], Z[:, order]
    positive = Z >= signal_threshold
    never = [names[j] for j in np.flatnonzero(~positive.any(axis=0))]
    if len(never) == len(names):
        raise DataError(
            f"signal-threshold {signal_threshold:g}: every marker is negative in every sample (largest value "
            f"{Z.max():g}); choose a threshold within the data's range"
        )
    n_case, n_ctrl = int(y.sum()), int((~y).sum())
    rows = []
    for k in range(1, size + 1):
        for combo in combinations(range(len(names)), k):
            hits = positive[:, combo].sum(axis=1) >= (1 if k == 1 else int(min_positive))
            pc, pn = int(hits[y].sum()), int(hits[~y].sum())
            se = 100 * (pc / n_case)
            sp = 100 - (100 * (pn / n_ctrl))
            rows.append(
                {
                    "combination": "-".join(names[j] for j in combo),
                    "markers": [names[j] for j in combo],
                    "size": k,
                    "positives_case": pc,
                    "positives_control": pn,
                    "se": se,
                    "sp": sp,
                    "youden": ((se + sp) / 100) - 1,
                    "meets_min": bool(sp >= min_sp and se >= min_se),
                }
            )
    table = pd.DataFrame(rows)
    table = table.iloc[np.argsort(-table["youden"].to_numpy(), kind="stable")].reset_index(drop=True)
    return CombiROCResult(
        table, float(signal_threshold), int(min_positive), float(min_se), float(min_sp), n_case, n_ctrl,
        names, never,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------- PanelomiX
def local_maxima_thresholds(y: np.ndarray, x: np.ndarray, direction: str = "<") -> np.ndarray:
    """Thresholds at the upper-left corners of the ROC curve of ``x`` (pROC's "local maximas").

    A curve point is a local maximum when moving to the next threshold loses sensitivity and moving to the
    previous one loses specificity; the others are dominated by a neighbour.
    """
    r = roc(y, x, direction=direction)
    thr, se, sp = r.thresholds, r.sensitivities, r.specificities
    inner = np.arange(1, thr.size - 1)
    keep = (se[inner] > se[inner + 1]) & (sp[inner] > sp[inner - 1])
    return thr[inner[keep]]


def _spread(values: np.ndarray, cap: int) -> np.ndarray:
    if values.size <= cap:
        return values
    return values[np.unique(np.linspace(0, values.size - 1, cap).round().astype(int))]


@dataclass
class PanelRule:
    """A PanelomiX rule: markers, one threshold and direction each, and the minimum score k."""

    markers: list[str]
    thresholds: list[float]
    directions: list[str]
    k: int

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Return the number of the rule's markers that are positive in each row of ``X``."""
        s = np.zeros(len(X), dtype=int)
        for m, t, d in zip(self.markers, self.thresholds, self.directions, strict=True):
            v = X[m].to_numpy(dtype=float)
            s += (v >= t) if d == "<" else (v <= t)
        return s

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Return True for each row of ``X`` where at least ``k`` markers are positive."""
        return self.score(X) >= self.k

    def to_dict(self) -> dict:
        """Return the rule as a JSON record: markers, thresholds, directions and k."""
        return {
            "markers": self.markers,
            "thresholds": self.thresholds,
            "directions": self.directions,
            "positive_if": " ".join(
                [f"at least {self.k} of:"]
                + [
                    f"{m} {'>=' if d == '<' else '<='} {t:.6g};"
                    for m, t, d in zip(self.markers, self.thresholds, self.directions, strict=True)
                ]
            ).rstrip(";"),
            "k": self.k,
        }


def _search(y: np.ndarray, X: pd.DataFrame, max_size: int, min_sp: float, max_thresholds: int):
    """Best rule on (y, X): max SE with SP >= min_sp; ties: higher SP, fewer markers, enumeration order."""
    names = list(X.columns)
    cand, dirs = {}, {}
    for m in names:
        x = X[m].to_numpy(dtype=float)
        d = roc(y, x, direction="auto").direction
        t = local_maxima_thresholds(y, x, d)
        cand[m] = _spread(t, max_thresholds) if t.size else np.array([np.median(x)])
        dirs[m] = d
    # positive[m]: (n_thresholds, n) boolean calls per candidate threshold
    calls = {}
    for m in names:
        v = X[m].to_numpy(dtype=float)
        calls[m] = (v[None, :] >= cand[m][:, None]) if dirs[m] == "<" else (v[None, :] <= cand[m][:, None])
    n_case, n_ctrl = int(y.sum()), int((~y).sum())
    best, best_key = None, None
    for size in range(1, max_size + 1):
        for combo in combinations(names, size):
            for idx in product(*(range(cand[m].size) for m in combo)):
                score = sum(calls[m][i].astype(np.int8) for m, i in zip(combo, idx, strict=True))
                for k in range(1, size + 1):
                    pos = score >= k
                    sp = 1 - pos[~y].sum() / n_ctrl
                    if sp < min_sp - 1e-12:
                        continue
                    se = pos[y].sum() / n_case
                    key = (se, sp, -size)
                    if best_key is None or key > best_key:
                        best_key = key
                        best = PanelRule(
                            list(combo), [float(cand[m][i]) for m, i in zip(combo, idx, strict=True)],
                            [dirs[m] for m in combo], k,
                        )  # fmt: skip
    if best is None:
        raise DataError(f"panelomix: no panel reaches specificity >= {min_sp:g} on these data")
    return best


@dataclass
class PanelomixResult:
    """PanelomiX rule with its apparent and cross-validated sensitivity and specificity."""

    rule: PanelRule
    apparent: dict
    cross_validated: dict
    folds: int
    seed: int | None
    min_sp: float
    fold_rules: list[dict]

    def to_dict(self) -> dict:
        """Return the JSON document of ``biomarkers panel --method panelomix --json``."""
        return {
            "method": "panelomix",
            "min_sp": self.min_sp,
            "rule": self.rule.to_dict(),
            "apparent": self.apparent,
            "cross_validated": self.cross_validated,
            "folds": self.folds,
            "seed": self.seed,
            "fold_rules": self.fold_rules,
        }


def _accuracy(y: np.ndarray, pos: np.ndarray, conf_level: float) -> dict:
    tp, fn = int((pos & y).sum()), int((~pos & y).sum())
    tn, fp = int((~pos & ~y).sum()), int((pos & ~y).sum())
    se_lo, se_hi = clopper_pearson(tp, tp + fn, conf_level)
    sp_lo, sp_hi = clopper_pearson(tn, tn + fp, conf_level)
    return {
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "se": tp / (tp + fn), "se_ci_low": se_lo, "se_ci_high": se_hi,
        "sp": tn / (tn + fp), "sp_ci_low": sp_lo, "sp_ci_high": sp_hi,
    }  # fmt: skip


def panelomix(
    y,
    X: pd.DataFrame,
    max_size: int = 3,
    min_sp: float = 0.95,
    folds: int = 5,
    seed: int | None = 0,
    max_thresholds: int = 6,
    conf_level: float = 0.95,
) -> PanelomixResult:
    """PanelomiX-style threshold panel (module docstring), with stratified cross-validated SE/SP.

    ``min_sp`` is a fraction in [0, 1]; ``max_thresholds`` caps the candidate thresholds per marker (spread
    evenly over the ROC's local maxima) to keep the exhaustive search small.
    """
    from exoniche.biomarkers.panel import stratified_folds

    y, _, size = _check_inputs(y, X, max_size, "panelomix panel")
    if not 0 <= min_sp <= 1:
        raise DataError(f"min-sp: panelomix takes a fraction in [0, 1], got {min_sp}")
    X = X.reset_index(drop=True)
    rule = _search(y, X, size, min_sp, max_thresholds)
    apparent = _accuracy(y, rule.predict(X), conf_level)
    fold_ids = stratified_folds(y, folds, 1, np.random.default_rng(seed))[0]
    oof = np.zeros(y.size, dtype=bool)
    fold_rules = []
    for f in range(folds):
        test = fold_ids == f
        try:
            r = _search(y[~test], X[~test].reset_index(drop=True), size, min_sp, max_thresholds)
        except DataError:
            r = None  # no rule meets the specificity in this training fold: call every test sample negative
        oof[test] = r.predict(X[test]) if r is not None else False
        fold_rules.append({"fold": f, "rule": r.to_dict() if r is not None else None})
    cv = _accuracy(y, oof, conf_level)
    return PanelomixResult(rule, apparent, cv, folds, seed, float(min_sp), fold_rules)


__all__ = ["CombiROCResult", "PanelRule", "PanelomixResult", "combiroc", "local_maxima_thresholds", "panelomix"]
