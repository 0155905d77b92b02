"""Experiment operations at the Python level, turned into an engine ``Problem``.

An :class:`Experiment` says what a biologist does: which host, which tumour (and its cargo
knockdowns/overexpressions), which exosomes are injected when and at what dose, tumour-cell
challenges, secretion block, immune status, checkpoint blockade, imposed hypoxia, and for how long.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from exoniche import biology
from exoniche.biology.presets import CARGO
from exoniche.engines import Event, Problem
from exoniche.errors import ScenarioError, check_choice, unknown

ROUTES = ("venous", "portal", "intracardiac")


def _nonneg(field_name: str, value, allow_zero: bool = True) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{field_name}: {value!r} is not a number") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ScenarioError(f"{field_name}: {value!r} must be a finite number {'>=' if allow_zero else '>'} 0")
    return v


def modify_cargo(base: Mapping[str, float], changes: Mapping[str, float], where: str) -> dict[str, float]:
    """Multiply cargo components by factors: ``{"ITGβ4": 0.1}`` knocks down, ``{"ITGβ4": 5}`` overexpresses."""
    out = {k: float(base.get(k, 0.0)) for k in CARGO}
    for component, factor in changes.items():
        f = _nonneg(f"{where}.{component}", factor)
        keys = biology.cargo_keys(component)
        if f > 1 and all(out[k] == 0 for k in keys):
            raise ScenarioError(f"{where}.{component}: absent (level 0) from these exosomes, so a {f:g}-fold "
                                "overexpression would change nothing; give it a level first")
        for key in keys:
            out[key] *= f
    return out


def knockdown(residual: float | None = None) -> float:
    """Residual factor of an shRNA knockdown (parameter ``knockdown_residual`` unless given)."""
    if residual is None:
        return biology.base_parameters("mouse").value("knockdown_residual")
    return residual


@dataclass
class Injection:
    """IV injection of exosomes from a line (``source`` preset) at ``times`` (days).

    Give the dose in ``dose_ug`` (protein; converted with ``particles_per_ug``) or ``dose_particles``.
    ``cargo_changes`` multiplies cargo components of the source (knockdown / overexpression).
    """

    source: str
    times: tuple[float, ...] = (0.0,)
    dose_ug: float | None = 10.0
    dose_particles: float | None = None
    cargo_changes: Mapping[str, float] = field(default_factory=dict)
    custom_cargo: Mapping[str, float] | None = None

    def cargo(self) -> dict[str, float]:
        """Return the injected exosomes' cargo: the source preset's (or a custom one) with the changes applied."""
        base = self.custom_cargo if self.custom_cargo is not None else biology.tumour_preset(self.source).cargo
        return modify_cargo(base, self.cargo_changes, "injection.cargo_changes")

    def dose_gp(self, particles_per_ug: float) -> float:
        """Return the dose in 1e9 particles (Gp), from ``dose_particles`` or ``dose_ug`` x ``particles_per_ug``."""
        if self.dose_particles is not None:
            return _nonneg("injection.dose_particles", self.dose_particles) / 1e9
        return _nonneg("injection.dose_ug", self.dose_ug) * particles_per_ug


@dataclass
class CellChallenge:
    """Tumour cells injected into the circulation.

    Routes: ``venous`` (tail vein: lung first), ``portal`` (intrasplenic / mesenteric vein: liver first),
    ``intracardiac`` (left ventricle, arterial: spread by cardiac output). ``cell_line`` names a tumour
    preset whose organ compatibility and colonisation potential the cells carry (None = reference line).
    """

    time: float
    cells: float
    route: str = "venous"
    cell_line: str | None = None


@dataclass
class Experiment:
    """One virtual experiment: host, tumour, injections, cell challenge, interventions, duration and read-out days.

    Examples
    --------
    >>> exp = Experiment(physiology="mouse", tumour="B16-F10", tumour_initial_g=0.01, duration_days=7.0)
    >>> params = exp.parameters()  # the host's base values plus what this experiment sets
    >>> params.value("tumour_initial_g"), params.value("cargo_tum_itga6b4")  # g; B16-F10's ITGα6β4 cargo
    (0.01, 0.5)
    """

    physiology: str = "mouse"
    tumour: str | None = None
    tumour_initial_g: float = 0.0
    tumour_cargo_changes: Mapping[str, float] = field(default_factory=dict)
    injection: Injection | None = None
    challenge: CellChallenge | None = None
    duration_days: float = 28.0
    output_times: np.ndarray | None = None
    immune_status: str = "immunocompetent"
    release_factor: float = 1.0
    pd1_blockade: float = 0.0
    hypoxia_extra: float = 0.0
    parameter_changes: Mapping[str, float] = field(default_factory=dict)
    allow_xenograft: bool = False  # a human line in an immunocompetent mouse, explicitly asked for
    label: str = ""
    interventions: list = field(default_factory=list)  # experiments.interventions.Intervention, in time

    def parameters(self) -> biology.ParameterSet:
        """Return the parameter set of this experiment: host base values plus tumour, cargo and scenario changes."""
        check_choice("host.immune_status", self.immune_status, biology.IMMUNE_STATUS)
        tumour = biology.tumour_preset(self.tumour) if self.tumour else None
        if tumour is None and self.tumour_initial_g > 0:
            raise ScenarioError("tumour.initial_g: a tumour mass needs a tumour preset")
        tcargo = modify_cargo(tumour.cargo, self.tumour_cargo_changes, "tumour.cargo_changes") if tumour else None
        inj = self.injection
        for name in ("release_factor", "hypoxia_extra", "pd1_blockade"):
            v = _nonneg(name, getattr(self, name))
            if name == "hypoxia_extra" and v > 1:
                raise ScenarioError(f"{name}: {v} must lie in 0..1")
            if name == "pd1_blockade" and v >= 1:
                raise ScenarioError(f"{name}: {v} must lie in 0..0.999 (fraction of PD-1 blocked)")
        route = self.challenge.route if self.challenge else None
        if route is not None and route not in ROUTES:
            raise unknown("challenge.route", route, ROUTES)
        line = self.challenge.cell_line if self.challenge else None
        line = biology.tumour_preset(line) if line else None
        params = biology.scenario_parameters(
            self.physiology, tumour, _nonneg("tumour.initial_g", self.tumour_initial_g), tcargo,
            inj.cargo() if inj else None, f"injected {inj.source} exosomes" if inj else "no injection",
            self.immune_status, self.release_factor, self.pd1_blockade, self.hypoxia_extra, route, line)
        return params.with_values(self.parameter_changes) if self.parameter_changes else params

    def _check_host_accepts(self, where: str, preset) -> None:
        """Reject a human cell line in an immunocompetent mouse: a named error unless asked for."""
        if (preset is not None and preset.species == "human" and self.physiology == "mouse"
                and self.immune_status == "immunocompetent" and not self.allow_xenograft):
            raise ScenarioError(
                f"{where}: {preset.name!r} is a human cell line, which an immunocompetent mouse rejects; use "
                f"host.immune_status = \"immunodeficient\" (nude/NSG mice, as in the studies of this line) or set "
                f"host.allow_xenograft = true to simulate it anyway")

    def problem(self) -> Problem:
        """Return the validated :class:`~exoniche.engines.Problem` (mechanism, parameters, events, output times)."""
        params = self.parameters()
        events = []
        if self.injection:
            dose = self.injection.dose_gp(params.value("particles_per_ug"))
            for t in self.injection.times:
                t = _nonneg("injection.times", t)
                if t >= self.duration_days:
                    raise ScenarioError(f"injection.times: day {t} is not before the end (day {self.duration_days})")
                events.append(Event(t, "E_inj", amount=dose, label=f"inject {self.injection.source}"))
        if self.challenge:
            c = self.challenge
            events.append(Event(_nonneg("challenge.time", c.time), "C_inj", amount=_nonneg("challenge.cells", c.cells),
                                label="tumour-cell challenge"))
        if self.interventions:
            from exoniche.engines import ParameterEvent
            from exoniche.experiments.interventions import intervention_events

            timed = intervention_events(self.interventions, params, _nonneg("duration_days", self.duration_days, False))
            # in force from day 0: part of the parameter set, so derived read-outs see them too
            at_start = [e for e in timed if isinstance(e, ParameterEvent) and e.time <= 0]
            for e in at_start:
                params = params.with_values({e.parameter: e.value}, source=f"intervention: {e.label}")
            events.extend(e for e in timed if e not in at_start)
        # after every field check, so that a file's first reported error is its own
        for where, name in (("tumour.preset", self.tumour), ("challenge.cell_line",
                                                              self.challenge.cell_line if self.challenge else None)):
            self._check_host_accepts(where, biology.tumour_preset(name) if name else None)
        return Problem(biology.mechanism(), params, _nonneg("duration_days", self.duration_days, False),
                       self.output_times, events, label=self.label)
