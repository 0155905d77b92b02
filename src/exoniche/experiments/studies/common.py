"""Shared pieces of the studies: the result type, the niche composite and a table-to-records helper."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

INDICES = ("S100", "Perm", "FN", "BMDC", "MDSC")


@dataclass
class StudyResult:
    """What a study computed; drawing and writing the report is `io/study_report.py`'s job.

    Attributes
    ----------
    study, question, answer : the study's name, its question and the answer in words.
    table : the study's table (one row per arm, term or organ).
    figure : numeric data the figure needs beyond the table (trajectories, survival curves, day counts).
    meta : settings written to the report's meta.json.
    notes : how to read the table (shown under it in the report).
    extra : further read-outs returned with the table (e.g. niche half-lives), in that order.
    """

    study: str
    question: str
    answer: str
    table: pd.DataFrame
    figure: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    notes: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """{study, question, answer, table (records), **extra}: JSON-ready (NaN as None)."""
        return {"study": self.study, "question": self.question, "answer": self.answer,
                "table": records(self.table), **self.extra}


def niche_score(ds, organ: str, day: float | None = None) -> float:
    """Mean rise of the niche indices over the healthy organ (0 = no niche), at ``day`` (default: end)."""
    t = ds["time"].values
    k = -1 if day is None else int(np.argmin(np.abs(t - day)))
    return float(np.mean([ds[f"{i}_{organ}"].values[k] - 1.0 for i in INDICES]))


def records(df) -> list[dict]:
    """Return the rows of ``df`` as JSON records, non-finite numbers as None."""
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
            for r in df.to_dict(orient="records")]
