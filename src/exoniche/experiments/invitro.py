"""In vitro exposure experiments (stromal cells in a dish), run with the deterministic engine."""

from __future__ import annotations

from collections.abc import Mapping

from exoniche import biology
from exoniche.biology.conditions import cargo_parameters
from exoniche.biology.culture import build_culture
from exoniche.engines import Problem, run


def culture_s100(organ: str, cargo: Mapping[str, float], source: str) -> float:
    """S100 fold change of the organ's target cells after the standard exposure (``culture_hours``)."""
    params = biology.base_parameters("mouse").extended(cargo_parameters("inj", cargo, source))
    hours = params.value("culture_hours")
    ds = run(Problem(build_culture(organ), params, hours / 24.0, label=f"culture {organ} {source}"))
    return float(ds["S100"].values[-1])
