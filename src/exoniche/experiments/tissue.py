"""Tissue runs from a scenario's ``[tissue]`` table, driven by the whole-body run of each arm.

For every arm: the whole-body model runs for the tissue's days, :func:`tissue_coupling.organ_arrivals`
turns it into arrival rates, and the tissue engine simulates the organ. A healthy tissue (same seed, no
arrivals) is the baseline: tissue niche indices are folds over it, comparable with the whole-body ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from exoniche import engines
from exoniche.engines.tissue.model import (
    SUBSTRATES,
    TissueResult,
    TissueSetup,
    cell_types,
    organs,
    rules_from_file,
    run_tissue,
    tissue_parameters,
)
from exoniche.errors import DataError, ScenarioError, check_choice, check_keys
from exoniche.experiments.scenario import Scenario
from exoniche.experiments.tissue_coupling import cargo_levels, organ_arrivals, organ_niche

TISSUE_KEYS = ("organ", "size_um", "voxel_um", "days", "cells", "rules", "save_every_days", "seed",
               "dt_diffusion_min", "dt_mechanics_min", "dt_phenotype_min", "diffusion_um2_per_min")
INDICES = ("S100", "Perm", "FN", "BMDC")


def _num(value, path, lo=0.0, lo_open=True, integer=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value) and (
        value > lo if lo_open else value >= lo) and (not integer or isinstance(value, int))
    if not ok:
        kind = "an integer" if integer else "a number"
        raise ScenarioError(f"{path}: {value!r} must be {kind} {'>' if lo_open else '>='} {lo:g}")
    return value


def parse_tissue(table: dict, source: str, seed: int) -> TissueSetup:
    """Validate a ``[tissue]`` table into a :class:`TissueSetup` (errors name ``tissue.<field>``)."""
    def err(path, msg):
        return ScenarioError(f"{source}: tissue.{path}: {msg}")

    check_keys(f"{source}: tissue", table, TISSUE_KEYS)
    try:
        organ = table.get("organ", "lung")
        check_choice(f"{source}: tissue.organ", organ, organs())
        size = table.get("size_um", [1000.0, 1000.0])
        if not isinstance(size, list) or len(size) not in (2, 3):
            raise err("size_um", f"{size!r} must be a list of 2 or 3 lengths (µm)")
        size = tuple(float(_num(v, f"tissue.size_um[{i}]")) for i, v in enumerate(size))
        cells = table.get("cells", {})
        if not isinstance(cells, dict):
            raise err("cells", "must be a table of cell type = count")
        check_keys(f"{source}: tissue.cells", cells, cell_types())
        diff = table.get("diffusion_um2_per_min", {})
        if not isinstance(diff, dict):
            raise err("diffusion_um2_per_min", f"must be a table of substrate = µm^2/min ({', '.join(SUBSTRATES)})")
        rules = None
        if "rules" in table:
            path = Path(str(table["rules"]))
            if not path.is_absolute() and source not in ("<string>",):
                path = Path(source).parent / path
            try:
                rules = rules_from_file(path)
            except DataError as exc:
                raise err("rules", str(exc)) from None
        setup = TissueSetup(
            organ=organ, size_um=size, voxel_um=float(_num(table.get("voxel_um", 20.0), "tissue.voxel_um")),
            days=float(_num(table.get("days", 7.0), "tissue.days")), cells=dict(cells),
            save_every_days=float(_num(table.get("save_every_days", 1.0), "tissue.save_every_days")),
            seed=int(_num(table.get("seed", seed), "tissue.seed", 0, lo_open=False, integer=True)),
            dt_diffusion=float(_num(table.get("dt_diffusion_min", 1.0), "tissue.dt_diffusion_min")),
            dt_mechanics=float(_num(table.get("dt_mechanics_min", 1.0), "tissue.dt_mechanics_min")),
            dt_phenotype=float(_num(table.get("dt_phenotype_min", 6.0), "tissue.dt_phenotype_min")),
            diffusion={k: float(v) if isinstance(v, (int, float)) else float("nan") for k, v in diff.items()},
            rules=rules)
        setup.validate()
    except ScenarioError as exc:
        msg = str(exc)
        raise ScenarioError(msg if msg.startswith(source) else f"{source}: {msg}") from None
    return setup


@dataclass
class TissueArm:
    """One arm's tissue run: the result, its folds over healthy tissue per day, and the exosome arrivals."""

    name: str
    result: TissueResult
    folds: pd.DataFrame  # per day: tissue folds over healthy tissue and the whole-body indices
    arrivals: object


@dataclass
class TissueStudy:
    """A scenario's tissue runs: the healthy reference and one run per arm."""

    scenario: Scenario
    setup: TissueSetup
    healthy: TissueResult
    arms: list[TissueArm]

    def target_cell(self) -> str:
        """Return the organ's target cell type (where tumour exosomes are taken up)."""
        return tissue_parameters()["organs"][self.setup.organ]["target"]

    def to_dict(self) -> dict:
        """Return the JSON document of ``exoniche tissue --json``."""
        out = {"scenario": self.scenario.name, "organ": self.setup.organ, "days": self.setup.days,
               "grid": list(self.setup.grid_shape()), "voxel_um": self.setup.voxel_um, "seed": self.setup.seed,
               "arms": []}
        for a in self.arms:
            rows = []
            for (_, f), (_, d) in zip(a.folds.iterrows(), a.result.daily.iterrows()):
                rows.append({"day": float(f["day"]),
                             "niche_tissue": {k: float(f[f"tissue_{k}"]) for k in INDICES},
                             "niche_whole_body": {k: float(f[f"whole_body_{k}"]) for k in INDICES},
                             "cells": {t: int(d[f"n_{t}"]) for t in cell_types()},
                             "uptake_share": {t: float(d[f"uptake_share_{t}"]) for t in cell_types()},
                             "tumour_cells_arrived": int(d["tumour_cells_arrived"]),
                             "colonies_founded": int(d["colonies"])})
            out["arms"].append({"arm": a.name, "per_day": rows, "events": a.result.events})
        return out


def tissue_setup(scenario: Scenario) -> TissueSetup:
    """Return the validated ``[tissue]`` table of ``scenario``."""
    if scenario.tissue is None:
        raise ScenarioError(f"{scenario.source}: tissue: the scenario has no tissue table "
                            "(add one headed 'tissue' in brackets; see docs/tissue.md)")
    setup = parse_tissue(scenario.tissue, scenario.source, scenario.seed)
    if setup.days > scenario.duration_days:
        raise ScenarioError(f"{scenario.source}: tissue.days: {setup.days:g} is longer than duration_days "
                            f"({scenario.duration_days:g}); the whole-body run drives the tissue")
    return setup


def run_tissue_scenario(scenario: Scenario, threads: int | None = None, progress=None) -> TissueStudy:
    """Run the scenario's ``[tissue]`` table for every arm (plus healthy tissue)."""
    setup = tissue_setup(scenario)
    setup.threads = threads
    n = len(scenario.arms) + 1
    done = [0]

    def sub(f):
        if progress:
            progress((done[0] + f) / n)

    healthy = run_tissue(setup, sub)
    done[0] += 1
    arms = []
    for name, exp in scenario.arms.items():
        problem = exp.problem()
        ds = engines.run(problem)
        arr = organ_arrivals(ds, problem, setup.organ)
        tum, inj = cargo_levels(problem.params)
        s = TissueSetup(**{**setup.__dict__, "arrivals": arr, "cargo_tumour": tum, "cargo_injected": inj})
        res = run_tissue(s, sub)
        done[0] += 1
        days = res.daily["day"].values
        wb = organ_niche(ds, setup.organ, days)
        folds = pd.DataFrame({"day": days})
        for k in INDICES:
            folds[f"tissue_{k}"] = res.daily[k].values / healthy.daily[k].values
            folds[f"whole_body_{k}"] = wb[k]
        arms.append(TissueArm(name, res, folds, arr))
    return TissueStudy(scenario, setup, healthy, arms)
