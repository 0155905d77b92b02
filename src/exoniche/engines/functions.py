"""Turn a declared mechanism into Python functions (right-hand side, rates, expressions, initial state).

The rate laws are strings in the shared Python / SBML-L3 formula syntax; we generate one Python
function from them (straight-line code, no interpretation per call), so that the same declaration
feeds SciPy here and libRoadRunner through SBML.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from exoniche.biology import Mechanism
from exoniche.biology.parameters import ParameterSet
from exoniche.errors import ModelError

_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
_FUNCTIONS = {"ln", "pow", "exp", "piecewise"}


def _pow(a: float, b: float) -> float:
    # Solver trial steps may dip a few ulps below zero; a fractional power of those must not raise.
    return math.pow(a, b) if a > 0 else 0.0


def _piecewise(value: float, condition: bool, otherwise: float) -> float:
    # SBML's piecewise(value, condition, otherwise) with one condition (imported SBML models)
    return value if condition else otherwise


SCALAR_NAMESPACE = {"ln": math.log, "exp": math.exp, "pow": _pow, "piecewise": _piecewise}
ARRAY_NAMESPACE = {"ln": np.log, "exp": np.exp, "pow": lambda a, b: np.power(np.maximum(a, 0.0), b),
                   "piecewise": np.where}


def identifiers(formula: str) -> set[str]:
    """Names a formula refers to (parameters, species, expressions), without functions and number literals."""
    return {m.group(0) for m in _IDENT.finditer(formula) if not re.fullmatch(r"\d+e\d*", m.group(0))} - _FUNCTIONS


def derivative(stoich: np.ndarray, i: int) -> str:
    """Return the generated source of species ``i``'s derivative: its processes' rates ``r<j>`` x stoichiometry."""
    terms = []
    for j in np.nonzero(stoich[i])[0]:
        v = stoich[i, j]
        terms.append(f"r{j}" if v == 1 else f"-r{j}" if v == -1 else f"{float(v)!r}*r{j}")
    return " + ".join(terms) if terms else "0.0"


def declaration_key(mech: Mechanism, params) -> str:
    """Return a stable key of a mechanism's declaration and a parameter-name order (a SHA-256 digest).

    Kernel caches are keyed on it: equal declarations share a kernel, and a new mechanism object that happens
    to reuse a freed object's ``id`` cannot pick up a stale one.
    """
    parts = [("species", s.name, s.initial, repr(float(s.scale))) for s in mech.species]
    parts += [("expression", e.name, e.formula) for e in mech.expressions]
    parts += [("process", p.name, p.rate, tuple(sorted((k, repr(float(v))) for k, v in p.stoich.items())))
              for p in mech.processes]
    parts.append(("parameters", *params))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def state_dependent(mech: Mechanism, species) -> set[str]:
    """Names of the mechanism's expressions that depend (directly or through others) on a species."""
    sset = set(species)
    dep: set[str] = set()
    for e in mech.expressions:
        ids = identifiers(e.formula)
        if ids & sset or ids & dep:
            dep.add(e.name)
    return dep


@dataclass
class MechanismFunctions:
    """Generated functions for one mechanism and one ordering of parameters (what every engine integrates)."""

    species: list[str]
    parameters: list[str]
    expressions: list[str]
    rhs: Callable  # rhs(t, y_list, p_list) -> list of derivatives
    rates: Callable  # rates(t, y_list, p_list) -> list of process rates
    evaluate: Callable  # evaluate(y, p) -> dict of expression values (y may be 2-D: species x time)
    stoich: np.ndarray  # species x processes
    sparsity: np.ndarray  # species x species dependency pattern of the right-hand side
    initial: Callable  # initial(p_list) -> list of initial amounts
    scales: np.ndarray

    def param_vector(self, params: ParameterSet) -> list[float]:
        """Values of ``self.parameters`` taken from ``params``, in order."""
        values = params.numbers()
        try:
            return [values[name] for name in self.parameters]
        except KeyError as exc:
            raise ModelError(f"parameter set lacks {exc.args[0]!r} needed by the mechanism") from None


def compile_mechanism(mech: Mechanism, params: ParameterSet) -> MechanismFunctions:
    """Generate the right-hand side and helpers for ``mech`` with parameter names from ``params``.

    Parameters
    ----------
    mech : Mechanism
        The declared species, expressions and processes.
    params : ParameterSet or iterable of str
        Parameter names (their order sets the order of the parameter vector; unused names are dropped).

    Returns
    -------
    MechanismFunctions
        Scalar ``rhs``/``rates``/``initial``, array ``evaluate``, stoichiometry, Jacobian sparsity, scales.
    """
    species = mech.species_names()
    exprs = [e.name for e in mech.expressions]
    pnames = _used_parameters(mech, species, exprs, params)
    sidx = {s: i for i, s in enumerate(species)}
    deps = _species_dependencies(mech, sidx)

    def header(array: bool) -> list[str]:
        lines = [f"    {name} = p[{i}]" for i, name in enumerate(pnames)]
        if array:
            lines += [f"    {name} = y[{i}]" for i, name in enumerate(species)]
        else:
            # Amounts are non-negative; a solver trial state a few ulps below zero (e.g. a resected primary
            # at 0 g) is read as 0 so that ln() and pow() in the rate laws stay defined. This changes nothing
            # for non-negative states, so the math equals the SBML export's.
            lines += [f"    {name} = y[{i}] if y[{i}] > 0.0 else 0.0" for i, name in enumerate(species)]
        lines += [f"    {e.name} = {e.formula}" for e in mech.expressions]
        return lines

    rate_lines = [f"    r{j} = {p.rate}" for j, p in enumerate(mech.processes)]
    stoich = _stoichiometry(mech, sidx)
    deriv = [derivative(stoich, i) for i in range(len(species))]
    src = ["def rhs(t, y, p):", *header(False), *rate_lines, "    return [" + ", ".join(deriv) + "]", ""]
    src += ["def rates(t, y, p):", *header(False), *rate_lines,
            "    return [" + ", ".join(f"r{j}" for j in range(len(mech.processes))) + "]", ""]
    src += ["def evaluate(y, p):", *header(True),
            "    return {" + ", ".join(f"{e!r}: {e}" for e in exprs) + "}", ""]
    # Initial amounts may use named expressions that depend on parameters only (e.g. quasi-steady states).
    param_only = [e for e in mech.expressions if not deps[e.name]]
    src += ["def initial(p):", *[f"    {name} = p[{i}]" for i, name in enumerate(pnames)],
            *[f"    {e.name} = {e.formula}" for e in param_only],
            "    return [" + ", ".join(s.initial for s in mech.species) + "]", ""]
    code = "\n".join(src)
    ns_scalar: dict = dict(SCALAR_NAMESPACE)
    exec(compile(code, "<exoniche-mechanism>", "exec"), ns_scalar)
    ns_array: dict = dict(ARRAY_NAMESPACE)
    exec(compile(code, "<exoniche-mechanism-array>", "exec"), ns_array)

    sparsity = _sparsity(mech, sidx, deps, stoich)
    return MechanismFunctions(
        species=species,
        parameters=pnames,
        expressions=exprs,
        rhs=ns_scalar["rhs"],
        rates=ns_scalar["rates"],
        evaluate=ns_array["evaluate"],
        stoich=stoich,
        sparsity=sparsity,
        initial=ns_scalar["initial"],
        scales=np.array([s.scale for s in mech.species]),
    )


def _used_parameters(mech: Mechanism, species, exprs, params) -> list[str]:
    """Parameter names (in ``params`` order) the formulas use; an undefined name is a ModelError."""
    known = set(species) | set(exprs) | set(params)
    used: set[str] = set()
    for text in [e.formula for e in mech.expressions] + [p.rate for p in mech.processes] + [
        s.initial for s in mech.species
    ]:
        ids = identifiers(text)
        missing = ids - known
        if missing:
            raise ModelError(f"mechanism refers to undefined names: {sorted(missing)}")
        used |= ids
    return [p for p in params if p in used]


def _species_dependencies(mech: Mechanism, sidx: dict) -> dict[str, set[int]]:
    """Per expression, the species it depends on (directly or through other expressions)."""
    deps: dict[str, set[int]] = {}
    for e in mech.expressions:
        deps[e.name] = _species_in(e.formula, sidx, deps)
    return deps


def _species_in(formula: str, sidx: dict, deps: dict) -> set[int]:
    """Rows of the species ``formula`` uses, directly or through the expressions in ``deps``."""
    out: set[int] = set()
    for ident in identifiers(formula):
        if ident in sidx:
            out.add(sidx[ident])
        elif ident in deps:
            out |= deps[ident]
    return out


def _stoichiometry(mech: Mechanism, sidx: dict) -> np.ndarray:
    stoich = np.zeros((len(sidx), len(mech.processes)))
    for j, proc in enumerate(mech.processes):
        for s, v in proc.stoich.items():
            if s not in sidx:
                raise ModelError(f"process {proc.name} changes unknown species {s!r}")
            stoich[sidx[s], j] = v
    return stoich


def _sparsity(mech: Mechanism, sidx: dict, deps: dict, stoich: np.ndarray) -> np.ndarray:
    """Species x species dependency pattern of the right-hand side (diagonal included)."""
    species = list(sidx)
    sparsity = np.zeros((len(species), len(species)), dtype=bool)
    for j, proc in enumerate(mech.processes):
        cols = _species_in(proc.rate, sidx, deps)
        for i in np.nonzero(stoich[:, j])[0]:
            for c in cols:
                sparsity[i, c] = True
    np.fill_diagonal(sparsity, True)
    return sparsity
