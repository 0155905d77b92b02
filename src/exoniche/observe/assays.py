"""Virtual liquid-biopsy assays: true plasma levels from the model state, then a lab's measurement.

True level of an exosomal marker (per mL plasma) = background + tumour-derived exosomes per mL x the
cargo level of that marker (``cargo_tum_<key>``; miR-21 from the tumour preset, which the mechanism does
not use). Measurement = true x exp(sigma_I z_I) x exp(sigma_A z_A), sigma = sqrt(ln(1 + CV^2)) for the
within-person (visit-to-visit) and analytical CVs; values below the detection limit are reported as
LOD / 2. CTCs per 7.5 mL are a Poisson count of the expected cells in 7.5 mL blood times the capture
efficiency (a count below the detection limit of 1 cell is reported as 0.5, so that the log-normal
monitoring statistics can read every value). Assay constants, with provenance, live in ``data/assays.yaml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import numpy as np
import yaml

from exoniche.errors import ScenarioError, check_choice, check_keys

OBSERVE_KEYS = ("every_days", "start_day", "times_days", "markers", "analytical_cv", "within_cv")


@dataclass(frozen=True)
class Assay:
    """One virtual assay: what it measures (cargo), background, analytical and within-person CV, detection limit."""

    name: str
    description: str
    unit: str
    cargo: tuple[str, ...]
    background: float
    analytical_cv: float
    within_cv: float
    lod: float
    source: str
    capture_efficiency: float = 1.0


@lru_cache(maxsize=1)
def assay_catalogue() -> dict[str, Assay]:
    """Return the assays of ``data/assays.yaml`` by marker name."""
    raw = yaml.safe_load(files("exoniche.observe").joinpath("data/assays.yaml").read_text(encoding="utf-8"))
    return {k: Assay(name=k, **{**v, "cargo": tuple(v["cargo"])}) for k, v in raw.items()}


ASSAYS = tuple(assay_catalogue())


@dataclass(frozen=True)
class Schedule:
    """Blood draws every ``every_days`` from ``start_day`` (or at ``times_days``), up to the last day."""

    every_days: float = 28.0
    start_day: float = 0.0
    times_days: tuple[float, ...] = ()
    markers: tuple[str, ...] = ASSAYS
    analytical_cv: tuple[tuple[str, float], ...] = ()  # overrides per marker
    within_cv: tuple[tuple[str, float], ...] = ()

    def times(self, t_end: float) -> np.ndarray:
        """Return the blood-draw days up to ``t_end``; none in range is a :class:`ScenarioError`."""
        if self.times_days:
            t = np.array([x for x in self.times_days if x <= t_end + 1e-12], dtype=float)
        else:
            t = np.arange(self.start_day, t_end + 1e-9, self.every_days)
        if t.size == 0:
            raise ScenarioError(f"cohort.observe: no blood draw falls within the {t_end:g} days simulated")
        return t

    def assay(self, name: str) -> Assay:
        """Return the assay ``name`` with this schedule's CV overrides applied."""
        a = assay_catalogue()[name]
        acv, wcv = dict(self.analytical_cv), dict(self.within_cv)
        return Assay(**{**a.__dict__, "analytical_cv": acv.get(name, a.analytical_cv),
                        "within_cv": wcv.get(name, a.within_cv)})


def _observe_number(where: str, v, lo: float, lo_open: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < lo or (
            lo_open and v == lo):
        op = ">" if lo_open else ">="
        raise ScenarioError(f"{where}: {v!r} must be a number {op} {lo}")
    return float(v)


def _observe_cvs(where: str, tab) -> tuple[tuple[str, float], ...]:
    if not isinstance(tab, dict):
        raise ScenarioError(f"{where}: must be a table marker = CV")
    out = []
    for name, v in tab.items():
        check_choice(f"{where}.{name}", name, ASSAYS, what="marker", show_value=False)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ScenarioError(f"{where}.{name}: {v!r} must be a CV >= 0")
        out.append((name, float(v)))
    return tuple(out)


def parse_observe(raw: dict | None, source: str = "<cohort>") -> Schedule:
    """Validate ``[cohort.observe]`` of a cohort file.

    Parameters
    ----------
    raw : dict or None
        The table as read from TOML (None: the default schedule).
    source : str
        The file name, prefixed to every error.

    Returns
    -------
    Schedule
        The validated sampling schedule.

    Raises
    ------
    ScenarioError
        Naming the field path, the bad value and what is allowed.

    Examples
    --------
    >>> parse_observe({"every_days": 30, "markers": ["pdl1"]}).markers
    ('pdl1',)
    """
    raw = raw or {}
    where = f"{source}: cohort.observe"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: must be a table")
    check_keys(where, raw, OBSERVE_KEYS)
    kw: dict = {}
    if "every_days" in raw:
        kw["every_days"] = _observe_number(f"{where}.every_days", raw["every_days"], 0.0, True)
    if "start_day" in raw:
        kw["start_day"] = _observe_number(f"{where}.start_day", raw["start_day"], 0.0)
    if "times_days" in raw:
        t = raw["times_days"]
        if not isinstance(t, list) or not t:
            raise ScenarioError(f"{where}.times_days: must be a non-empty list of days")
        kw["times_days"] = tuple(_observe_number(f"{where}.times_days", x, 0.0) for x in t)
        if any(b <= a for a, b in zip(kw["times_days"], kw["times_days"][1:])):
            raise ScenarioError(f"{where}.times_days: days must increase strictly")
    if "markers" in raw:
        m = raw["markers"]
        if not isinstance(m, list) or not m:
            raise ScenarioError(f"{where}.markers: must be a non-empty list of markers")
        for x in m:
            check_choice(f"{where}.markers", x, ASSAYS, what="marker")
        kw["markers"] = tuple(m)
    for key in ("analytical_cv", "within_cv"):
        if key in raw:
            kw[key] = _observe_cvs(f"{where}.{key}", raw[key])
    return Schedule(**kw)


def true_levels(state: dict, pv: dict, mir21: np.ndarray, markers) -> dict[str, np.ndarray]:
    """Noise-free plasma levels per marker, arrays (times, patients).

    ``state``: ``E_tum``, ``E_inj``, ``C`` (times x patients); ``pv``: parameter rows (scalars or
    (patients,)) by name, including ``plasma_volume_ml``, ``plasma_fraction_of_blood`` and ``cargo_tum_*``.
    """
    vol = pv["plasma_volume_ml"]
    per_ml_tum = state["E_tum"] / vol  # Gp/mL
    out = {}
    for name in markers:
        a = assay_catalogue()[name]
        if name == "exo_per_ml":
            out[name] = a.background + (state["E_tum"] + state["E_inj"]) / vol * 1e9
        elif name == "ctc_per_7_5ml":
            blood_ml = vol / pv["plasma_fraction_of_blood"]
            # CellSearch-type assays count intact, viable-looking cells: the viable share of shed CTCs
            out[name] = state["C"] * pv["shed_cell_viability"] * 7.5 / blood_ml * a.capture_efficiency
        else:
            # PD-L1 on tumour exosomes is raised by IFN-γ (state PDL1_ifn, fold) when the engine reports it [38]
            ifn = state.get("PDL1_ifn", 1.0)
            level = sum(mir21 if k == "mir21" else pv[f"cargo_tum_{k}"] * (ifn if k == "pdl1" else 1.0)
                        for k in a.cargo)
            out[name] = a.background + per_ml_tum * level
    return out


def measure(true: dict[str, np.ndarray], schedule: Schedule, rngs: list) -> dict[str, np.ndarray]:
    """Measured values (times x patients) with within-person and analytical noise, LOD and counting noise.

    ``rngs``: one ``numpy.random.Generator`` per patient (column), iterated once in order (each used up before
    the next is taken), so a patient's noise does not depend on which other patients share the batch.
    """
    names = list(true)
    T, P = next(iter(true.values())).shape
    z = np.empty((len(names), 2, T, P))
    u = np.empty((len(names), T, P))
    for j, rng in enumerate(rngs):
        z[:, :, :, j] = rng.standard_normal((len(names), 2, T))
        u[:, :, j] = rng.random((len(names), T))
    out = {}
    for m, name in enumerate(names):
        a = schedule.assay(name)
        x = true[name]
        if name == "ctc_per_7_5ml":
            from scipy.stats import poisson

            counts = poisson.ppf(u[m], np.maximum(x, 0.0)).astype(float)
            out[name] = np.where(counts < a.lod, a.lod / 2, counts)
            continue
        si, sa = math.sqrt(math.log1p(a.within_cv**2)), math.sqrt(math.log1p(a.analytical_cv**2))
        v = x * np.exp(si * z[m, 0] + sa * z[m, 1])
        out[name] = np.where(v < a.lod, a.lod / 2, v)
    return out
