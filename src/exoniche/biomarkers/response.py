"""Treatment response: does the pre-treatment level, or its early on-treatment change, predict response.

The review's example is exosomal PD-L1 under anti-PD-1: a high pre-treatment level marks patients whose
T cells are already exhausted, and the on-treatment rise separates responders (Chen et al., Nature 2018). Both
predictors are analysed the same way: a ROC curve with DeLong CI, a cut-point with its STARD table, and a
paired DeLong test between them (same patients).

The fold change is analysed on the log2 scale (on / pre); the ROC is invariant to that monotone transform, but
cut-points read more naturally as "log2 FC > 1" (doubled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from exoniche.biomarkers._cutpoint import Cutpoint, cutpoint
from exoniche.biomarkers._roc import ROC, ROCTest, roc, roc_test
from exoniche.biomarkers.data import describe_rows, numeric_column, require_columns
from exoniche.errors import DataError


@dataclass
class ResponseResult:
    """ROC and cut-point of the pre-treatment level and of the log2 fold change."""

    marker: str
    rocs: dict[str, ROC]
    cutpoints: dict[str, Cutpoint]
    comparison: ROCTest | None
    n_responders: int
    n_non_responders: int

    def to_dict(self) -> dict:
        """Return the JSON document of ``exoniche biomarkers response --json``."""
        return {
            "marker": self.marker,
            "n_responders": self.n_responders,
            "n_non_responders": self.n_non_responders,
            "predictors": [
                {"predictor": k, **r.summary(), "cutpoint": self.cutpoints[k].to_dict()}
                for k, r in self.rocs.items()
            ],
            "comparison": self.comparison.to_dict() if self.comparison else None,
        }


def treatment_response(
    responder,
    pre,
    on=None,
    marker: str = "marker",
    direction: str = "auto",
    method: str = "youden",
) -> ResponseResult:
    """Pre-treatment level and on-treatment log2 fold change as predictors of response.

    Parameters
    ----------
    responder
        bool or 0/1 per patient (True = responded, e.g. RECIST CR/PR).
    pre, on
        Marker level before treatment and on treatment, same unit, both > 0 for the fold change. Without
        ``on`` only the pre-treatment level is analysed.
    direction, method
        As for :func:`~exoniche.biomarkers.roc` and :func:`~exoniche.biomarkers.cutpoint`.
    """
    y = np.asarray(responder, dtype=bool)
    pre = np.asarray(pre, dtype=float)
    rocs = {"pre_treatment": roc(y, pre, direction=direction, name=f"{marker} pre-treatment")}
    if on is not None:
        on = np.asarray(on, dtype=float)
        if np.any(pre <= 0) or np.any(on <= 0):
            raise DataError(f"{marker}: fold change needs positive levels; found values <= 0")
        rocs["log2_fold_change"] = roc(
            y, np.log2(on / pre), direction=direction, name=f"{marker} log2 fold change"
        )
    cuts = {k: cutpoint(r, method) for k, r in rocs.items()}
    comparison = roc_test(*rocs.values(), paired=True) if len(rocs) == 2 else None
    return ResponseResult(marker, rocs, cuts, comparison, int(y.sum()), int((~y).sum()))


def response_from_long(
    df: pd.DataFrame,
    marker: str,
    outcome: str,
    positive,
    baseline_time: float,
    on_time: float,
    patient: str = "patient",
    time: str = "time",
    marker_col: str = "marker",
    value: str = "value",
    source: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Pick each patient's baseline and on-treatment value of ``marker`` from a long table.

    The outcome column must be constant within a patient. A patient without both visits is an error naming
    the patient (never silently left out).

    Returns ``(responder, pre, on, patient_ids)``.
    """
    from exoniche.biomarkers.data import binary_outcome, check_unique_ids

    src = source or df.attrs.get("source", "table")
    require_columns(df, [patient, time, marker_col, value, outcome], src)
    sub = df[df[marker_col].astype(str) == marker]
    if sub.empty:
        known = sorted(df[marker_col].astype(str).unique())
        raise DataError(
            f"{src}: unknown marker {marker!r} in column {marker_col!r}; markers: {', '.join(known)}"
        )
    sub = sub.copy()
    sub.attrs = dict(df.attrs)
    t = numeric_column(sub, time, src)
    v = numeric_column(sub, value, src)
    check_unique_ids(sub, [patient, time], src)
    y = binary_outcome(sub, outcome, positive, src)
    per_patient = pd.DataFrame({"patient": sub[patient], "time": t, "value": v, "y": y})
    varying = per_patient.groupby("patient")["y"].nunique()
    if (varying > 1).any():
        pid = varying.index[varying > 1][0]
        rows = per_patient.index[per_patient["patient"] == pid]
        raise DataError(
            f"{src}: outcome {outcome!r} differs between visits of patient {pid!r} ({describe_rows(df, rows)})"
        )
    wide = per_patient.pivot(index="patient", columns="time", values="value")
    for label, tt in (("baseline", baseline_time), ("on-treatment", on_time)):
        if tt not in wide.columns:
            raise DataError(
                f"{src}: no {label} visit at time {tt:g} for {marker!r}; times: {sorted(wide.columns)}"
            )
        lacking = wide.index[wide[tt].isna()]
        if len(lacking):
            raise DataError(
                f"{src}: patients without {'an' if label[0] in 'aeiou' else 'a'} {label} value of {marker!r} "
                f"at time {tt:g}: "
                + ", ".join(map(str, lacking[:5]))
                + (f" and {len(lacking) - 5} more" if len(lacking) > 5 else "")
            )
    responder = per_patient.groupby("patient")["y"].first().loc[wide.index]
    return responder.to_numpy(), wide[baseline_time].to_numpy(), wide[on_time].to_numpy(), list(wide.index)
