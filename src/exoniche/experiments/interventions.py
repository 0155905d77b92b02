"""The intervention catalogue: each intervention is a documented, cited model operation in time.

An :class:`Intervention` names a catalogue entry (``data/interventions.yaml``) and its timing, dose
or effect size. While it is active (``start_day <= t < stop_day``) it sets model parameters
(``ParameterEvent``), multiplies cargo levels (knockdown / overexpression), or, for resection, scales
the primary tumour mass once (``Event``). Overlapping interventions on the same parameter combine as
the catalogue says (blocks as independent fractions, factors multiply, rates add).

Approximation (stated): an antibody or drug given in a window acts at constant effect within it
(no pharmacokinetic peaks and troughs between doses).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib.resources import files

import yaml

from exoniche import biology
from exoniche.biology import ZIP_CODES
from exoniche.engines import Event, ParameterEvent
from exoniche.errors import ScenarioError, check_choice, unknown

COMMON_FIELDS = ("type", "start_day", "stop_day", "label")
ON = ("tumour", "injection")
INTEGRINS = tuple(c for c, _ in ZIP_CODES)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict]:
    """Return the catalogue as loaded from ``data/interventions.yaml`` (name -> entry)."""
    text = files("exoniche.experiments").joinpath("data/interventions.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def fields_of(kind: str) -> tuple[str, ...]:
    """Fields a scenario may give for an intervention type (besides type, start_day, stop_day, label)."""
    entry = catalogue()[kind]
    k = entry["kind"]
    if k == "resection":
        return ("type", "day", "residual_fraction", "label")
    if k == "combination":
        return COMMON_FIELDS
    extra = [entry["effect"]["field"]]
    if k == "cargo":
        extra += ["target", "on"]
    if "targets" in entry:
        extra += ["target"]
    if "dose" in entry:
        extra += ["dose_" + entry["dose"]["unit"].replace("/", "_per_")]
    return (*COMMON_FIELDS, *extra)


def default_effect(kind: str, physiology: str = "mouse") -> float:
    """Return the catalogue's default effect of an intervention type (from its value or named parameter)."""
    eff = catalogue()[kind]["effect"]
    if "parameter" in eff:
        return biology.base_parameters(physiology).value(eff["parameter"])
    return float(eff["value"])


@dataclass
class Intervention:
    """One intervention in a scenario.

    Parameters
    ----------
    type : catalogue name (``exoniche`` docs/scenarios.md lists them), e.g. ``"anti_pd1"``.
    start_day, stop_day : active window in days (``stop_day=None``: until the end).
    day : resection day (resection only).
    target : cargo component (knockdown/overexpression) or integrin (integrin_antibody).
    on : ``"tumour"`` or ``"injection"`` (knockdown/overexpression: whose exosomes change).
    effect : effect size in the catalogue's unit (fraction blocked, boost); default from the catalogue.
    dose_mg_per_kg : dose for agents with a dose-response (anti_pd1, anti_pdl1, gw4869).
    residual, fold, kill_per_day, residual_fraction : the effect size of knockdown, overexpression,
        chemotherapy and resection.
    """

    type: str
    start_day: float = 0.0
    stop_day: float | None = None
    day: float | None = None
    target: str | None = None
    on: str = "tumour"
    effect: float | None = None
    dose_mg_per_kg: float | None = None
    residual: float | None = None
    fold: float | None = None
    kill_per_day: float | None = None
    residual_fraction: float | None = None
    label: str = ""

    # ---------------------------------------------------------------- validation
    def validate(self, duration_days: float, where: str = "interventions[0]") -> None:
        """Raise :class:`ScenarioError` naming ``where.<field>`` for anything out of range."""
        cat = catalogue()
        check_choice(f"{where}.type", self.type, cat)
        entry = cat[self.type]
        allowed = fields_of(self.type)
        for name, value in asdict(self).items():
            if name in allowed or value is None or name in ("on", "start_day", "label"):
                continue
            raise ScenarioError(f"{where}.{name}: not a field of a {self.type} intervention; "
                                f"allowed: {', '.join(allowed)}")
        self._check_timing(entry, duration_days, where)
        self._check_target(entry, allowed, where)
        eff = entry.get("effect")
        if eff:
            value = getattr(self, eff["field"])
            if value is not None:
                _check(f"{where}.{eff['field']}", value, eff["min"], eff["max"], unit=eff["unit"])
        if "dose" in entry and self.dose_mg_per_kg is not None:
            if self.effect is not None:
                raise ScenarioError(f"{where}.dose_mg_per_kg: give either dose_mg_per_kg or effect, not both")
            _check(f"{where}.dose_mg_per_kg", self.dose_mg_per_kg, 0.0, entry["dose"]["max"], unit="mg/kg")

    def _check_timing(self, entry: dict, duration_days: float, where: str) -> None:
        if entry["kind"] == "resection":
            if self.day is None:
                raise ScenarioError(f"{where}.day: required for a resection (day the primary is removed)")
            _check(f"{where}.day", self.day, 0.0, duration_days, hi_open=True, unit="day")
            return
        _check(f"{where}.start_day", self.start_day, 0.0, duration_days, hi_open=True, unit="day")
        if self.stop_day is not None:
            _check(f"{where}.stop_day", self.stop_day, 0.0, duration_days, unit="day")
            if self.stop_day <= self.start_day:
                raise ScenarioError(f"{where}.stop_day: {self.stop_day!r} must be after start_day "
                                    f"({self.start_day:g})")

    def _check_target(self, entry: dict, allowed, where: str) -> None:
        if entry["kind"] == "cargo":
            if self.target is None:
                raise ScenarioError(f"{where}.target: required (the cargo component, e.g. \"ITGβ4\")")
            try:
                biology.cargo_keys(self.target)
            except ScenarioError as exc:
                raise ScenarioError(f"{where}.target: {str(exc).split(': ', 1)[1]}") from None
            check_choice(f"{where}.on", self.on, ON)
        elif self.on != "tumour":
            raise ScenarioError(f"{where}.on: not a field of a {self.type} intervention; allowed: {', '.join(allowed)}")
        if "targets" in entry:
            if self.target is None:
                raise ScenarioError(f"{where}.target: required; allowed: {', '.join(entry['targets'])}")
            if _integrin(self.target) not in entry["targets"]:
                raise unknown(f"{where}.target", self.target, entry["targets"])

    # ---------------------------------------------------------------- model operations
    def effect_size(self, physiology: str = "mouse") -> float:
        """Return the effect while active, in the catalogue's unit (dose-response applied)."""
        entry = catalogue()[self.type]
        eff = entry["effect"]
        given = getattr(self, eff["field"])
        if given is not None:
            return float(given)
        full = default_effect(self.type, physiology)
        if "dose" in entry and self.dose_mg_per_kg is not None:
            d = float(self.dose_mg_per_kg)
            return full * d / (d + float(entry["dose"]["ed50"]["value"]))
        return full

    def operations(self, params) -> list[tuple[str, str, float]]:
        """(parameter, combine rule, value) applied while active."""
        entry = catalogue()[self.type]
        phys = "human" if params.value("plasma_volume_ml") > 100 else "mouse"
        if entry["kind"] == "combination":
            return [op for part in entry["parts"] for op in Intervention(part).operations(params)]
        if entry["kind"] == "cargo":
            pop = "tum" if self.on == "tumour" else "inj"
            f = self.effect_size(phys)
            return [(f"cargo_{pop}_{k}", "factor", f) for k in biology.cargo_keys(self.target)]
        if entry["kind"] == "resection":
            return []
        out = []
        for pname, rule in entry["sets"].items():
            if "{target}" in pname:
                pname = pname.replace("{target}", _integrin(self.target))
            v = self.effect_size(phys)
            out.append((pname, rule, 1.0 - v if (rule == "factor") else v))
        return out

    def window(self, duration_days: float) -> tuple[float, float]:
        """Return the days ``(start, stop)`` the intervention is active within a run of ``duration_days``."""
        return float(self.start_day), float(duration_days if self.stop_day is None else self.stop_day)

    def describe(self) -> str:
        """Return the intervention in words (label, target, dose and timing) for tables and reports."""
        entry = catalogue()[self.type]
        if entry["kind"] == "resection":
            rf = self.residual_fraction or 0.0
            return f"{entry['label']} on day {self.day:g}" + (f" leaving {rf:g} of the tumour" if rf else "")
        stop = "end" if self.stop_day is None else f"day {self.stop_day:g}"
        what = f" {self.target}" if self.target else ""
        return f"{entry['label']}{what}, day {self.start_day:g} to {stop}"


def _integrin(name: str) -> str:
    try:
        keys = biology.cargo_keys(name)
    except ScenarioError:
        return name
    return keys[0] if len(keys) == 1 else name


def _check(where: str, value, lo: float, hi: float, hi_open: bool = False, unit: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(f"{where}: {value!r} is not a number; allowed: {lo:g}..{hi:g} {unit}".rstrip())
    v = float(value)
    if not math.isfinite(v) or v < lo or v > hi or (hi_open and v >= hi):
        bound = f"{lo:g}..{hi:g}" + (" (exclusive)" if hi_open else "")
        raise ScenarioError(f"{where}: {value!r} is out of range; allowed: {bound} {unit}".rstrip())
    return v


def _combine(rule: str, base: float, values: list[float]) -> float:
    if rule == "block":
        keep = math.prod(1.0 - v for v in values) * (1.0 - base)
        return 1.0 - keep
    if rule == "factor":
        return base * math.prod(values)
    if rule == "add":
        return base + sum(values)
    raise ScenarioError(f"interventions catalogue: unknown combine rule {rule!r}")


def intervention_events(interventions, params, duration_days: float, where: str = "interventions") -> list:
    """Turn interventions into engine events: ParameterEvents at window edges, Events for resection."""
    phys = "human" if params.value("plasma_volume_ml") > 100 else "mouse"
    windows: dict[str, list] = {}
    events: list = []
    for i, iv in enumerate(interventions):
        iv.validate(duration_days, f"{where}[{i}]")
        if catalogue()[iv.type]["kind"] == "resection":
            residual = float(iv.effect_size(phys))
            events.append(Event(float(iv.day), "N", factor=residual, label=iv.describe()))
            continue
        t0, t1 = iv.window(duration_days)
        ops = iv.operations(params)
        if catalogue()[iv.type]["kind"] == "cargo" and iv.effect_size(phys) > 1 and all(
                params.value(p) == 0 for p, *_ in ops if p in params):
            raise ScenarioError(f"{where}[{i}].target: {iv.target!r} is absent (level 0) from the "
                                f"{'tumour' if iv.on == 'tumour' else 'injected'} exosomes; overexpressing it would "
                                "change nothing — give the cargo a level (tumour.cargo) or knock it in another way")
        for pname, rule, value in ops:
            if pname not in params:
                raise ScenarioError(f"{where}[{i}]: parameter {pname!r} is not in the model")
            windows.setdefault(pname, []).append((t0, t1, rule, value, iv.describe()))
    for pname, items in windows.items():
        base = params.value(pname)
        edges = sorted({t for a, b, *_ in items for t in (a, b) if t < duration_days})
        current = base
        for t in edges:
            active = [it for it in items if it[0] <= t < it[1]]
            rules = {it[2] for it in active} or {items[0][2]}
            value = _combine(rules.pop(), base, [it[3] for it in active]) if active else base
            if value != current or t == 0.0 and active:
                label = "; ".join(it[4] for it in active) or f"{pname} back to {base:g}"
                events.append(ParameterEvent(t, pname, value, label=label))
                current = value
    return sorted(events, key=lambda e: e.time)

