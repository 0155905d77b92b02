"""The review's open questions as built-in studies (`exoniche study NAME`).

Each study builds arms from the model's own operations, runs them (in parallel workers), and returns a
`StudyResult`: the question, the answer in words, one table and the numbers its figure needs.
`io/study_report.py` draws the figure and writes the report. Design values that are not model
parameters live in ``data/studies.yaml`` with their provenance.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import yaml

from exoniche.experiments.studies.common import StudyResult

STUDIES = ("sources", "interactions", "resection", "schedules")
__all__ = ["STUDIES", "StudyResult", "design", "run_study"]


@lru_cache(maxsize=1)
def design() -> dict:
    """Return the studies' design values (``data/studies.yaml``), each with its provenance."""
    text = files("exoniche.experiments").joinpath("data/studies.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def run_study(name: str, *, workers: int | None = None, progress=None) -> StudyResult:
    """Run one study's computation (no files written; see `run_and_write` in io/study_report.py)."""
    from importlib import import_module

    from exoniche.errors import unknown

    if name not in STUDIES:
        raise unknown("study", name, STUDIES)
    module = import_module(f"exoniche.experiments.studies.{name}")
    return module.run(workers=workers, progress=progress)
