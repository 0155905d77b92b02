"""SBML Level 3 Version 2 export of a problem, and its verification against libRoadRunner.

The exporter reads the one declaration of the mechanism (:func:`exoniche.biology.mechanism`) and the
problem's parameter values and events; it writes

* one compartment per anatomical site (nominal size 1 mL: every species has
  ``hasOnlySubstanceUnits=true``, so symbols are amounts and sizes never enter the math);
* species with their own units, initial amounts evaluated from the parameters (an initial
  assignment keeps the formula where it names parameters, e.g. ``N = tumour_initial_g``);
* every parameter as a constant parameter with units and its provenance (kind + source) in notes
  and in an ``exoniche:provenance`` annotation;
* every named expression as a non-constant parameter with an assignment rule;
* every process as a reaction with its kinetic law, modifiers, and the cited claim ids and primary
  papers in notes and in an ``exoniche:citations`` annotation;
* every event after day 0 as an SBML event (``time >= t``, persistent, no delay, values from
  trigger time, ``X = X * factor + amount``); events at day 0 are folded into the initial amounts.

Formulas are shared text between Python and SBML Level 3 (``ln`` is the natural logarithm in both);
they are parsed with :func:`libsbml.parseL3Formula`. One deliberate translation: the engine's
``pow(a, b)`` is ``a**b`` for ``a > 0`` and 0 otherwise (solver trial steps may dip a few ulps below
zero), so the export writes ``piecewise(pow(a, b), a > 0, pow(0, b))`` — the same function for the
model's positive exponents, with the zeros in the units of ``a`` so that the unit check can follow.

Units: reaction extent is a dimensionless count; a kinetic law is the mechanism's rate divided by one
unit of the species it changes (``one_Gp``, ``one_g``, ``one_cells``, ``one_colonies``, all exactly 1)
and each such species has that parameter as its ``conversionFactor``. Dividing and multiplying by
1.0 is exact, so the numbers are the mechanism's, and libSBML can check every kinetic law's units.
"""

from __future__ import annotations

import dataclasses
import re
import time as _time
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import libsbml
import numpy as np

from exoniche.engines.base import day0_values
from exoniche.engines.functions import compile_mechanism, identifiers
from exoniche.engines.problem import ParameterEvent, Problem
from exoniche.errors import ModelError, ScenarioError

LEVEL, VERSION = 3, 2
NS = "https://exoniche.org/sbml/1"  # namespace of exoniche's own annotations (an identifier, not fetched)
_XHTML = "http://www.w3.org/1999/xhtml"

# token -> (libSBML unit kind or None for dimensionless, factor to that kind)
_UNIT_TOKENS: dict[str, tuple[int | None, float]] = {
    "day": (libsbml.UNIT_KIND_SECOND, 86400.0),
    "h": (libsbml.UNIT_KIND_SECOND, 3600.0),
    "g": (libsbml.UNIT_KIND_GRAM, 1.0),
    "ug": (libsbml.UNIT_KIND_GRAM, 1e-6),
    "mL": (libsbml.UNIT_KIND_LITRE, 1e-3),
    "Gp": (libsbml.UNIT_KIND_ITEM, 1e9),  # giga-particles: 1e9 exosomes
    "particles": (libsbml.UNIT_KIND_ITEM, 1.0),
    "cells": (libsbml.UNIT_KIND_ITEM, 1.0),
    "cell": (libsbml.UNIT_KIND_ITEM, 1.0),
    "colonies": (libsbml.UNIT_KIND_ITEM, 1.0),
    "fold": (None, 1.0),  # fold over the healthy organ
    "dimensionless": (None, 1.0),
    "1": (None, 1.0),
}
# Compartment ids (the mechanism's short names are not all good SBML ids: ``ln`` reads as a function).
_COMPARTMENTS = {
    "primary": ("primary_tumour", "primary tumour"),
    "plasma": ("plasma", "blood plasma"),
    "lung": ("lung", "lung"),
    "liver": ("liver", "liver"),
    "bone": ("bone_marrow", "bone marrow"),
    "brain": ("brain", "brain"),
    "ln": ("lymph_node", "regional lymph node"),
    "spleen": ("spleen", "spleen"),
    "sink": ("clearance_sink", "macrophage clearance sink (degraded exosomes)"),
}


# ------------------------------------------------------------------------------------------ units
def _sid(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return s if re.match(r"[A-Za-z_]", s) else "_" + s


def unit_id(unit: str) -> str | None:
    """SBML unit id for an exoniche unit string (``None`` = not understood; exported as dimensionless)."""
    tokens = re.split(r"[/*]", unit.strip())
    if not unit.strip() or any(t.strip() not in _UNIT_TOKENS for t in tokens):
        return None
    if unit.strip() in ("dimensionless", "1"):
        return "dimensionless"
    return _sid(unit.strip().replace("/", "_per_").replace("*", "_")).replace("1_per_", "per_")


def _add_unit_definition(model: libsbml.Model, unit: str) -> str:
    uid = unit_id(unit)
    if uid is None:
        return "dimensionless"
    if uid == "dimensionless" or model.getUnitDefinition(uid) is not None:
        return uid
    # (factor_i * kind_i) ** e_i multiplied over tokens: the first token is the numerator, every
    # token after a '/' is in the denominator ("Gp/g/day" = Gp g^-1 day^-1).
    exps: dict[int, int] = {}
    factor = 1.0
    parts = re.split(r"(/|\*)", unit.strip())
    sign = 1
    for part in parts:
        if part == "/":
            sign = -1
            continue
        if part == "*":
            continue
        kind, f = _UNIT_TOKENS[part.strip()]
        factor *= f**sign
        if kind is not None:
            exps[kind] = exps.get(kind, 0) + sign
    ud = model.createUnitDefinition()
    ud.setId(uid)
    ud.setName(unit)
    kinds = [(k, e) for k, e in exps.items() if e != 0]
    if not kinds:
        kinds = [(libsbml.UNIT_KIND_DIMENSIONLESS, 1)]
    for i, (kind, e) in enumerate(kinds):
        u = ud.createUnit()
        u.setKind(kind)
        u.setExponent(e)
        u.setScale(0)
        # the whole numeric factor rides on the first unit: (m * kind)^e = factor * kind^e
        u.setMultiplier(factor ** (1.0 / e) if i == 0 else 1.0)
    return uid


# ------------------------------------------------------------------------------------------ math
def _number(x: float, units: str | None = "dimensionless") -> libsbml.ASTNode:
    n = libsbml.ASTNode(libsbml.AST_REAL)
    n.setValue(float(x))
    if units:
        n.setUnits(units)
    return n


def _safe_pow(node: libsbml.ASTNode, units: dict[str, str]) -> None:
    """Rewrite every ``pow(a, b)`` below ``node`` in place as ``piecewise(pow(a, b), a > 0, pow(0, b))``.

    This is the engine's ``pow`` (0 for a <= 0, b > 0); the zeros carry the units of ``a`` so that
    the unit check sees consistent branches.
    """
    for i in range(node.getNumChildren()):
        _safe_pow(node.getChild(i), units)
    if node.getType() in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER):
        a, b = node.getChild(0), node.getChild(1)
        u = units.get(a.getName()) if a.getType() == libsbml.AST_NAME else None
        power = _apply(libsbml.AST_FUNCTION_POWER, a.deepCopy(), b.deepCopy())
        cond = _apply(libsbml.AST_RELATIONAL_GT, a.deepCopy(), _number(0.0, u))
        other = _apply(libsbml.AST_FUNCTION_POWER, _number(0.0, u), b.deepCopy())
        while node.getNumChildren():
            node.removeChild(0)
        node.setType(libsbml.AST_FUNCTION_PIECEWISE)
        for child in (power, cond, other):
            node.addChild(child)


def _literal_units(node: libsbml.ASTNode, units: dict[str, str]) -> None:
    """Declare the units of literal numbers.

    They are dimensionless, except ``c`` in ``ln(x / c)`` / ``exp(x / c)``, which is a reference value in the
    units of ``x`` (e.g. ``ln(tumour_capacity_g / 0.001)``).
    """
    if node.isNumber():
        if not node.hasUnits():
            node.setUnits("dimensionless")
        return
    kind = node.getType()
    for i in range(node.getNumChildren()):
        child = node.getChild(i)
        if (
            kind in (libsbml.AST_FUNCTION_LN, libsbml.AST_FUNCTION_EXP)
            and child.getType() == libsbml.AST_DIVIDE
        ):
            num = child.getChild(0)
            if num.getType() == libsbml.AST_NAME and child.getChild(1).isNumber():
                child.getChild(1).setUnits(units.get(num.getName(), "dimensionless"))
        _literal_units(child, units)


def _math(formula: str, where: str, units: dict[str, str]) -> libsbml.ASTNode:
    ast = libsbml.parseL3Formula(formula)
    if ast is None:
        raise ModelError(
            f"{where}: formula {formula!r} is not valid SBML L3 syntax: {libsbml.getLastParseL3Error()}"
        )
    # the SBML parser reads a few names as constants (pi, time, avogadro, inf...); the engine would not
    if _names(ast) != identifiers(formula):
        raise ModelError(
            f"{where}: SBML reads names in {formula!r} differently from the engine: "
            f"{sorted(identifiers(formula) ^ _names(ast))}"
        )
    _safe_pow(ast, units)
    _literal_units(ast, units)
    return ast


def _apply(op: int, *children: libsbml.ASTNode) -> libsbml.ASTNode:
    n = libsbml.ASTNode(op)
    for c in children:
        n.addChild(c)
    return n


def _compose(value: libsbml.ASTNode, events, units: str) -> libsbml.ASTNode:
    """``value`` after ``events`` applied in order: ``v * factor + amount`` (identity parts omitted)."""
    for e in events:
        if e.factor != 1.0:
            value = _apply(libsbml.AST_TIMES, value, _number(e.factor))
        if e.amount != 0.0:
            value = _apply(libsbml.AST_PLUS, value, _number(e.amount, units))
    return value


def _has_minus(node: libsbml.ASTNode) -> bool:
    return node.getType() == libsbml.AST_MINUS or any(
        _has_minus(node.getChild(i)) for i in range(node.getNumChildren())
    )


def _names(node: libsbml.ASTNode) -> set[str]:
    out = {node.getName()} if node.getType() == libsbml.AST_NAME else set()
    for i in range(node.getNumChildren()):
        out |= _names(node.getChild(i))
    return out


# ------------------------------------------------------------------------------------------ notes
def _notes(*paragraphs: str) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs if p)
    return f'<body xmlns="{_XHTML}">{body}</body>'


def _set_notes(sbase: libsbml.SBase, *paragraphs: str) -> None:
    if sbase.setNotes(_notes(*paragraphs)) != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise ModelError(f"could not attach notes to {sbase.getId()}")


def _set_annotation(sbase: libsbml.SBase, xml: str) -> None:
    if sbase.setAnnotation(f"<annotation>{xml}</annotation>") != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise ModelError(f"could not attach annotation to {sbase.getId()}")


def _unit_note(unit: str) -> str:
    if unit_id(unit) is not None:
        return ""
    return f"unit {unit!r} is not one exoniche maps to SBML; exported as dimensionless"


def _check(rc: int, what: str) -> None:
    if rc != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise ModelError(f"SBML export: {what} failed ({libsbml.OperationReturnValue_toString(rc)})")


# ------------------------------------------------------------------------------------------ export
def to_sbml(problem: Problem, preset_name: str | None = None) -> str:  # noqa: C901  one pass in SBML element order, read top to bottom
    """Write ``problem`` (mechanism, parameter values, events) as an SBML Level 3 Version 2 document.

    Parameters
    ----------
    problem : Problem
        From :meth:`exoniche.experiments.setup.Experiment.problem`.
    preset_name : str, optional
        Scenario name recorded in the model id, name and notes (e.g. ``"4175-LuT"``).

    Returns
    -------
    str
        The SBML document (UTF-8 XML text). Time is in days; see ``docs/sbml.md`` for the units.
    """
    from exoniche import __version__

    mech, params = problem.mechanism, problem.params
    species_names = mech.species_names()
    expr_names = [e.name for e in mech.expressions]
    clash = (set(species_names) & set(params)) | (set(expr_names) & (set(params) | set(species_names)))
    if clash:
        raise ModelError(f"SBML export: names used twice (species/parameter/expression): {sorted(clash)}")
    par_events = [e for e in problem.events if isinstance(e, ParameterEvent)]
    species_events = [e for e in problem.events if not isinstance(e, ParameterEvent)]
    for e in species_events:
        if e.species not in species_names:
            raise ModelError(f"event {e.label or e}: unknown species {e.species!r}")
    for e in par_events:
        if e.parameter not in params:
            raise ModelError(f"event {e.label or e}: unknown parameter {e.parameter!r}")
    comp = compile_mechanism(mech, params)
    pvec = comp.param_vector(params)
    # parameter values in force at day 0 (as the engine does) set the initial state and the exported value
    start_values = day0_values(par_events)
    for name, value in start_values.items():
        if name in comp.parameters:
            pvec[comp.parameters.index(name)] = value
    y0 = [float(v) for v in comp.initial(pvec)]
    t_end = problem.t_end
    # the engine applies events with 0 <= t < t_end; those at day 0 act on the initial state
    day0 = [e for e in species_events if e.time == 0]
    later = [e for e in species_events if 0 < e.time < t_end]
    later_par = [e for e in par_events if 0 < e.time < t_end]
    varying = {e.parameter for e in later_par}

    doc = libsbml.SBMLDocument(LEVEL, VERSION)
    model = doc.createModel()
    label = preset_name or problem.label or "model"
    _check(model.setId(_sid(f"exoniche_{label}")), "model id")
    model.setName(f"exoniche whole-body exosome niche model ({label})")
    _set_notes(
        model,
        f"Exported by exoniche {__version__} from its mechanism declaration and parameter set.",
        f"Scenario: {label}; duration {t_end:g} days; {len(problem.events)} events ({len(day0)} at day 0, "
        f"folded into initial amounts).",
        "Units: time in days; exosome amounts in Gp (1e9 particles); tumour and metastasis mass in g; "
        "CTCs in cells; niche indices as fold over the healthy organ. Species are amounts "
        "(hasOnlySubstanceUnits=true); compartment sizes are nominal (1 mL) and do not enter any rate.",
        "Reaction extent is a dimensionless count: each kinetic law is the mechanism's rate divided by one "
        "unit of the species it changes (parameters one_Gp, one_g, ... = 1), and each species' "
        "conversionFactor multiplies it back; both factors are exactly 1, so the numbers are the mechanism's.",
        "Reactions name the evidence claims they encode in their notes and in exoniche:citations annotations.",
    )
    _check(model.setTimeUnits(_add_unit_definition(model, "day")), "time units")
    _check(model.setVolumeUnits(_add_unit_definition(model, "mL")), "volume units")
    _check(model.setExtentUnits("dimensionless"), "extent units")

    unknown_units: list[str] = []
    units: dict[str, str] = {}  # symbol -> SBML unit id, for literal units in formulas

    def units_of(name: str, unit: str, owner: str) -> tuple[str, str]:
        uid = _add_unit_definition(model, unit)
        units[name] = uid
        if unit_id(unit) is None:
            unknown_units.append(f"{owner}: {unit!r}")
        return uid, _unit_note(unit)

    def dimensionless(uid: str) -> bool:
        ud = model.getUnitDefinition(uid)
        return uid == "dimensionless" or (ud is not None and ud.isVariantOfDimensionless())

    # compartments
    comp_id = {}
    for c in dict.fromkeys(s.compartment for s in mech.species):
        cid, cname = _COMPARTMENTS.get(c, (_sid(c), c))
        comp_id[c] = cid
        cc = model.createCompartment()
        _check(cc.setId(cid), f"compartment {cid}")
        cc.setName(cname)
        cc.setSpatialDimensions(3)
        cc.setSize(1.0)
        cc.setUnits("mL")
        cc.setConstant(True)

    # parameters (constant), with provenance
    for name, p in params.items():
        uid, note = units_of(name, p.unit, f"parameter {name}")
        par = model.createParameter()
        _check(par.setId(name), f"parameter {name}")
        _check(par.setValue(float(start_values.get(name, p.value))), f"value of {name}")
        par.setUnits(uid)
        par.setConstant(name not in varying)
        _set_notes(par, f"unit: {p.unit}", f"provenance: {p.kind}", f"source: {p.source}", note)
        _set_annotation(
            par,
            f'<exoniche:provenance xmlns:exoniche="{NS}" kind={quoteattr(p.kind)} '
            f"unit={quoteattr(p.unit)} source={quoteattr(p.source)}/>",
        )
    for s in mech.species:
        units_of(s.name, s.unit, f"species {s.name}")
    for e in mech.expressions:
        units_of(e.name, e.unit, f"expression {e.name}")

    # one unit of each dimensioned species unit: reaction extent -> species amount
    one: dict[str, str] = {}
    for s in mech.species:
        uid = units[s.name]
        if not dimensionless(uid) and uid not in one:
            one[uid] = _sid(f"one_{uid}")
            par = model.createParameter()
            _check(par.setId(one[uid]), f"conversion factor {one[uid]}")
            par.setValue(1.0)
            par.setUnits(uid)
            par.setConstant(True)
            _set_notes(
                par,
                f"one {s.unit}: converts a reaction's dimensionless extent into {s.unit} "
                "(species conversionFactor) and back (divisor of kinetic laws); exactly 1.",
            )
            _set_annotation(par, f'<exoniche:conversion xmlns:exoniche="{NS}" unit={quoteattr(s.unit)}/>')

    # species, initial amounts (day-0 events folded in)
    for s, v0 in zip(mech.species, y0):
        uid = units[s.name]
        note = _unit_note(s.unit)
        sp = model.createSpecies()
        _check(sp.setId(s.name), f"species {s.name}")
        sp.setCompartment(comp_id[s.compartment])
        sp.setHasOnlySubstanceUnits(True)
        sp.setBoundaryCondition(False)
        sp.setConstant(False)
        sp.setSubstanceUnits(uid)
        if uid in one:
            sp.setConversionFactor(one[uid])
        evs = [e for e in day0 if e.species == s.name]
        value = v0
        for e in evs:  # the engine's own arithmetic, in the same order
            value = e.apply(value)
        sp.setInitialAmount(value)
        init_ast = _math(s.initial, f"species {s.name} initial", units)
        # keep a formula over parameters, so that changing a parameter in a tool moves the initial amount
        if _names(init_ast):
            ia = model.createInitialAssignment()
            ia.setSymbol(s.name)
            _check(ia.setMath(_compose(init_ast, evs, uid)), f"initial assignment of {s.name}")
        _set_notes(
            sp,
            s.description,
            f"unit: {s.unit}; scale: {s.scale:g}; initial: {s.initial}",
            "; ".join(
                f"day-0 event folded in: {e.label or 'event'} (x{e.factor:g} + {e.amount:g})" for e in evs
            ),
            note,
        )

    # expressions: assignment rules
    for e in mech.expressions:
        par = model.createParameter()
        _check(par.setId(e.name), f"expression {e.name}")
        par.setUnits(units[e.name])
        par.setConstant(False)
        note = _unit_note(e.unit)
        _set_notes(par, e.description, f"unit: {e.unit}", f"formula: {e.formula}", note)
        rule = model.createAssignmentRule()
        rule.setVariable(e.name)
        _check(rule.setMath(_math(e.formula, f"expression {e.name}", units)), f"rule {e.name}")

    # reactions
    deps: dict[str, set[str]] = {}  # expression -> species it reads (through earlier expressions)
    sset = set(species_names)
    for e in mech.expressions:
        ids = _names(libsbml.parseL3Formula(e.formula))
        deps[e.name] = {i for i in ids if i in sset}.union(*(deps[i] for i in ids if i in deps))
    for proc in mech.processes:
        law = _math(proc.rate, f"process {proc.name}", units)
        r = model.createReaction()
        _check(r.setId(proc.name), f"reaction {proc.name}")
        # reversible where the rate law can change sign (relaxations k*(target - X), T-cell balances)
        r.setReversible(_has_minus(law))
        for s, v in proc.stoich.items():
            ref = r.createReactant() if v < 0 else r.createProduct()
            ref.setSpecies(s)
            ref.setStoichiometry(abs(float(v)))
            ref.setConstant(True)
        ids = _names(law)
        readers = {i for i in ids if i in sset}.union(*(deps[i] for i in ids if i in deps))
        for s in sorted(readers - set(proc.stoich), key=species_names.index):
            r.createModifier().setSpecies(s)
        changed = {units[s] for s in proc.stoich}
        if len(changed) == 1 and (uid := changed.pop()) in one:
            divisor = libsbml.ASTNode(libsbml.AST_NAME)
            divisor.setName(one[uid])
            law = _apply(libsbml.AST_DIVIDE, law, divisor)
        kl = r.createKineticLaw()
        _check(kl.setMath(law), f"kinetic law of {proc.name}")
        _set_notes(
            r,
            proc.description,
            f"reaction: {proc.reaction()}",
            f"hallmark: {proc.hallmark}",
            f"rate: {proc.rate}",
            f"claims: {', '.join(proc.claims)}",
            f"primary papers: {'; '.join(proc.refs)}" if proc.refs else "",
        )
        cites = "".join(f"<exoniche:claim id={quoteattr(c)}/>" for c in proc.claims)
        cites += "".join(f"<exoniche:ref>{escape(ref)}</exoniche:ref>" for ref in proc.refs)
        _set_annotation(
            r,
            f'<exoniche:citations xmlns:exoniche="{NS}" hallmark={quoteattr(proc.hallmark)}>'
            f"{cites}</exoniche:citations>",
        )

    # events after day 0: one SBML event per time, assignments composed in the engine's order
    for k, t in enumerate(sorted({e.time for e in later} | {e.time for e in later_par})):
        group = [e for e in later if e.time == t]
        pgroup = [e for e in later_par if e.time == t]
        ev = model.createEvent()
        _check(ev.setId(_sid(f"event_{k}_day_{t:g}")), f"event at day {t:g}")
        ev.setName("; ".join(dict.fromkeys(e.label or "event" for e in group + pgroup)))
        ev.setUseValuesFromTriggerTime(True)
        trig = ev.createTrigger()
        trig.setInitialValue(True)
        trig.setPersistent(True)
        now = libsbml.ASTNode(libsbml.AST_NAME_TIME)
        now.setName("time")
        _check(trig.setMath(_apply(libsbml.AST_RELATIONAL_GEQ, now, _number(t, "day"))), "event trigger")
        for s in dict.fromkeys(e.species for e in group):
            ea = ev.createEventAssignment()
            ea.setVariable(s)
            target = libsbml.ASTNode(libsbml.AST_NAME)
            target.setName(s)
            _check(
                ea.setMath(_compose(target, [e for e in group if e.species == s], units[s])), f"event on {s}"
            )
        for e in {e.parameter: e for e in pgroup}.values():  # the last one at a time wins, as in the engine
            ea = ev.createEventAssignment()
            ea.setVariable(e.parameter)
            _check(ea.setMath(_number(e.value, params[e.parameter].unit and units_of(
                e.parameter, params[e.parameter].unit, f"parameter {e.parameter}")[0])), f"event on {e.parameter}")

    if unknown_units:
        model.appendNotes(_notes(f"Units not mapped (exported as dimensionless): {'; '.join(unknown_units)}"))
    return libsbml.writeSBMLToString(doc)


def consistency(sbml: str) -> dict:
    """Run libSBML's full consistency check (units included) on SBML text.

    Returns ``{"errors", "warnings", "unit_warnings", "messages"}``: errors count severity error or
    fatal; ``unit_warnings`` are the warnings of the units category (part of ``warnings``).
    """
    doc = libsbml.readSBMLFromString(sbml)
    doc.checkConsistency()
    errors, warnings, unit_warnings, messages = 0, 0, 0, []
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        sev = err.getSeverity()
        if sev >= libsbml.LIBSBML_SEV_ERROR:
            errors += 1
        elif sev == libsbml.LIBSBML_SEV_WARNING:
            warnings += 1
            unit_warnings += err.getCategory() == libsbml.LIBSBML_CAT_UNITS_CONSISTENCY
        else:
            continue
        messages.append(
            f"{err.getSeverityAsString()} {err.getErrorId()} line {err.getLine()}: "
            f"{err.getShortMessage()}: {' '.join(err.getMessage().split())}"
        )
    return {"errors": errors, "warnings": warnings, "unit_warnings": unit_warnings, "messages": messages}


def write_sbml(path: str | Path, problem: Problem, preset_name: str | None = None) -> Path:
    """Write :func:`to_sbml` output to ``path``; an unwritable path raises ``ScenarioError`` naming it."""
    path = Path(path)
    text = to_sbml(problem, preset_name)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(
            f"output path: cannot write SBML to {str(path)!r}: {exc.strerror or exc}"
        ) from None
    return path


# ------------------------------------------------------------------------------------------ verify
def roadrunner_run(
    sbml: str, times: np.ndarray, species: list[str], scales: np.ndarray, rtol: float = 1e-10
) -> np.ndarray:
    """Simulate SBML text with libRoadRunner (CVODE, stiff) and return species amounts (species x time).

    Absolute tolerances are per species, ``rtol * 1e-3 * scale`` (the engine's rule), so small
    quantities such as metastatic mass (scale 1 mg) are resolved as finely as exosome pools.
    """
    import roadrunner

    rr = roadrunner.RoadRunner(sbml)
    rr.setIntegrator("cvode")
    integ = rr.integrator
    integ.setValue("stiff", True)
    integ.setValue("relative_tolerance", rtol)
    integ.setValue("absolute_tolerance", float(rtol * 1e-3 * scales.min()))
    for s, scale in zip(species, scales):
        integ.setIndividualTolerance(s, float(rtol * 1e-3 * scale))
    integ.setValue("maximum_num_steps", 1_000_000)
    # bare ids select amounts; "[X]" would be concentrations
    rr.timeCourseSelections = ["time", *species]
    # roadrunner starts at the first requested time, so always start at day 0 and pick the outputs
    grid = np.union1d([0.0], times)
    if grid.size == 1:
        grid = np.array([0.0, 1.0])
    res = np.asarray(rr.simulate(times=[float(t) for t in grid]))
    keep = np.isin(grid, times)
    if res.shape[0] != grid.size or not np.allclose(res[:, 0], grid, rtol=0, atol=1e-9 * max(grid[-1], 1.0)):
        raise ModelError("libRoadRunner did not return the requested output times")
    return res[keep, 1:].T


def verify(
    problem: Problem,
    rtol: float = 1e-4,
    *,
    sbml: str | None = None,
    preset_name: str | None = None,
    solver_rtol: float = 1e-10,
    engine_rtol: float = 1e-9,
) -> dict:
    """Simulate the exported SBML with libRoadRunner and ``problem`` with exoniche's deterministic engine.

    Parameters
    ----------
    problem : Problem
        The case to export and compare (its output times are the comparison times).
    rtol : float
        Acceptance threshold on ``max_rel_diff`` (default 1e-4).
    sbml : str, optional
        SBML text to simulate (e.g. a file just written); default: ``to_sbml(problem, preset_name)``.
    preset_name : str, optional
        Passed to :func:`to_sbml`.
    solver_rtol, engine_rtol : float
        Relative tolerances of CVODE (libRoadRunner) and of exoniche's BDF engine for this comparison.

    Returns
    -------
    dict
        ``max_rel_diff`` = max over species s and output times t of
        ``|x_rr(s, t) - x_exo(s, t)| / max(max_t |x_exo(s, t)|, 1e-9 * scale_s)`` — the difference relative
        to the species' own peak (the floor, a billionth of its typical magnitude, keeps a species that
        stays ~0 from dividing by ~0); where it occurs (``species``, ``time_day``, both values);
        ``passed`` (``max_rel_diff <= rtol``); the largest per-species differences; libSBML consistency
        ``errors``/``warnings``; and wall times in seconds.
    """
    from exoniche.engines import deterministic

    t0 = _time.perf_counter()
    text = sbml if sbml is not None else to_sbml(problem, preset_name)
    check = consistency(text)
    t1 = _time.perf_counter()
    species = problem.mechanism.species_names()
    scales = np.array([s.scale for s in problem.mechanism.species], dtype=float)
    times = problem.times()
    a = roadrunner_run(text, times, species, scales, solver_rtol)
    t2 = _time.perf_counter()
    ds = deterministic.run(dataclasses.replace(problem, rtol=engine_rtol))
    b = np.vstack([ds[s].values for s in species])
    t3 = _time.perf_counter()
    if not np.all(np.isfinite(a)):
        bad = species[int(np.argmax(~np.isfinite(a).all(axis=1)))]
        raise ModelError(f"libRoadRunner produced non-finite values for {bad}")
    denom = np.maximum(np.abs(b).max(axis=1), 1e-9 * scales)[:, None]
    rel = np.abs(a - b) / denom
    i, j = np.unravel_index(int(np.argmax(rel)), rel.shape)
    per_species = rel.max(axis=1)
    worst = np.argsort(per_species)[::-1][:5]
    return {
        "max_rel_diff": float(rel[i, j]),
        "species": species[i],
        "time_day": float(times[j]),
        "value_roadrunner": float(a[i, j]),
        "value_exoniche": float(b[i, j]),
        "threshold": rtol,
        "passed": bool(rel[i, j] <= rtol),
        "worst_species": {species[k]: float(per_species[k]) for k in worst},
        "n_species": len(species),
        "n_reactions": len(problem.mechanism.processes),
        "n_output_times": len(times),
        "n_events": len(problem.events),
        "libsbml_errors": check["errors"],
        "libsbml_warnings": check["warnings"],
        "libsbml_unit_warnings": check["unit_warnings"],
        "libsbml_messages": check["messages"],
        "solver": {
            "roadrunner": f"CVODE stiff, rtol {solver_rtol:g}, atol rtol*1e-3*scale",
            "exoniche": f"SciPy BDF, rtol {engine_rtol:g}, atol rtol*1e-3*scale",
        },
        "seconds": {
            "export_and_check": round(t1 - t0, 3),
            "roadrunner": round(t2 - t1, 3),
            "exoniche": round(t3 - t2, 3),
        },
    }
