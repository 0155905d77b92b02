"""Whole analyses as the interfaces run them: a table in, the result document (a JSON-ready dict) out.

The command line (``exoniche biomarkers ...``) and the web API both call these functions, so the same table
and options give the same document in both. Writing files (figures, CSV) stays with the caller.

``source`` is the table's file name, used in error messages (``asah.csv: column 'm1' ...``). The option
parsers take the option's name, so each interface can name its own field in the error message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from exoniche.errors import DataError


def marker_list(values: Sequence[str] | None) -> list[str]:
    """Markers given repeated and/or comma separated (``m1,m2`` and ``m1`` ``m2`` are the same)."""
    return [m.strip() for v in values or [] for m in v.split(",") if m.strip()]


def parse_partial(text: str | None, option: str = "--partial") -> tuple[float, float] | None:
    """Parse a partial-AUC range such as ``'1,0.8'`` (None when not given)."""
    if not text:
        return None
    try:
        a, b = (float(v) for v in text.split(","))
    except ValueError:
        raise DataError(f"{option}: expected two numbers like '1,0.8', got {text!r}") from None
    return a, b


def parse_floats(text: str | None, option: str) -> list[float]:
    """Parse times such as ``'180,365'``."""
    if not text:
        return []
    out = []
    for part in text.split(","):
        try:
            out.append(float(part))
        except ValueError:
            raise DataError(f"{option}: {part.strip()!r} is not a number; give times like 180,365") from None
    return out


def parse_cv(values: Sequence[str] | None, option: str) -> float | dict[str, float] | None:
    """``'0.05'``, ``'5%'`` or ``'marker=0.08'`` (repeatable); one CV or a mapping marker -> CV."""
    if not values:
        return None
    out: dict[str, float] = {}
    for item in values:
        name, _, num = item.rpartition("=")
        text = num.strip()
        try:
            cv = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise DataError(f"{option}: {item!r} is not a CV; give 0.05, 5% or MARKER=0.05") from None
        if not 0 <= cv <= 3:
            raise DataError(f"{option}: CV {item!r} is outside 0..3 (a fraction; 0.05 = 5%)")
        out[name.strip() or "*"] = cv
    return out["*"] if list(out) == ["*"] else out


@dataclass
class ROCAnalysis:
    """What ``exoniche biomarkers roc`` computes: the JSON document and the fitted curves.

    Attributes
    ----------
    document : dict
        ``{"outcome", "markers", "comparisons"}`` (plus ``"percent"``), as printed by ``--json``.
    rocs : list of ROC
        One curve per marker (or per ``--sample`` level), in the document's order.
    pr : bool
        Whether the precision-recall curves were asked for.
    """

    document: dict
    rocs: list
    pr: bool = False

    def to_dict(self) -> dict:
        """Return the JSON document (a copy, safe to extend)."""
        return dict(self.document)

    def curves(self) -> pd.DataFrame:
        """Every curve's points, one row per threshold, with a ``marker`` column (``roc_curves.csv``)."""
        return pd.concat([r.to_frame().assign(marker=r.name) for r in self.rocs], ignore_index=True)

    def pr_curves(self) -> pd.DataFrame:
        """Precision-recall points per marker (``pr_curves.csv``)."""
        from exoniche.biomarkers.roc_extra import pr_curve

        return pd.concat([pr_curve(r).assign(marker=r.name) for r in self.rocs], ignore_index=True)

    def plot(self, ax=None):
        """All curves on one Axes (pROC's ``plot.roc``); returns the Axes."""
        from exoniche.biomarkers._roc import plot_rocs

        return plot_rocs(self.rocs, ax=ax)


def _rocs_by_sample(df, source, outcome, marker, positive, direction, missing, sample) -> list:
    """One ROC of ``marker`` per level of the ``sample`` column (independent samples)."""
    from exoniche.biomarkers._roc import roc
    from exoniche.biomarkers.data import binary_outcome, numeric_column, require_columns

    require_columns(df, [sample], source)
    rocs = []
    for level in sorted(df[sample].dropna().astype(str).unique()):
        part = df[df[sample].astype(str) == level]
        part.attrs = dict(df.attrs)
        yy = binary_outcome(part, outcome, positive, f"{source} ({sample}={level})", missing)
        ss = numeric_column(part, marker, f"{source} ({sample}={level})", missing)
        keep = yy.index.intersection(ss.index, sort=False)
        rocs.append(roc(yy.loc[keep].to_numpy(), ss.loc[keep].to_numpy(), direction, name=f"{sample}={level}"))
    if len(rocs) < 2:
        raise DataError(f"{source}: column {sample!r} has a single level; --sample needs two or more")
    return rocs


def _roc_record(r, *, bootstrap: int, seed: int, partial, partial_focus: str, partial_correct: bool,
                pr: bool) -> dict:
    """One marker's JSON record: AUC and DeLong CI, then the optional bootstrap, partial AUC and AUPRC."""
    rec = r.summary()
    if bootstrap:
        rec["boot_ci_low"], rec["boot_ci_high"] = r.ci_bootstrap(n_boot=bootstrap, seed=seed)
        rec["boot_n"] = bootstrap
    if partial:
        rec["partial_auc"] = r.partial_auc(partial, partial_focus, partial_correct)
        rec["partial_range"], rec["partial_focus"], rec["partial_correct"] = (
            list(partial),
            partial_focus,
            partial_correct,
        )
    best = r.coords("youden").iloc[0]
    rec["youden_threshold"] = best["threshold"]
    if pr:
        from exoniche.biomarkers.roc_extra import auprc, auprc_ci

        n_pr = bootstrap or 1000
        rec["auprc"] = auprc(r)
        rec["auprc_ci_low"], rec["auprc_ci_high"] = auprc_ci(r, n_boot=n_pr, seed=seed)
        rec["auprc_boot_n"], rec["prevalence"] = n_pr, r.n_cases / (r.n_cases + r.n_controls)
    return rec


def analyze_roc(
    df: pd.DataFrame,
    outcome: str,
    markers: Sequence[str],
    positive: str | None = None,
    *,
    source: str | None = None,
    direction: str = "auto",
    missing: str = "error",
    sample: str | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    id_col: str | None = None,
    partial: tuple[float, float] | None = None,
    partial_focus: str = "specificity",
    partial_correct: bool = False,
    alternative: str = "two.sided",
    pr: bool = False,
    percent: bool = False,
) -> ROCAnalysis:
    """AUC with DeLong CI per marker and DeLong tests between them (``exoniche biomarkers roc``).

    Parameters
    ----------
    df : DataFrame
        One row per sample (e.g. from :func:`exoniche.biomarkers.read_table`).
    outcome, markers, positive
        The reference-standard column, the marker columns and the level of ``outcome`` that is a case.
    source : str, optional
        The table's name in error messages (default: ``df.attrs["source"]`` or ``"table"``).
    direction, missing, id_col
        As for :func:`exoniche.biomarkers.outcome_and_markers` and :func:`exoniche.biomarkers.roc`.
    sample : str, optional
        Compare one marker between the column's independent samples (unpaired DeLong tests).
    bootstrap, seed
        Add a stratified bootstrap CI with this many resamples (0: none) from this seed.
    partial, partial_focus, partial_correct
        Partial AUC over a specificity (or sensitivity) range, optionally McClish-standardised.
    alternative : {"two.sided", "greater", "less"}
        Side of the DeLong tests.
    pr : bool
        Add AUPRC with a stratified bootstrap CI.
    percent : bool
        Report on pROC's percent scale.

    Returns
    -------
    ROCAnalysis
        The document and the curves.

    Examples
    --------
    >>> df = pd.DataFrame({"y": [0, 0, 0, 1, 1, 1], "m": [1.0, 2.0, 4.0, 3.0, 5.0, 6.0]})
    >>> a = analyze_roc(df, "y", ["m"])
    >>> round(a.document["markers"][0]["auc"], 4), len(a.rocs)
    (0.8889, 1)
    """
    from exoniche.biomarkers._roc import compare_all, roc
    from exoniche.biomarkers.data import outcome_and_markers

    source = source or df.attrs.get("source") or "table"
    markers = list(markers)
    if sample is None:
        y, X = outcome_and_markers(df, outcome, markers, positive, source, missing, id_col)
        rocs = [roc(y, X[m].to_numpy(), direction=direction, name=m) for m in markers]
    else:
        if len(markers) != 1:
            raise DataError(
                "--sample compares one marker between independent samples; give exactly one --marker"
            )
        rocs = _rocs_by_sample(df, source, outcome, markers[0], positive, direction, missing, sample)
    comparisons = compare_all(rocs, paired=sample is None, alternative=alternative)
    records = [_roc_record(r, bootstrap=bootstrap, seed=seed, partial=partial, partial_focus=partial_focus,
                           partial_correct=partial_correct, pr=pr) for r in rocs]
    result = {"outcome": outcome, "markers": records, "comparisons": [c.to_dict() for c in comparisons]}
    if percent:
        to_percent(result)
    return ROCAnalysis(result, rocs, pr)


def roc_analysis(df: pd.DataFrame, source: str, outcome: str, markers: Sequence[str], positive: str | None = None,
                 **options) -> tuple[dict, list]:
    """:func:`analyze_roc` as ``(document, rocs)``, for the web API."""
    a = analyze_roc(df, outcome, markers, positive, source=source, **options)
    return a.document, a.rocs


# keys that pROC reports x 100 with percent = TRUE
PERCENT_KEYS = ("auc", "ci_low", "ci_high", "boot_ci_low", "boot_ci_high", "partial_auc", "auprc", "auprc_ci_low",
                "auprc_ci_high", "prevalence", "diff", "diff_ci_low", "diff_ci_high")


def to_percent(result: dict) -> None:
    """PROC's percent scale: areas and their CIs x 100, the DeLong variance x 100^2."""
    for rec in [*result["markers"], *result["comparisons"]]:
        for k in PERCENT_KEYS:
            if rec.get(k) is not None:
                rec[k] = 100 * rec[k]
        if rec.get("var_delong") is not None:
            rec["var_delong"] = 1e4 * rec["var_delong"]
    result["percent"] = True


def cutpoint_analysis(
    df: pd.DataFrame,
    source: str,
    outcome: str,
    markers: Sequence[str],
    positive: str | None = None,
    *,
    methods: Sequence[str] = ("youden",),
    threshold: float | None = None,
    direction: str = "auto",
    missing: str = "error",
    id_col: str | None = None,
) -> tuple[dict, list]:
    """Cut-points with Se, Sp, PPV, NPV, LRs and the 2x2 table (``exoniche biomarkers cutpoint``).

    Returns ``{"outcome", "cutpoints"}`` and the :class:`~exoniche.biomarkers.Cutpoint` objects
    (``stard_table(cuts)`` gives the STARD table).
    """
    from exoniche.biomarkers._cutpoint import cutpoint
    from exoniche.biomarkers._roc import roc
    from exoniche.biomarkers.data import outcome_and_markers

    markers = list(markers)
    y, X = outcome_and_markers(df, outcome, markers, positive, source, missing, id_col)
    cuts = []
    for m in markers:
        r = roc(y, X[m].to_numpy(), direction=direction, name=m)
        if threshold is not None:
            cuts.append(cutpoint(r, threshold=threshold))
        else:
            cuts.extend(cutpoint(r, meth) for meth in methods)
    return {"outcome": outcome, "cutpoints": [c.to_dict() for c in cuts]}, cuts


def _is_numeric(col) -> bool:
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


def candidate_markers(df: pd.DataFrame, outcome: str, id_col: str | None = None) -> list[str]:
    """Every numeric column except the outcome and the id: the panel candidates when none are named."""
    return [c for c in df.columns if c not in (outcome, id_col) and _is_numeric(df[c])]


def panel_analysis(
    df: pd.DataFrame,
    source: str,
    outcome: str,
    markers: Sequence[str] | None = None,
    positive: str | None = None,
    *,
    max_size: int = 3,
    method: str = "exhaustive",
    folds: int = 5,
    repeats: int = 5,
    seed: int = 0,
    id_col: str | None = None,
    missing: str = "error",
):
    """Marker panels ranked by repeated CV AUC (``exoniche biomarkers panel``); returns the PanelResult.

    Without ``markers`` every numeric column except the outcome and the id is a candidate.
    """
    from exoniche.biomarkers.data import outcome_and_markers
    from exoniche.biomarkers.panel import panels

    markers = list(markers or [])
    if not markers:
        markers = candidate_markers(df, outcome, id_col)
    y, X = outcome_and_markers(df, outcome, markers, positive, source, missing, id_col)
    return panels(y, X, max_size=max_size, method=method, folds=folds, repeats=repeats, seed=seed)


def analyze_response(
    df: pd.DataFrame,
    outcome: str,
    positive: str | None = None,
    *,
    source: str | None = None,
    pre: str | None = None,
    on: str | None = None,
    marker: str | None = None,
    baseline: float | None = None,
    on_time: float | None = None,
    direction: str = "auto",
    method: str = "youden",
    missing: str = "error",
):
    """Pre-treatment level and on-treatment fold change as predictors of response (``biomarkers response``).

    A wide table names its columns (``pre``, optionally ``on``); a long table (patient, time, marker, value)
    names the ``marker`` and the two visit times ``baseline`` and ``on_time``.

    Returns
    -------
    ResponseResult
        See :func:`exoniche.biomarkers.treatment_response`.
    """
    from exoniche.biomarkers.data import outcome_and_markers
    from exoniche.biomarkers.response import response_from_long, treatment_response

    source = source or df.attrs.get("source") or "table"
    if pre:
        cols = [pre] + ([on] if on else [])
        y, X = outcome_and_markers(df, outcome, cols, positive, source, missing)
        return treatment_response(y, X[pre], X[on] if on else None, marker=pre, direction=direction, method=method)
    if marker:
        if baseline is None or on_time is None:
            raise DataError("long table: give --baseline and --on-time (the two visit times)")
        y, pre_v, on_v, _ = response_from_long(df, marker, outcome, positive, baseline, on_time, source=source)
        return treatment_response(y, pre_v, on_v, marker=marker, direction=direction, method=method)
    raise DataError("say which marker: --pre COL [--on COL] for a wide table, or --marker NAME for a long one")


__all__ = ["ROCAnalysis", "analyze_response", "analyze_roc", "cutpoint_analysis", "marker_list", "panel_analysis",
           "parse_cv", "parse_floats", "parse_partial", "roc_analysis"]
