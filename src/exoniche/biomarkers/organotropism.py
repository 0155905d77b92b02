"""Organotropism: predict the metastatic site from an exosomal marker profile (DESIGN.md §4).

Hoshino et al. (2015) found that the integrins on tumour exosomes predict where a tumour metastasises
(ITGα6β4 / ITGβ4 to lung, ITGαvβ5 to liver) — the review's refs [48, 62]. Here a multinomial logistic
regression (scikit-learn's ``LogisticRegression``, L2 penalty C = 1, on the log10 markers standardised within
each training fold) is fitted by stratified K-fold cross-validation; its out-of-fold class probabilities give

* the Hand & Till multi-class AUC (:func:`exoniche.biomarkers.roc_extra.multiclass_auc`, equal to pROC's
  ``multiclass.roc`` on a probability matrix with ``direction = ">"``) and each site's one-vs-rest AUC with
  its DeLong CI;
* the confusion matrix of the most probable site against the true one, and the accuracy (with its exact CI)
  next to the accuracy of always guessing the most frequent site.

The full-data fit's coefficients are reported (per standardised log10 unit) so a reader sees which marker
points to which organ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from exoniche.biomarkers._cutpoint import clopper_pearson
from exoniche.biomarkers._roc import roc
from exoniche.biomarkers.roc_extra import multiclass_auc
from exoniche.errors import DataError

# Column names of `exoniche cohort`'s outcomes table used to derive a site (the one place that knows them).
COHORT_SITE_PREFIX = "metastases_founded_"


def dominant_site(outcomes: pd.DataFrame, none: str | None = None) -> pd.Series:
    """Site of metastasis per patient of an ``exoniche cohort`` outcomes table.

    The organ with the most founded metastases (``metastases_founded_<organ>``; ties: the first organ in
    column order); patients without any get ``none`` (``None``: NaN, to be dropped).
    """
    cols = [c for c in outcomes.columns if c.startswith(COHORT_SITE_PREFIX)]
    if not cols:
        raise DataError(f"no '{COHORT_SITE_PREFIX}<organ>' columns: not an exoniche cohort outcomes table")
    counts = outcomes[cols].to_numpy(dtype=float)
    organs = np.array([c[len(COHORT_SITE_PREFIX) :] for c in cols], dtype=object)
    site = pd.Series(organs[np.argmax(counts, axis=1)], index=outcomes.index, dtype=object)
    site[counts.max(axis=1) <= 0] = none if none is not None else np.nan
    return site


@dataclass
class OrganotropismResult:
    """Metastatic site from the exosomal integrin profile: multiclass AUC, per-site ROCs and the confusion table."""

    sites: list[str]
    markers: list[str]
    multiclass: dict
    one_vs_rest: list[dict]
    confusion: pd.DataFrame
    accuracy: dict
    coefficients: pd.DataFrame
    oof_probabilities: pd.DataFrame
    folds: int
    seed: int | None
    n: int
    log10: bool

    def to_dict(self) -> dict:
        """Return the JSON document of ``exoniche biomarkers organotropism --json``."""
        return {
            "n": self.n,
            "sites": self.sites,
            "site_counts": {s: int(self.confusion.loc[s].sum()) for s in self.sites},
            "markers": self.markers,
            "log10": self.log10,
            "folds": self.folds,
            "seed": self.seed,
            "model": "multinomial logistic regression (scikit-learn, L2, C = 1, standardised markers)",
            "multiclass_auc": self.multiclass,
            "one_vs_rest": self.one_vs_rest,
            "confusion": {
                "rows_true_columns_predicted": self.sites,
                "matrix": self.confusion.to_numpy().tolist(),
            },
            "accuracy": self.accuracy,
            "coefficients": self.coefficients.reset_index().to_dict(orient="records"),
        }

    def plot(self, ax=None):
        """Confusion matrix as a heat map (row-normalised), with counts; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(1.0 * len(self.sites) + 2.2, 0.9 * len(self.sites) + 1.6), dpi=150)
        m = self.confusion.to_numpy(dtype=float)
        frac = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center",
                        color="white" if frac[i, j] > 0.6 else "black", fontsize=8)  # fmt: skip
        ax.set_xticks(range(len(self.sites)), self.sites, fontsize=8)
        ax.set_yticks(range(len(self.sites)), self.sites, fontsize=8)
        ax.set_xlabel("predicted site (out-of-fold)")
        ax.set_ylabel("true site")
        ax.set_title(f"Multi-class AUC {self.multiclass['auc']:.3f} ({self.folds}-fold CV)", fontsize=9)
        ax.figure.tight_layout()
        return ax


def organotropism(
    site,
    X: pd.DataFrame,
    folds: int = 5,
    seed: int | None = 0,
    log10: bool = True,
    C: float = 1.0,
    conf_level: float = 0.95,
) -> OrganotropismResult:
    """Cross-validated multinomial model of the metastatic site from the marker columns of ``X``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(pd.Series(site).astype(str))
    sites = sorted(set(y.tolist()))
    if len(sites) < 2:
        raise DataError(f"site column: a single level {sites[0]!r}; the model needs two or more sites")
    counts = {s: int((y == s).sum()) for s in sites}
    small = [f"{s} ({n})" for s, n in counts.items() if n < folds]
    if small:
        raise DataError(
            f"site column: {folds}-fold stratified CV needs at least {folds} patients per site; too few: "
            + ", ".join(small)
        )
    Z = X.to_numpy(dtype=float)
    names = [str(c) for c in X.columns]
    if not np.isfinite(Z).all():
        raise DataError("organotropism: markers with missing values; choose a missing-value policy")
    if log10:
        bad = [n for n, col in zip(names, Z.T, strict=True) if (col <= 0).any()]
        if bad:
            raise DataError(f"marker {bad[0]!r} has values <= 0; log10 needs positive levels (or use --no-log)")
        Z = np.log10(Z)

    def model():
        return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))

    oof = np.zeros((y.size, len(sites)))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in cv.split(Z, y):
        m = model().fit(Z[train], y[train])
        oof[np.ix_(test, [sites.index(c) for c in m.classes_])] = m.predict_proba(Z[test])
    probs = pd.DataFrame(oof, columns=sites)
    mc = multiclass_auc(y, probs, levels=sites, direction=">").to_dict()
    ovr = []
    for j, s in enumerate(sites):
        r = roc(y == s, oof[:, j], direction="<", name=s, conf_level=conf_level)
        ovr.append({"site": s, "auc": r.auc, "ci_low": r.ci[0], "ci_high": r.ci[1], "n": counts[s]})
    pred = np.array(sites, dtype=object)[np.argmax(oof, axis=1)]
    conf = pd.crosstab(pd.Categorical(y, sites), pd.Categorical(pred, sites), dropna=False)
    conf.index, conf.columns = sites, sites
    hits = int((pred == y).sum())
    lo, hi = clopper_pearson(hits, y.size, conf_level)
    accuracy = {"accuracy": hits / y.size, "ci_low": lo, "ci_high": hi,
                "most_frequent_site_rate": max(counts.values()) / y.size}  # fmt: skip
    full = model().fit(Z, y)
    lr = full[-1]
    coef = lr.coef_ if lr.coef_.shape[0] == len(sites) else np.vstack([-lr.coef_[0] / 2, lr.coef_[0] / 2])
    coefficients = pd.DataFrame(coef, index=pd.Index(list(lr.classes_), name="site"), columns=names)
    return OrganotropismResult(sites, names, mc, ovr, conf, accuracy, coefficients, probs, folds, seed,
                               int(y.size), log10)  # fmt: skip


def organotropism_table(
    df: pd.DataFrame,
    site: str,
    markers: Sequence[str],
    missing: str = "error",
    source: str | None = None,
    min_per_site: int = 0,
    **kw,
) -> tuple[OrganotropismResult, dict[str, int]]:
    """:func:`organotropism` on a table: the site column and marker columns checked with named errors.

    Sites with fewer than ``min_per_site`` patients are left out and returned (site -> count), never
    dropped silently. Returns (result, dropped sites).
    """
    from exoniche.biomarkers.data import numeric_column, require_columns
    from exoniche.biomarkers.survival import _complete

    src = source or df.attrs.get("source") or "table"
    if not markers:
        raise DataError("organotropism: give at least one --marker")
    require_columns(df, [site, *markers], src)
    keep = _complete(df, [site, *markers], src, missing)
    sub = df.loc[keep]
    X = pd.DataFrame({m: numeric_column(sub, m, src).to_numpy() for m in markers})
    y = sub[site].astype(str).to_numpy()
    counts = pd.Series(y).value_counts()
    dropped = {str(k): int(v) for k, v in counts.items() if v < min_per_site}
    keep_rows = ~np.isin(y, list(dropped))
    levels = sorted(set(y[keep_rows].tolist()))
    if len(levels) < 2:
        what = f"a single level {levels[0]!r}" if levels else "no level"
        extra = f" after leaving out sites with < {min_per_site} patients ({dropped})" if dropped else ""
        raise DataError(f"{src}: site column {site!r} has {what}{extra}; need two or more")
    res = organotropism(y[keep_rows], X[keep_rows].reset_index(drop=True), **kw)
    return res, dropped


__all__ = ["OrganotropismResult", "dominant_site", "organotropism", "organotropism_table"]
