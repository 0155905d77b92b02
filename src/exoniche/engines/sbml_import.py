"""SBML import into the mechanism declaration, so that exoniche's engines run any model of the supported kind.

Supported (everything the export writes, and the common core of the PEtab benchmark models):

* compartments of constant size (their ids become parameters, so kinetic laws may read them);
* species as amounts (``hasOnlySubstanceUnits``) or concentrations; boundary and constant species stay at their
  initial value; a constant ``conversionFactor`` scales the stoichiometry;
* constant parameters, local parameters of kinetic laws (renamed ``<reaction>_<id>``);
* assignment rules on parameters (named expressions, sorted by dependency), initial assignments on species
  (the initial formula) and on parameters (a parameter-only expression);
* reactions with constant stoichiometry and any kinetic law built from ``+ - * / ^``, ``exp``, ``ln``, ``log``,
  ``log10``, ``sqrt``/``root``, ``pow``, ``piecewise(a, x <op> y, b)`` with one comparison, the ``time`` symbol
  (a clock species ``time_`` with d/dt = 1), ``pi``, ``exponentiale``, ``avogadro``;
* events of the kinds the export writes: trigger ``time >= T`` (T a constant), no delay, and assignments that are
  linear in the target (``X = X * f + a``, f and a constant) or constant values of parameters.

The state of a concentration species is its concentration; a reaction's rate (extent per time) changes it by
``stoichiometry / compartment size``. Anything else (rate and algebraic rules, function definitions, delays,
non-constant compartments or stoichiometries, assignment rules on species, other event forms, ...) raises
:class:`ModelError` listing every unsupported construct found.
"""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from exoniche.biology import Mechanism, Process
from exoniche.biology.parameters import Parameter, ParameterSet
from exoniche.engines.functions import identifiers
from exoniche.engines.problem import Event, ParameterEvent
from exoniche.errors import ModelError

CLOCK = "time_"  # species that carries SBML's time symbol (d/dt = 1, starts at 0)
# names the generated engine code uses itself; an SBML id equal to one of them is renamed with a trailing "_"
_RESERVED = set(keyword.kwlist) | {"t", "y", "p", "h", "dy", "ln", "pow", "exp", "piecewise", "math", "np", "njit",
                                   "rhs", "initial", "prepare", "rates", "evaluate", CLOCK}
_REL = {"lt": "<", "leq": "<=", "gt": ">", "geq": ">="}


@dataclass
class ImportedModel:
    """An SBML model as exoniche data: the mechanism, its parameter values and events."""

    mechanism: Mechanism
    params: ParameterSet
    events: list = field(default_factory=list)  # Event and ParameterEvent (engines.problem types)
    names: dict = field(default_factory=dict)  # SBML id -> exoniche name (differs only for reserved words)
    concentration: dict = field(default_factory=dict)  # species name -> True when the state is a concentration
    compartments: dict = field(default_factory=dict)  # compartment name -> size
    time_breaks: list = field(default_factory=list)  # parameter-only formulas compared with time in piecewise
    model_id: str = ""

    def name(self, sbml_id: str) -> str:
        """Return the exoniche name of an SBML id."""
        return self.names.get(sbml_id, sbml_id)


def _safe(sid: str) -> str:
    return sid + "_" if sid in _RESERVED or re.fullmatch(r"r\d+|x\d+", sid) else sid


class _Math:
    """libSBML AST -> formula text in the mechanism's syntax (collects what it cannot translate)."""

    def __init__(self, names: dict, problems: list):
        self.names, self.problems = names, problems
        self.time_breaks: list[str] = []

    def __call__(self, node, where: str) -> str:
        return self.tr(node, where)

    def tr(self, n, where: str) -> str:  # noqa: C901 - one branch per AST kind
        import libsbml as L

        t = n.getType()
        kids = [n.getChild(i) for i in range(n.getNumChildren())]
        if t == L.AST_INTEGER:
            return repr(float(n.getInteger()))
        if t in (L.AST_REAL, L.AST_REAL_E, L.AST_RATIONAL):
            v = n.getValue()
            return f"({v!r})" if v < 0 else repr(v)
        if t == L.AST_NAME:
            name = n.getName()
            return self.names.get(name, _safe(name))
        if t == L.AST_NAME_TIME:
            return CLOCK
        if t == L.AST_NAME_AVOGADRO:
            return repr(6.02214076e23)
        if t == L.AST_CONSTANT_PI:
            return repr(math.pi)
        if t == L.AST_CONSTANT_E:
            return repr(math.e)
        a = [self.tr(k, where) for k in kids]
        if t == L.AST_PLUS:
            return "(" + " + ".join(a) + ")" if a else "0.0"
        if t == L.AST_TIMES:
            return "(" + " * ".join(a) + ")" if a else "1.0"
        if t == L.AST_MINUS:
            return f"(-{a[0]})" if len(a) == 1 else f"({a[0]} - {a[1]})"
        if t == L.AST_DIVIDE:
            return f"({a[0]} / {a[1]})"
        if t in (L.AST_POWER, L.AST_FUNCTION_POWER):
            e = kids[1]
            if e.isNumber() and float(e.getValue()).is_integer() and 1 <= e.getValue() <= 4:
                return "(" + " * ".join([a[0]] * int(e.getValue())) + ")"
            return f"pow({a[0]}, {a[1]})"
        if t == L.AST_FUNCTION_EXP:
            return f"exp({a[0]})"
        if t == L.AST_FUNCTION_LN:
            return f"ln({a[0]})"
        if t == L.AST_FUNCTION_LOG:  # log(base, x); libSBML gives base 10 when absent
            return f"(ln({a[-1]}) / ln({a[0]}))" if len(a) == 2 else f"(ln({a[0]}) / ln(10.0))"
        if t == L.AST_FUNCTION_ROOT:
            return f"pow({a[-1]}, 1.0 / {a[0]})" if len(a) == 2 else f"pow({a[0]}, 0.5)"
        if t == L.AST_FUNCTION_PIECEWISE:
            return self.piecewise(kids, a, where)
        if t in (L.AST_RELATIONAL_LT, L.AST_RELATIONAL_LEQ, L.AST_RELATIONAL_GT, L.AST_RELATIONAL_GEQ):
            op = {L.AST_RELATIONAL_LT: "<", L.AST_RELATIONAL_LEQ: "<=", L.AST_RELATIONAL_GT: ">",
                  L.AST_RELATIONAL_GEQ: ">="}[t]
            if len(a) != 2:
                self.problems.append(f"{where}: comparison with {len(a)} operands")
            if CLOCK in a[:1] and CLOCK not in a[1]:
                self.time_breaks.append(a[1])
            elif CLOCK in a[1:] and CLOCK not in a[0]:
                self.time_breaks.append(a[0])
            return f"({a[0]} {op} {a[1]})" if len(a) == 2 else "0.0"
        self.problems.append(f"{where}: math element {n.getName() or L.formulaToL3String(n)!r} (type {t})")
        return "0.0"

    def piecewise(self, kids, a, where: str) -> str:
        import libsbml as L

        if len(a) != 3:
            self.problems.append(f"{where}: piecewise with {len(a)} arguments (only value, condition, otherwise)")
            return "0.0"
        # the export's safe power piecewise(pow(x, b), x > 0, pow(0, b)) is exoniche's own pow(x, b)
        v, c = kids[0], kids[1]
        if (v.getType() in (L.AST_POWER, L.AST_FUNCTION_POWER) and c.getType() == L.AST_RELATIONAL_GT
                and L.formulaToL3String(c.getChild(0)) == L.formulaToL3String(v.getChild(0))
                and c.getChild(1).isNumber() and c.getChild(1).getValue() == 0):
            return f"pow({self.tr(v.getChild(0), where)}, {self.tr(v.getChild(1), where)})"
        return f"piecewise({a[0]}, {a[1]}, {a[2]})"


def _read(source: str | Path):
    import libsbml

    text = str(source)
    if text.lstrip().startswith("<"):
        doc = libsbml.readSBMLFromString(text)
        where = "SBML text"
    else:
        path = Path(source)
        if not path.is_file():
            raise ModelError(f"SBML file {path}: not found")
        doc = libsbml.readSBMLFromFile(str(path))
        where = str(path)
    fatal = [doc.getError(i) for i in range(doc.getNumErrors())
             if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    if fatal or doc.getModel() is None:
        msg = "; ".join(f"line {e.getLine()}: {e.getShortMessage()}" for e in fatal[:5]) or "no model element"
        raise ModelError(f"{where}: not readable SBML ({msg})")
    return doc, where


def _order(exprs: dict[str, str], where: str) -> list[str]:
    """Names of assignment-rule expressions in dependency order (SBML allows any order)."""
    deps = {k: identifiers(v) & set(exprs) for k, v in exprs.items()}
    done: list[str] = []
    seen: set[str] = set()
    while len(done) < len(exprs):
        ready = [k for k in exprs if k not in seen and deps[k] <= seen]
        if not ready:
            raise ModelError(f"{where}: assignment rules are cyclic among {sorted(set(exprs) - seen)}")
        for k in ready:
            done.append(k)
            seen.add(k)
    return done


def import_sbml(source: str | Path) -> ImportedModel:  # noqa: C901 - one pass over the SBML elements
    """Read an SBML file (or SBML text) into a :class:`ImportedModel`; unsupported constructs raise ModelError."""
    import libsbml

    doc, where = _read(source)
    model = doc.getModel()
    problems: list[str] = []
    names = {}
    for lst in (model.getListOfCompartments(), model.getListOfSpecies(), model.getListOfParameters()):
        for el in lst:
            names[el.getId()] = _safe(el.getId())
    tr = _Math(names, problems)

    if model.getNumFunctionDefinitions():
        conv = libsbml.ConversionProperties()
        conv.addOption("expandFunctionDefinitions", True)
        if doc.convert(conv) != libsbml.LIBSBML_OPERATION_SUCCESS:
            problems.append("function definitions that libSBML cannot expand")
        model = doc.getModel()
    for rule in model.getListOfRules():
        if rule.isRate():
            problems.append(f"rate rule on {rule.getVariable()}")
        elif rule.isAlgebraic():
            problems.append("algebraic rule")
    rules = {r.getVariable(): r for r in model.getListOfRules() if r.isAssignment()}
    inits = {ia.getSymbol(): ia for ia in model.getListOfInitialAssignments()}

    params: list[Parameter] = []
    src = f"SBML {Path(where).name if where != 'SBML text' else 'model'} {model.getId()}".strip()
    compartments = {}
    for c in model.getListOfCompartments():
        if not c.getConstant() or c.getId() in rules:
            problems.append(f"compartment {c.getId()} of variable size")
        if c.getId() in inits:
            problems.append(f"initial assignment on compartment {c.getId()}")
        size = c.getSize() if c.isSetSize() else 1.0
        compartments[names[c.getId()]] = size
        params.append(Parameter(names[c.getId()], float(size), c.getUnits() or "dimensionless", "scenario",
                                f"{src}: size of compartment {c.getId()}"))
    exprs: dict[str, str] = {}
    descr: dict[str, str] = {}
    for p in model.getListOfParameters():
        pid = p.getId()
        if pid in rules:
            exprs[names[pid]] = tr(rules[pid].getMath(), f"assignment rule {pid}")
            descr[names[pid]] = p.getName() or f"assignment rule of {pid}"
        elif pid in inits:
            exprs[names[pid]] = tr(inits[pid].getMath(), f"initial assignment {pid}")
            descr[names[pid]] = p.getName() or f"initial assignment of {pid}"
        else:
            value = p.getValue() if p.isSetValue() else float("nan")
            if not math.isfinite(value):
                problems.append(f"parameter {pid} has no finite value")
                value = 0.0
            params.append(Parameter(names[pid], float(value), p.getUnits() or "dimensionless", "scenario",
                                    f"{src}: parameter {pid}" + (f" ({p.getName()})" if p.getName() else "")))
    for r in model.getListOfReactions():
        kl = r.getKineticLaw()
        for lp in (kl.getListOfLocalParameters() if kl is not None else []):
            params.append(Parameter(_safe(f"{r.getId()}_{lp.getId()}"), float(lp.getValue()),
                                    lp.getUnits() or "dimensionless", "scenario",
                                    f"{src}: local parameter {lp.getId()} of reaction {r.getId()}"))

    mech = Mechanism()
    conc: dict[str, bool] = {}
    stoich_scale: dict[str, float] = {}
    fixed: set[str] = set()
    values = {p.name: p.value for p in params}
    for s in model.getListOfSpecies():
        sid, name = s.getId(), names[s.getId()]
        if sid in rules:
            problems.append(f"assignment rule on species {sid}")
        size = compartments.get(names.get(s.getCompartment(), s.getCompartment()), 1.0)
        amounts = s.getHasOnlySubstanceUnits()
        if sid in inits:
            initial = tr(inits[sid].getMath(), f"initial assignment {sid}")
        elif s.isSetInitialConcentration():
            v = s.getInitialConcentration()
            initial = repr(v * size if amounts else v)
        elif s.isSetInitialAmount():
            v = s.getInitialAmount()
            initial = repr(v if amounts else v / size)
        else:
            problems.append(f"species {sid} has no initial value")
            initial = "0.0"
        try:
            x0 = abs(float(eval(initial, {"__builtins__": {}}, {})))  # noqa: S307 - numeric literal only
        except Exception:  # a formula: magnitude unknown until parameters are read
            x0 = 1.0
        cf = 1.0
        cf_id = s.getConversionFactor() if s.isSetConversionFactor() else model.getConversionFactor()
        if cf_id:
            if names.get(cf_id, cf_id) not in values:
                problems.append(f"conversion factor {cf_id} of species {sid} is not a constant parameter")
            else:
                cf = values[names.get(cf_id, cf_id)]
        if s.getBoundaryCondition() or s.getConstant():
            fixed.add(name)
        conc[name] = not amounts
        stoich_scale[name] = cf / (1.0 if amounts else size)
        mech.sp(name, s.getSubstanceUnits() or "dimensionless", names.get(s.getCompartment(), s.getCompartment()),
                s.getName() or sid, initial, max(x0, 1.0))
    order = _order(exprs, where)
    for name in order:
        mech.ex(name, exprs[name], "dimensionless", descr[name])
    for r in model.getListOfReactions():
        rid = r.getId()
        if r.isSetFast() and r.getFast():
            problems.append(f"fast reaction {rid}")
        kl = r.getKineticLaw()
        if kl is None or kl.getMath() is None:
            problems.append(f"reaction {rid} without kinetic law")
            continue
        local = {lp.getId(): _safe(f"{rid}_{lp.getId()}") for lp in kl.getListOfLocalParameters()}
        tr.names = {**names, **local}
        rate = tr(kl.getMath(), f"kinetic law of {rid}")
        tr.names = names
        stoich: dict[str, float] = {}
        for sign, refs in ((-1.0, r.getListOfReactants()), (1.0, r.getListOfProducts())):
            for ref in refs:
                sp = names[ref.getSpecies()]
                if ref.isSetId() and (ref.getId() in rules or ref.getId() in inits):
                    problems.append(f"variable stoichiometry of {ref.getSpecies()} in reaction {rid}")
                if sp in fixed:
                    continue
                v = ref.getStoichiometry() if ref.isSetStoichiometry() else 1.0
                stoich[sp] = stoich.get(sp, 0.0) + sign * v * stoich_scale[sp]
        stoich = {k: v for k, v in stoich.items() if v != 0.0}
        mech.processes.append(_process(rid, rate, stoich, r.getName()))
    events = _events(model, names, tr, values, problems)
    uses_time = any(CLOCK in identifiers(text) for text in [e.formula for e in mech.expressions]
                    + [p.rate for p in mech.processes] + [s.initial for s in mech.species])
    if uses_time:
        mech.sp(CLOCK, "time", "clock", "SBML time symbol (model time units)", "0", 1.0)
        mech.processes.append(_process("clock", "1.0", {CLOCK: 1.0}, "time advances"))
    if problems:
        raise ModelError(f"{where}: unsupported SBML constructs: " + "; ".join(dict.fromkeys(problems)))
    return ImportedModel(mech, ParameterSet(params), events, names, conc, compartments,
                         list(dict.fromkeys(tr.time_breaks)), model.getId())


def _process(name: str, rate: str, stoich: dict, description: str):
    return Process(name, rate, dict(stoich), "imported", (), description or f"SBML reaction {name}")


def _events(model, names: dict, tr: _Math, values: dict, problems: list) -> list:
    """SBML events of the export's kinds -> engines.problem Event / ParameterEvent."""
    import libsbml

    out = []
    for ev in model.getListOfEvents():
        eid = ev.getId() or ev.getName() or "event"
        if ev.isSetDelay():
            problems.append(f"event {eid} with a delay")
        if ev.isSetPriority():
            problems.append(f"event {eid} with a priority")
        trig = ev.getTrigger()
        m = trig.getMath() if trig is not None else None
        if m is None or m.getType() not in (libsbml.AST_RELATIONAL_GEQ, libsbml.AST_RELATIONAL_GT) \
                or m.getChild(0).getType() != libsbml.AST_NAME_TIME or not trig.getPersistent():
            problems.append(f"event {eid}: trigger other than a persistent 'time >= T'")
            continue
        t_text = tr(m.getChild(1), f"event {eid} trigger")
        try:
            t_ev = float(eval(t_text, {"__builtins__": {}, "pow": math.pow, "ln": math.log, "exp": math.exp},
                              dict(values)))  # noqa: S307 - generated from SBML math over parameters
        except Exception:
            problems.append(f"event {eid}: trigger time {libsbml.formulaToL3String(m.getChild(1))!r} "
                            "is not a constant")
            continue
        species = {s.getId() for s in model.getListOfSpecies()}
        for ea in ev.getListOfEventAssignments():
            var = ea.getVariable()
            text = tr(ea.getMath(), f"event {eid} assignment to {var}")
            name = names.get(var, var)
            if var in species:
                def at(x, text=text, name=name):
                    return float(eval(text, {"__builtins__": {}, "pow": math.pow, "ln": math.log,  # noqa: S307
                                             "exp": math.exp}, {**values, name: x}))
                try:
                    amount, f1, f2 = at(0.0), at(1.0), at(2.0)
                except Exception:
                    problems.append(f"event {eid}: assignment to {var} is not 'X * factor + amount' in constants")
                    continue
                factor = f1 - amount
                if abs(f2 - (2 * factor + amount)) > 1e-12 * max(1.0, abs(f2)):
                    problems.append(f"event {eid}: assignment to {var} is not linear in {var}")
                    continue
                out.append(Event(t_ev, name, amount=amount, factor=factor, label=eid))
            else:
                try:
                    value = float(eval(text, {"__builtins__": {}}, dict(values)))  # noqa: S307
                except Exception:
                    problems.append(f"event {eid}: assignment to parameter {var} is not a constant")
                    continue
                out.append(ParameterEvent(t_ev, name, value, label=eid))
    return out
