"""Parameters with value, unit and provenance, and parameter sets that can be printed and diffed.

Values live in ``data/parameters.yaml`` (host-dependent values per physiology preset) and in the
tumour presets; engine code never holds a literal parameter value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.resources import files

import yaml

from exoniche.errors import ModelError, ScenarioError, unknown

PROVENANCE_KINDS = ("measured", "estimated", "calibrated", "scenario")
PHYSIOLOGIES = ("mouse", "human")


@dataclass(frozen=True)
class Parameter:
    """One model parameter.

    ``kind`` is ``measured`` (source names the study), ``estimated`` (source gives the reasoning),
    ``calibrated`` (source names the validation target it was fitted to) or ``scenario`` (set by the
    experiment: a preset's value or a user's intervention; source says which).
    """

    name: str
    value: float
    unit: str
    kind: str
    source: str

    def to_dict(self) -> dict:
        """Return the parameter as a JSON record (name, value, unit, kind, source)."""
        return {"name": self.name, "value": self.value, "unit": self.unit, "kind": self.kind, "source": self.source}


class ParameterSet(Mapping[str, Parameter]):
    """An ordered, immutable collection of parameters; ``with_values`` returns a modified copy."""

    def __init__(self, params: Iterable[Parameter]):
        self._p: dict[str, Parameter] = {}
        for p in params:
            if p.kind not in PROVENANCE_KINDS:
                raise ModelError(f"parameter {p.name}: provenance kind {p.kind!r} not in {PROVENANCE_KINDS}")
            if not isinstance(p.value, (int, float)) or not math.isfinite(p.value):
                raise ModelError(f"parameter {p.name}: value {p.value!r} is not a finite number")
            if not p.unit or not p.source:
                raise ModelError(f"parameter {p.name}: unit and source are required")
            self._p[p.name] = p

    def __getitem__(self, name: str) -> Parameter:
        """Return the parameter ``name``; an unknown name is a :class:`ModelError` with a suggestion."""
        try:
            return self._p[name]
        except KeyError:
            raise unknown("parameter", name, self._p, ModelError, label=None) from None

    def __iter__(self) -> Iterator[str]:
        """Iterate over the parameter names, in declaration order."""
        return iter(self._p)

    def __len__(self) -> int:
        """Return the number of parameters."""
        return len(self._p)

    def value(self, name: str) -> float:
        """Return the value of ``name`` as a float (in its declared unit)."""
        return float(self[name].value)

    def numbers(self) -> dict[str, float]:
        """Parameter name -> value (float)."""
        return {k: float(p.value) for k, p in self._p.items()}

    def with_values(self, changes: Mapping[str, float], source: str = "set by the user") -> ParameterSet:
        """Copy with some values replaced; unknown names and negative values are errors."""
        out = dict(self._p)
        for name, value in changes.items():
            if name not in out:
                raise unknown(f"parameters.{name}", name, out, what="parameter", show_value=False, label=None)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ScenarioError(f"parameters.{name}: value {value!r} must be a finite number >= 0")
            out[name] = replace(out[name], value=float(value), kind="scenario", source=source)
        return ParameterSet(out.values())

    def extended(self, extra: Iterable[Parameter]) -> ParameterSet:
        """Return a new set with ``extra`` parameters added (a later one replaces an earlier of the same name)."""
        return ParameterSet([*self._p.values(), *extra])

    def diff(self, other: ParameterSet) -> list[dict]:
        """Parameters whose value differs between two sets."""
        rows = []
        for name in sorted(set(self) | set(other)):
            a = self._p.get(name)
            b = other._p.get(name)
            va = a.value if a else None
            vb = b.value if b else None
            if va != vb:
                rows.append({"name": name, "a": va, "b": vb, "unit": (a or b).unit})
        return rows

    def to_records(self) -> list[dict]:
        """Return every parameter as a JSON record, in declaration order."""
        return [p.to_dict() for p in self._p.values()]


@lru_cache(maxsize=1)
def _raw_parameters() -> dict:
    text = files("exoniche.biology").joinpath("data/parameters.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


# Multiplicative changes of model parameters in force in this context (robustness re-runs of the
# validation targets): every base parameter set built inside ``scaled_parameters`` carries them.
_SCALED: ContextVar[tuple[tuple[str, float], ...]] = ContextVar("exoniche_scaled_parameters", default=())


@contextmanager
def scaled_parameters(factors: Mapping[str, float]):
    """Within this block, ``base_parameters`` multiplies the named parameters by the given factors."""
    raw = _raw_parameters()
    for name, f in factors.items():
        if name not in raw:
            raise unknown("parameter", name, raw, label=None)
        if not (isinstance(f, (int, float)) and math.isfinite(f) and f > 0):
            raise ScenarioError(f"parameter {name!r}: scale factor {f!r} must be a finite number > 0")
    token = _SCALED.set(tuple({**dict(_SCALED.get()), **factors}.items()))
    try:
        yield
    finally:
        _SCALED.reset(token)


def base_parameters(physiology: str = "human") -> ParameterSet:
    """Return the model's own parameters for a physiology preset (``mouse`` or ``human``)."""
    if physiology not in PHYSIOLOGIES:
        raise unknown("host.physiology", physiology, PHYSIOLOGIES)
    params = []
    scaled = dict(_SCALED.get())
    for name, entry in _raw_parameters().items():
        value = entry["value"]
        if isinstance(value, dict):
            value = value[physiology]
        source = entry["source"]
        if name in scaled:
            value, source = float(value) * scaled[name], f"{source} [scaled x{scaled[name]:g}]"
        params.append(Parameter(name, float(value), entry["unit"], entry["kind"], source))
    return ParameterSet(params)
