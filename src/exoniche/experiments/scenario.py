"""Scenario files: a small TOML file that describes a virtual experiment and its arms.

``load_scenario(path)`` reads and validates a file and returns a :class:`Scenario` (the base
:class:`~exoniche.experiments.setup.Experiment`, named arms, replicates, seed, read-outs and the raw
``[cohort]`` table, which :mod:`exoniche.experiments.cohort` validates). Every field is documented in
``docs/scenarios.md``. A malformed file raises :class:`~exoniche.errors.ScenarioError` whose message
names the file, the field path (``arms.knockdown.interventions[1].dose_mg_per_kg``), the bad value
and what is allowed; unknown keys are errors with a "did you mean" suggestion.

Arms: each ``[arms.NAME]`` table is merged into the base (tables merge key by key, lists and values
replace; ``injection = false`` / ``challenge = false`` remove the base's).
"""

from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from exoniche import biology
from exoniche.biology import ORGANS
from exoniche.biology.parameters import PHYSIOLOGIES
from exoniche.biology.presets import DRAINAGE
from exoniche.errors import ScenarioError, check_choice, check_keys, unknown
from exoniche.experiments.interventions import Intervention, catalogue, fields_of
from exoniche.experiments.setup import ROUTES, CellChallenge, Experiment, Injection

DEFAULT_SEED = 20190339
DEFAULT_REPLICATES = 200
MAX_REPLICATES = 100_000
MAX_DURATION_DAYS = 3650.0

TOP_KEYS = ("name", "description", "seed", "replicates", "duration_days", "output_step_days", "output_times_days",
            "host", "tumour", "injection", "challenge", "interventions", "readouts", "parameters", "arms", "cohort",
            "tissue")
ARM_KEYS = ("label", "description", "host", "tumour", "injection", "challenge", "interventions", "parameters")
HOST_KEYS = ("physiology", "immune_status", "allow_xenograft")
TUMOUR_KEYS = ("preset", "initial_g", "cargo", "cargo_profile", "doubling_time_days", "secretion_per_cell_per_h",
               "colonisation_potential", "hypoxia_extra", "drainage")
INJECTION_KEYS = ("source", "times_days", "start_day", "every_days", "count", "dose_ug", "dose_particles", "cargo",
                  "cargo_profile")
CHALLENGE_KEYS = ("day", "cells", "route", "cell_line")
READOUT_KEYS = ("organs", "days")
INTERVENTION_KEYS = ("type", "start_day", "stop_day", "day", "target", "on", "effect", "dose_mg_per_kg", "residual",
                     "fold", "kill_per_day", "residual_fraction", "label")


@dataclass
class Readouts:
    """What the tables report: which organs, and the days of the niche / uptake snapshots."""

    organs: tuple[str, ...] = ORGANS
    days: tuple[float, ...] = ()  # empty: the last day


@dataclass
class Scenario:
    """A validated scenario file.

    Attributes
    ----------
    name, description : from the file (name defaults to the file stem).
    source : the file it came from (or ``"<string>"``).
    base : the base experiment (without arm changes).
    arms : arm name -> Experiment (a file without ``[arms]`` has one arm, ``"baseline"``).
    arm_descriptions : arm name -> description given in the file ("" if none).
    replicates, seed : stochastic metastasis replicates per arm, and the seed (all arms share it:
        common random numbers make arm differences less noisy).
    readouts : organs and snapshot days for the tables.
    cohort : the raw ``[cohort]`` table, passed through unvalidated (``None`` if absent).
    tissue : the raw ``[tissue]`` table (validated by :mod:`exoniche.experiments.tissue`; ``None`` if absent).
    raw : the whole parsed TOML document.
    """

    name: str
    description: str
    source: str
    base: Experiment
    arms: dict[str, Experiment]
    replicates: int = DEFAULT_REPLICATES
    seed: int = DEFAULT_SEED
    readouts: Readouts = field(default_factory=Readouts)
    cohort: dict | None = None
    tissue: dict | None = None
    arm_descriptions: dict[str, str] = field(default_factory=dict)
    raw: dict = field(default_factory=dict)

    @property
    def duration_days(self) -> float:
        """Days simulated (the base arm's; every arm shares it)."""
        return self.base.duration_days


# ------------------------------------------------------------------------------------------ helpers
class _Ctx:
    """Error formatting for one file."""

    def __init__(self, source: str):
        self.source = source

    def error(self, path: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}")

    def table(self, value, path: str, allowed, what: str = "a table") -> dict:
        if not isinstance(value, dict):
            raise self.error(path, f"{_show(value)} must be {what}")
        check_keys(f"{self.source}: {path}" if path else self.source, value, allowed)
        return value

    def number(self, value, path: str, lo: float | None = None, hi: float | None = None, *, lo_open=False,
               integer=False, unit: str = "") -> float:
        rng = _range_text(lo, hi, lo_open, unit)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            kind = "an integer" if integer else "a number"
            raise self.error(path, f"{_show(value)} is not {kind}; allowed: {rng}")
        if not math.isfinite(value) or (lo is not None and (value < lo or (lo_open and value == lo))) or (
                hi is not None and value > hi):
            raise self.error(path, f"{_show(value)} is out of range; allowed: {rng}")
        return int(value) if integer else float(value)

    def string(self, value, path: str, choices=None) -> str:
        if not isinstance(value, str):
            allowed = f"; allowed: {', '.join(choices)}" if choices else ""
            raise self.error(path, f"{_show(value)} is not a string{allowed}")
        if choices is not None:
            check_choice(f"{self.source}: {path}", value, choices)
        return value

    def boolean(self, value, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(path, f"{_show(value)} is not true or false")
        return value

    def numbers(self, value, path: str, lo=None, hi=None, unit="", increasing=True) -> tuple[float, ...]:
        if not isinstance(value, list) or not value:
            raise self.error(path, f"{_show(value)} must be a non-empty list of numbers")
        out = tuple(self.number(v, f"{path}[{i}]", lo, hi, unit=unit) for i, v in enumerate(value))
        if increasing:
            for i in range(1, len(out)):
                if out[i] <= out[i - 1]:
                    raise self.error(f"{path}[{i}]", f"{out[i]:g} is not after {out[i - 1]:g}; "
                                                     "times must increase strictly")
        return out


def _show(value) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list" if len(repr(value)) > 60 else repr(value)
    return repr(value)


def _range_text(lo, hi, lo_open, unit) -> str:
    if lo is None and hi is None:
        text = "any finite number"
    elif hi is None:
        text = f"{'>' if lo_open else '>='} {lo:g}"
    elif lo is None:
        text = f"<= {hi:g}"
    else:
        text = f"{lo:g}..{hi:g}" + (f" (above {lo:g})" if lo_open else "")
    return f"{text} {unit}".rstrip()


def _merge(base: dict, over: dict) -> dict:
    """Arm over base: tables merge key by key; other values (lists included) replace."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _cargo_factors(ctx: _Ctx, value, path: str, hi: float = 1000.0) -> dict[str, float]:
    table = _plain_table(ctx, value, path, "a table of cargo component = factor")
    out = {}
    for k, v in table.items():
        _cargo_key(ctx, k, f"{path}.{k}")
        out[k] = ctx.number(v, f"{path}.{k}", 0.0, hi, unit="(factor; 0.1 = knockdown, 10 = overexpression)")
    return out


def _plain_table(ctx: _Ctx, value, path: str, what: str) -> dict:
    if not isinstance(value, dict):
        raise ctx.error(path, f"{_show(value)} must be {what}")
    return value


def _cargo_names() -> list[str]:
    return sorted(set(biology.CARGO) | set(biology.presets.CARGO_ALIASES))


def _cargo_key(ctx: _Ctx, name: str, path: str) -> tuple[str, ...]:
    try:
        return biology.cargo_keys(name)
    except ScenarioError:
        raise unknown(f"{ctx.source}: {path}", name, _cargo_names(), what="cargo component", label=None,
                      note=f"; allowed: {', '.join(biology.CARGO)} (or aliases such as ITGβ4, miR-25-3p, PD-L1)"
                      ) from None


def _cargo_profile(ctx: _Ctx, value, path: str) -> dict[str, float]:
    table = _plain_table(ctx, value, path, "a table of cargo component = level")
    out: dict[str, float] = {k: 0.0 for k in biology.CARGO}
    for k, v in table.items():
        level = ctx.number(v, f"{path}.{k}", 0.0, 100.0, unit="(level relative to a typical metastatic line = 1)")
        for key in _cargo_key(ctx, k, f"{path}.{k}"):
            out[key] = level
    return out


def _preset(ctx: _Ctx, value, path: str) -> str:
    presets = biology.tumour_presets()
    return ctx.string(value, path, list(presets))


# ------------------------------------------------------------------------------------------ sections
def _host(ctx, raw: dict, path: str) -> dict:
    t = ctx.table(raw, path, HOST_KEYS)
    return {"physiology": ctx.string(t.get("physiology", "mouse"), f"{path}.physiology", PHYSIOLOGIES),
            "immune_status": ctx.string(t.get("immune_status", "immunocompetent"), f"{path}.immune_status",
                                        list(biology.IMMUNE_STATUS)),
            "allow_xenograft": ctx.boolean(t.get("allow_xenograft", False), f"{path}.allow_xenograft")}


def _required_preset(ctx: _Ctx, t: dict, key: str, path: str, why: str) -> str:
    """Return the tumour-preset field ``key`` of table ``t``, which must be given (``why`` says what it is)."""
    if key not in t:
        raise ctx.error(f"{path}.{key}", f"required{why}; allowed: {', '.join(biology.tumour_presets())}")
    return _preset(ctx, t[key], f"{path}.{key}")


def _tumour(ctx, raw: dict, path: str, params_out: dict) -> dict:
    t = ctx.table(raw, path, TUMOUR_KEYS)
    preset = _required_preset(ctx, t, "preset", path, " when a [tumour] table is given")
    out = {"tumour": preset,
           "tumour_initial_g": ctx.number(t.get("initial_g", 0.01), f"{path}.initial_g", 0.0, 1000.0, lo_open=True,
                                          unit="g"),
           "hypoxia_extra": ctx.number(t.get("hypoxia_extra", 0.0), f"{path}.hypoxia_extra", 0.0, 1.0,
                                       unit="(imposed hypoxic fraction)")}
    factors = _cargo_factors(ctx, t["cargo"], f"{path}.cargo") if "cargo" in t else {}
    if "cargo_profile" in t:
        profile = _cargo_profile(ctx, t["cargo_profile"], f"{path}.cargo_profile")
        for comp, f in factors.items():
            for key in biology.cargo_keys(comp):
                profile[key] *= f
        params_out.update({f"cargo_tum_{k}": v for k, v in profile.items() if k in biology.MODEL_CARGO})
    else:
        out["tumour_cargo_changes"] = factors
    for key, pname, lo, hi, unit in (("doubling_time_days", "tumour_doubling_time_days", 0.1, 1000.0, "day"),
                                     ("secretion_per_cell_per_h", "tumour_secretion_per_cell_per_h", 0.0, 1e5,
                                      "exosomes/cell/h"),
                                     ("colonisation_potential", "colonisation_potential", 0.0, 100.0, "")):
        if key in t:
            params_out[pname] = ctx.number(t[key], f"{path}.{key}", lo, hi, unit=unit)
    if "drainage" in t:
        params_out["ctc_route_portal"] = float(ctx.string(t["drainage"], f"{path}.drainage", DRAINAGE) == "portal")
    return out


def _injection(ctx, raw: dict, path: str, duration: float) -> Injection:
    t = ctx.table(raw, path, INJECTION_KEYS)
    source = _required_preset(ctx, t, "source", path, ": the line the exosomes come from")
    if "times_days" in t and any(k in t for k in ("start_day", "every_days", "count")):
        raise ctx.error(f"{path}.times_days", "give either times_days or start_day/every_days/count, not both")
    if "times_days" in t:
        times = ctx.numbers(t["times_days"], f"{path}.times_days", 0.0, None, unit="day")
        where = f"{path}.times_days[{len(times) - 1}]"
    else:
        start = ctx.number(t.get("start_day", 0.0), f"{path}.start_day", 0.0, None, unit="day")
        every = ctx.number(t.get("every_days", 1.0), f"{path}.every_days", 0.0, None, lo_open=True, unit="day")
        count = ctx.number(t.get("count", 1), f"{path}.count", 1, 1000, integer=True, unit="injections")
        times = tuple(start + every * i for i in range(count))
        where = f"{path}.count" if count > 1 else f"{path}.start_day"
    if times[-1] >= duration:
        raise ctx.error(where, f"last injection on day {times[-1]:g} is not before the end (duration_days = "
                               f"{duration:g})")
    if "dose_ug" in t and "dose_particles" in t:
        raise ctx.error(f"{path}.dose_particles", "give either dose_ug or dose_particles, not both")
    dose_ug = ctx.number(t.get("dose_ug", 10.0), f"{path}.dose_ug", 0.0, 10_000.0, lo_open=True, unit="ug")
    dose_p = None
    if "dose_particles" in t:
        dose_p = ctx.number(t["dose_particles"], f"{path}.dose_particles", 0.0, 1e15, lo_open=True, unit="particles")
        dose_ug = None
    changes = _cargo_factors(ctx, t["cargo"], f"{path}.cargo") if "cargo" in t else {}
    custom = _cargo_profile(ctx, t["cargo_profile"], f"{path}.cargo_profile") if "cargo_profile" in t else None
    return Injection(source, times=times, dose_ug=dose_ug, dose_particles=dose_p, cargo_changes=changes,
                     custom_cargo=custom)


def _challenge(ctx, raw: dict, path: str, duration: float) -> CellChallenge:
    t = ctx.table(raw, path, CHALLENGE_KEYS)
    for req in ("day", "cells"):
        if req not in t:
            raise ctx.error(f"{path}.{req}", "required in a [challenge] table")
    day = ctx.number(t["day"], f"{path}.day", 0.0, None, unit="day")
    if day >= duration:
        raise ctx.error(f"{path}.day", f"{day:g} is not before the end (duration_days = {duration:g})")
    line = _preset(ctx, t["cell_line"], f"{path}.cell_line") if "cell_line" in t else None
    return CellChallenge(day, ctx.number(t["cells"], f"{path}.cells", 0.0, 1e10, lo_open=True, unit="cells"),
                         ctx.string(t.get("route", "venous"), f"{path}.route", ROUTES), line)


def _interventions(ctx, raw, path: str, duration: float) -> list[Intervention]:
    if not isinstance(raw, list):
        raise ctx.error(path, f"{_show(raw)} must be a list of tables ([[interventions]])")
    out = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise ctx.error(where, f"{_show(item)} must be a table with a type")
        if "type" not in item:
            raise ctx.error(f"{where}.type", f"required; allowed: {', '.join(catalogue())}")
        kind = ctx.string(item["type"], f"{where}.type", list(catalogue()))
        ctx.table(item, where, fields_of(kind))
        for key in ("target", "on", "label"):
            if key in item:
                ctx.string(item[key], f"{where}.{key}")
        iv = Intervention(**item)
        try:
            iv.validate(duration, where)
        except ScenarioError as exc:
            raise ScenarioError(f"{ctx.source}: {exc}") from None
        out.append(iv)
    return out


def _parameters(ctx, raw, path: str) -> dict[str, float]:
    t = _plain_table(ctx, raw, path, "a table of parameter = value")
    return {k: ctx.number(v, f"{path}.{k}", 0.0, None) for k, v in t.items()}


def _experiment(ctx: _Ctx, doc: dict, prefix: str, duration: float, output_times, label: str) -> Experiment:
    p = f"{prefix}." if prefix else ""
    host = _host(ctx, doc.get("host", {}), f"{p}host")
    params: dict[str, float] = {}
    kw: dict = {}
    if doc.get("tumour") is not None:
        kw.update(_tumour(ctx, doc["tumour"], f"{p}tumour", params))
    inj = doc.get("injection")
    if inj is not None and inj is not False:
        kw["injection"] = _injection(ctx, inj, f"{p}injection", duration)
    ch = doc.get("challenge")
    if ch is not None and ch is not False:
        kw["challenge"] = _challenge(ctx, ch, f"{p}challenge", duration)
    if "tumour" not in kw and "injection" not in kw and "challenge" not in kw:
        raise ctx.error(prefix, "nothing to simulate: give a [tumour], an [injection] or a [challenge]")
    ivs = _interventions(ctx, doc.get("interventions", []), f"{p}interventions", duration)
    user_params = _parameters(ctx, doc["parameters"], f"{p}parameters") if "parameters" in doc else {}
    exp = Experiment(physiology=host["physiology"], immune_status=host["immune_status"], duration_days=duration,
                     allow_xenograft=host["allow_xenograft"],
                     output_times=output_times, label=label, interventions=ivs,
                     parameter_changes={**params, **user_params}, **kw)
    # the model's own checks (parameter names, preset consistency), reported with this file and arm
    try:
        known = exp.__class__(**{**exp.__dict__, "parameter_changes": {}}).parameters()
        for name in user_params:
            if name not in set(known):
                raise unknown(f"{ctx.source}: {p}parameters.{name}", name, known, what="parameter", label=None,
                              show_value=False, note="; see `exoniche params`")
        exp.problem()
    except ScenarioError as exc:
        if str(exc).startswith(ctx.source):
            raise
        raise ctx.error(prefix, str(exc)) from None
    return exp


# ------------------------------------------------------------------------------------------ entry points
def _output_times(ctx: _Ctx, doc: dict, duration: float):
    """``output_step_days`` or ``output_times_days`` (None: the engine's default grid)."""
    if "output_step_days" in doc and "output_times_days" in doc:
        raise ctx.error("output_times_days", "give either output_step_days or output_times_days, not both")
    if "output_step_days" in doc:
        step = ctx.number(doc["output_step_days"], "output_step_days", duration / 20000, duration, unit="day")
        return np.union1d(np.arange(0.0, duration, step), [duration])
    if "output_times_days" in doc:
        return np.asarray(ctx.numbers(doc["output_times_days"], "output_times_days", 0.0, duration, unit="day"))
    return None


def _readouts(ctx: _Ctx, doc: dict, duration: float) -> Readouts:
    """Validate the ``[readouts]`` table: organs (default all) and read-out days."""
    ro = ctx.table(doc.get("readouts", {}), "readouts", READOUT_KEYS)
    organs = ORGANS
    if "organs" in ro:
        if not isinstance(ro["organs"], list) or not ro["organs"]:
            raise ctx.error("readouts.organs", f"{_show(ro['organs'])} must be a non-empty list; allowed: "
                                               f"{', '.join(ORGANS)}")
        organs = tuple(ctx.string(o, f"readouts.organs[{i}]", ORGANS) for i, o in enumerate(ro["organs"]))
    days = ctx.numbers(ro["days"], "readouts.days", 0.0, duration, unit="day") if "days" in ro else ()
    return Readouts(organs, days)


def parse_scenario(doc: dict, source: str = "<string>", default_name: str = "scenario") -> Scenario:
    """Validate a parsed TOML document (a dict) into a :class:`Scenario`."""
    ctx = _Ctx(source)
    ctx.table(doc, "", TOP_KEYS, "a TOML document")
    name = ctx.string(doc.get("name", default_name), "name")
    description = ctx.string(doc.get("description", ""), "description")
    seed = ctx.number(doc.get("seed", DEFAULT_SEED), "seed", 0, 2**63 - 1, integer=True)
    replicates = ctx.number(doc.get("replicates", DEFAULT_REPLICATES), "replicates", 1, MAX_REPLICATES, integer=True)
    if "duration_days" not in doc:
        raise ctx.error("duration_days", f"required; allowed: > 0..{MAX_DURATION_DAYS:g} day")
    duration = ctx.number(doc["duration_days"], "duration_days", 0.0, MAX_DURATION_DAYS, lo_open=True, unit="day")
    output_times = _output_times(ctx, doc, duration)
    readouts = _readouts(ctx, doc, duration)
    cohort = doc.get("cohort")
    if cohort is not None and not isinstance(cohort, dict):
        raise ctx.error("cohort", f"{_show(cohort)} must be a table")
    tissue = doc.get("tissue")
    if tissue is not None and not isinstance(tissue, dict):
        raise ctx.error("tissue", f"{_show(tissue)} must be a table")

    base_doc = {k: doc[k] for k in ARM_KEYS if k in doc}
    base = _experiment(ctx, base_doc, "", duration, output_times, "baseline") if "arms" not in doc else None
    arms: dict[str, Experiment] = {}
    descriptions: dict[str, str] = {}
    if "arms" in doc:
        raw_arms = doc["arms"]
        if not isinstance(raw_arms, dict):
            raise ctx.error("arms", f"{_show(raw_arms)} must be a table of named arms ([arms.NAME])")
        if not raw_arms:
            raise ctx.error("arms", "is empty; give at least one [arms.NAME] table (an empty one = the base)")
        for arm_name, arm in raw_arms.items():
            path = f"arms.{arm_name}"
            ctx.table(arm, path, ARM_KEYS, "a table (the arm's changes to the base)")
            for key in ("injection", "challenge"):
                if arm.get(key) is True:
                    raise ctx.error(f"{path}.{key}", "true is not allowed; give a table, or false to remove it")
            merged = _merge(base_doc, {k: v for k, v in arm.items() if k not in ("label", "description")})
            for key in ("injection", "challenge"):
                if arm.get(key) is False:
                    merged.pop(key, None)
            label = ctx.string(arm.get("label", arm_name), f"{path}.label")
            descriptions[arm_name] = ctx.string(arm.get("description", ""), f"{path}.description")
            arms[arm_name] = _experiment(ctx, merged, path, duration, output_times, label)
        base_has_model = any(k in base_doc for k in ("tumour", "injection", "challenge"))
        base = _experiment(ctx, base_doc, "", duration, output_times, "base") if base_has_model else \
            next(iter(arms.values()))
    else:
        arms["baseline"] = base
        descriptions["baseline"] = description
    return Scenario(name=name, description=description, source=source, base=base, arms=arms,
                    replicates=replicates, seed=seed, readouts=readouts, cohort=cohort, tissue=tissue,
                    arm_descriptions=descriptions, raw=doc)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file.

    Raises
    ------
    ScenarioError
        The file is missing, not UTF-8, not valid TOML, or a field is wrong; the message names the
        file, the field path, the bad value and what is allowed.
    """
    path = Path(path)
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise ScenarioError(f"{source}: is a directory, not a scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ScenarioError(f"{source}: line {line}: byte 0x{data[exc.start]:02x} is not valid UTF-8; "
                            "save the file as UTF-8") from None
    return loads_scenario(text, source, default_name=path.stem)


def loads_scenario(text: str, source: str = "<string>", default_name: str = "scenario") -> Scenario:
    """Validate a scenario given as TOML text."""
    if not text.strip():
        raise ScenarioError(f"{source}: the file is empty; a scenario needs at least duration_days and a "
                            "[tumour], [injection] or [challenge] table")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    return parse_scenario(doc, source, default_name)
