"""The review's open questions as built-in studies (`exoniche study NAME`).

Each study builds arms from the model's own operations, runs them (in parallel workers), and writes a
report that answers its question with one figure and one table. Design values that are not model
parameters live in ``data/studies.yaml`` with their provenance.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import yaml

STUDIES = ("sources", "interactions", "resection", "schedules")


@lru_cache(maxsize=1)
def design() -> dict:
    text = files("exoniche.experiments").joinpath("data/studies.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def run_study(name: str, out: str | Path, workers: int | None = None, progress=None) -> dict:
    """Run one study; returns {question, answer, table (rows), run (paths), ...}."""
    from importlib import import_module

    from exoniche.errors import unknown
    from exoniche.io.report import _prepare

    if name not in STUDIES:
        raise unknown("study", name, STUDIES)
    module = import_module(f"exoniche.experiments.studies.{name}")
    return module.run(_prepare(Path(out)), workers=workers, progress=progress)
