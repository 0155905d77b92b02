"""Cell behaviours as data, in PhysiCell's rules grammar (CBHG v3 CSV).

A row reads ``cell type, signal, direction, behavior, saturation value, half-max, Hill power,
applies to dead`` (PhysiCell 1.14 ``parse_csv_rule_v3``). As in PhysiCell's
``Hypothesis_Rule::evaluate``, the up-regulating signals of one behaviour combine as
``H_U = S/(1+S)`` with ``S = sum (s_j / h_j)^n_j``, the down-regulating ones likewise as ``H_D``, and

    behaviour = U + (min - U) * H_D,   U = base + (max - base) * H_U,

where ``max`` (``min``) is the saturation value of the increasing (decreasing) rules and ``base`` is
the cell type's base value. Lines starting with ``//`` or ``#`` are comments; an optional last
column (not read by PhysiCell) names the claims a default rule encodes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from exoniche.errors import DataError, suggest

DIRECTIONS = ("increases", "decreases")


@dataclass(frozen=True)
class Rule:
    """One PhysiCell-style rule: ``signal`` ``direction`` ``behavior`` of ``cell_type`` (a Hill response)."""

    cell_type: str
    signal: str
    direction: str
    behavior: str
    saturation: float
    half_max: float
    hill_power: float
    applies_to_dead: bool = False
    claims: str = ""

    def to_row(self) -> list:
        """Return the rule as a row of PhysiCell's rules CSV."""
        return [self.cell_type, self.signal, self.direction, self.behavior, f"{self.saturation:g}",
                f"{self.half_max:g}", f"{self.hill_power:g}", str(int(self.applies_to_dead))]


def parse_rules(lines, source: str = "<rules>", cell_types=None, signals=None, behaviors=None) -> list[Rule]:
    """Parse rule rows (an iterable of CSV text lines); errors name the line and the field."""
    rules = []
    for no, row in enumerate(csv.reader(lines), start=1):
        if not row or not "".join(row).strip() or row[0].strip().startswith(("//", "#")):
            continue
        row = [c.strip() for c in row]
        where = f"{source}: line {no}"
        if len(row) not in (8, 9):
            raise DataError(f"{where}: {len(row)} columns; a rule has 8 (cell type, signal, direction, behavior, "
                            "saturation value, half-max, Hill power, applies to dead)")
        ct, sig, direction, beh = row[:4]
        for name, value, allowed in (("cell type", ct, cell_types), ("signal", sig, signals),
                                     ("behavior", beh, behaviors)):
            if allowed is not None and value not in allowed:
                raise DataError(f"{where}: {name}: unknown value {value!r}{suggest(value, allowed)}; allowed: "
                                f"{', '.join(sorted(allowed))}")
        if direction not in DIRECTIONS:
            raise DataError(f"{where}: direction: {direction!r}; allowed: increases, decreases")
        try:
            sat, half, hill = (float(v) for v in row[4:7])
            dead = bool(float(row[7]))
        except ValueError:
            raise DataError(f"{where}: saturation value, half-max, Hill power and applies-to-dead must be "
                            "numbers") from None
        if half <= 0 or hill <= 0 or not np.isfinite(sat):
            raise DataError(f"{where}: half-max and Hill power must be > 0 (got {half:g}, {hill:g})")
        rules.append(Rule(ct, sig, direction, beh, sat, half, hill, dead, row[8] if len(row) == 9 else ""))
    return rules


def load_rules(path: str | Path, **allowed) -> list[Rule]:
    """Read a PhysiCell ``cell_rules.csv`` (v3)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read rules ({exc.strerror})") from None
    return parse_rules(text.splitlines(), str(path), **allowed)


def write_rules(rules: list[Rule], path: str | Path) -> None:
    """Write ``rules`` as PhysiCell's rules CSV."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(r.to_row() for r in rules)


class RuleSet:
    """Rules grouped by (cell type, behaviour) and evaluated for many cells at once."""

    def __init__(self, rules: list[Rule], base: dict[tuple[str, str], float]):
        self.rules = list(rules)
        self.groups: dict[tuple[str, str], list[Rule]] = {}
        for r in self.rules:
            self.groups.setdefault((r.cell_type, r.behavior), []).append(r)
        self.base = base

    def behaviors(self) -> set[str]:
        """Return the behaviours some rule changes."""
        return {b for _, b in self.groups}

    def evaluate(self, cell_type: str, behavior: str, signals: dict[str, np.ndarray], n: int) -> np.ndarray:
        """Behaviour value for ``n`` cells of ``cell_type`` given their signals (arrays of length n)."""
        base = self.base.get((cell_type, behavior), 0.0)
        rules = self.groups.get((cell_type, behavior))
        if not rules:
            return np.full(n, base)
        up = [r for r in rules if r.direction == "increases"]
        down = [r for r in rules if r.direction == "decreases"]
        out = np.full(n, base)
        if up:
            s = sum((np.maximum(signals[r.signal], 0.0) / r.half_max) ** r.hill_power for r in up)
            out = base + (up[0].saturation - base) * s / (1.0 + s)
        if down:
            s = sum((np.maximum(signals[r.signal], 0.0) / r.half_max) ** r.hill_power for r in down)
            out = out + (down[0].saturation - out) * s / (1.0 + s)
        return out
