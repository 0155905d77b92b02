"""One organ's niche in tissue: fields + cells + rules, stepped as PhysiCell steps (diffusion, mechanics,
phenotype), driven by arrival rates of exosomes and tumour cells over time.

``TissueSetup`` says what to simulate (organ, size, voxel, days, cells, cargo, arrival rates, rules);
``run_tissue(setup)`` returns a :class:`TissueResult` (per-day niche indices, cell counts, uptake shares,
colonies founded, cell tables and field snapshots). Units inside: µm, min; arrivals are given per day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files

import numba
import numpy as np
import pandas as pd
import xarray as xr
import yaml

from exoniche.engines.tissue import cells as ck
from exoniche.engines.tissue.diffusion import FACES, Solver
from exoniche.engines.tissue.rules import Rule, RuleSet, load_rules, parse_rules
from exoniche.errors import ModelError, ScenarioError, suggest

SUBSTRATES = ("exo_tumour", "exo_injected", "oxygen", "vegf", "tgfb", "ccl2", "s100")
EXOSOMES = ("exo_tumour", "exo_injected")
MIN_PER_DAY = 1440.0
UM3_PER_G = 1e12  # tissue density ~1 g/mL


@lru_cache(maxsize=1)
def tissue_parameters() -> dict:
    """The tissue parameter file (value, unit, provenance for every entry)."""
    return yaml.safe_load(files("exoniche.engines.tissue").joinpath("data/tissue.yaml").read_text(encoding="utf-8"))


def _p(name: str) -> float:
    return float(tissue_parameters()[name]["value"])


def cell_types() -> tuple[str, ...]:
    return tuple(tissue_parameters()["cell_types"])


def organs() -> tuple[str, ...]:
    return tuple(tissue_parameters()["organs"])


def signals() -> set[str]:
    return set(SUBSTRATES) | {f"intracellular {s}" for s in EXOSOMES} | {
        "exosomal pdl1", "fibronectin", "pressure", "contact with tumour", "time"}


def behaviours() -> set[str]:
    return {f"{s} secretion" for s in SUBSTRATES} | {f"chemotactic response to {s}" for s in SUBSTRATES} | {
        "cycle entry", "apoptosis", "attack tumour", "migration speed", "custom:s100_expression",
        "custom:permeability", "custom:fibronectin_deposition", "custom:recruitment"}


def default_rules() -> list[Rule]:
    text = files("exoniche.engines.tissue").joinpath("data/cell_rules.csv").read_text(encoding="utf-8")
    return parse_rules(text.splitlines(), "cell_rules.csv (default)", cell_types(), signals(), behaviours())


def rules_from_file(path) -> list[Rule]:
    return load_rules(path, cell_types=cell_types(), signals=signals(), behaviors=behaviours())


@dataclass
class Arrivals:
    """Arrival rates into the organ over time, per g of organ: ``days`` and, per day, tumour exosomes,
    injected exosomes (particles/g/day) and tumour cells (cells/g/day)."""

    days: np.ndarray
    exo_tumour: np.ndarray
    exo_injected: np.ndarray
    ctc: np.ndarray

    def at(self, day: float) -> tuple[float, float, float]:
        return tuple(float(np.interp(day, self.days, getattr(self, k))) for k in ("exo_tumour", "exo_injected", "ctc"))


@dataclass
class TissueSetup:
    """What one tissue run simulates.

    organ : lung or liver; size_um : (x, y[, z]) edge lengths (2-D if z absent or one voxel);
    voxel_um : voxel edge; days : duration; cells : overrides of the organ's composition (type -> count);
    cargo_tumour / cargo_injected : cargo levels of the two exosome populations; arrivals : rates over time;
    rules : behaviour rules (default: data/cell_rules.csv); dt_* : the three PhysiCell time steps (min).
    """

    organ: str = "lung"
    size_um: tuple[float, ...] = (1000.0, 1000.0)
    voxel_um: float = 20.0
    days: float = 7.0
    cells: dict[str, int] = field(default_factory=dict)
    cargo_tumour: dict[str, float] = field(default_factory=dict)
    cargo_injected: dict[str, float] = field(default_factory=dict)
    arrivals: Arrivals | None = None
    rules: list[Rule] | None = None
    seed: int = 1
    save_every_days: float = 1.0
    dt_diffusion: float = 1.0
    dt_mechanics: float = 1.0
    dt_phenotype: float = 6.0
    threads: int | None = None
    diffusion: dict[str, float] = field(default_factory=dict)  # substrate -> µm^2/min, overrides tissue.yaml

    def validate(self) -> None:
        for k, v in self.diffusion.items():
            if k not in SUBSTRATES:
                raise ScenarioError(f"tissue.diffusion_um2_per_min.{k}: unknown substrate{suggest(k, SUBSTRATES)}; "
                                    f"allowed: {', '.join(SUBSTRATES)}")
            if not np.isfinite(v) or v < 0:
                raise ScenarioError(f"tissue.diffusion_um2_per_min.{k}: {v!r} must be >= 0 µm^2/min")
        if self.organ not in organs():
            raise ScenarioError(f"tissue.organ: unknown value {self.organ!r}{suggest(self.organ, organs())}; "
                                f"allowed: {', '.join(organs())}")
        if len(self.size_um) not in (2, 3) or any(not np.isfinite(s) or s <= 0 for s in self.size_um):
            raise ScenarioError(f"tissue.size_um: {list(self.size_um)} must be 2 or 3 positive lengths (µm)")
        if not np.isfinite(self.voxel_um) or self.voxel_um <= 0:
            raise ScenarioError(f"tissue.voxel_um: {self.voxel_um!r} must be a positive length (µm)")
        for i, s in enumerate(self.size_um):
            if self.voxel_um > s:
                raise ScenarioError(f"tissue.voxel_um: {self.voxel_um:g} µm is larger than the domain "
                                    f"(size_um[{i}] = {s:g} µm); allowed: <= {min(self.size_um):g}")
        if not np.isfinite(self.days) or self.days <= 0:
            raise ScenarioError(f"tissue.days: {self.days!r} must be a positive number of days")
        for k, v in self.cells.items():
            if k not in cell_types():
                raise ScenarioError(f"tissue.cells.{k}: unknown cell type{suggest(k, cell_types())}; allowed: "
                                    f"{', '.join(cell_types())}")
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ScenarioError(f"tissue.cells.{k}: {v!r} must be a non-negative integer (cells)")
        n = self.grid_shape()
        if int(np.prod(n)) > 4_000_000:
            raise ScenarioError(f"tissue.voxel_um: {self.voxel_um:g} µm gives {int(np.prod(n))} voxels; "
                                "allowed: at most 4e6 (use larger voxels or a smaller domain)")

    def grid_shape(self) -> tuple[int, int, int]:
        nx = max(1, int(round(self.size_um[0] / self.voxel_um)))
        ny = max(1, int(round(self.size_um[1] / self.voxel_um)))
        nz = max(1, int(round(self.size_um[2] / self.voxel_um))) if len(self.size_um) == 3 else 1
        return nz, ny, nx


@dataclass
class TissueResult:
    """Per saved day: ``daily`` (niche indices, counts by type, uptake shares, colonies), ``cells`` (one
    table per saved time), ``fields`` (xarray Dataset over time, z, y, x), ``events`` (first arrivals)."""

    setup: TissueSetup
    daily: pd.DataFrame
    cells: pd.DataFrame
    fields: xr.Dataset
    events: dict

    def to_dict(self) -> dict:
        return {"organ": self.setup.organ, "days": self.daily.to_dict(orient="records"), "events": self.events}


class _Tissue:
    """The state of one run (struct of arrays) and its step functions."""

    def __init__(self, s: TissueSetup):
        s.validate()
        self.s = s
        P = tissue_parameters()
        self.types = cell_types()
        self.tid = {t: i for i, t in enumerate(self.types)}
        self.organ = P["organs"][s.organ]
        self.shape = s.grid_shape()
        nz, ny, nx = self.shape
        self.dx = s.voxel_um
        self.lo = np.zeros(3)
        self.hi = np.array([nx * self.dx, ny * self.dx, nz * self.dx])
        self.three_d = nz > 1
        self.vvox = self.dx**3
        self.tissue_g = float(np.prod(self.hi)) / UM3_PER_G
        sub = P["substrates"]
        D = [float(s.diffusion.get(k, sub[k]["diffusion_um2_per_min"]["value"])) for k in SUBSTRATES]
        lam = [float(sub[k]["decay_per_min"]["value"]) for k in SUBSTRATES]
        self.solver = Solver(self.shape, self.dx, D, lam, dirichlet=[()] * len(SUBSTRATES))
        self.fields = np.zeros((len(SUBSTRATES), *self.shape))
        self.fields[SUBSTRATES.index("oxygen")] = _p("oxygen_vessel_mmhg")
        self.fn = np.ones(self.shape)  # fibronectin (fold), non-diffusing
        self.rng = np.random.default_rng(s.seed)  # placement only; per-cell draws are counter-based
        self.ruleset = RuleSet(s.rules if s.rules is not None else default_rules(), self._base_values())
        self.step_no = 0
        self.next_uid = 0
        self._alloc()
        self._place()
        self.bmdc0 = max(1, int(np.sum(self.type == self.tid["macrophage"])))

    # ------------------------------------------------------------------ state
    def _alloc(self):
        self.pos = np.zeros((0, 3))
        self.vprev = np.zeros((0, 3))
        self.mot = np.zeros((0, 3))
        self.type = np.zeros(0, dtype=np.int64)
        self.uid = np.zeros(0, dtype=np.int64)
        self.internal = np.zeros((0, 2))  # internalised exosomes (particles) now
        self.taken = np.zeros((0, 2))  # cumulative internalised
        self.s100 = np.zeros(0)
        self.perm = np.zeros(0)
        self.clone = np.zeros(0, dtype=np.int64)
        self.arrested = np.zeros(0)  # minutes since arrival for tumour cells still in the vessel (-1 = out)
        self.taken_by_type = np.zeros((len(self.types), 2))
        self.secretion = np.zeros((0, len(SUBSTRATES)))
        self.speed = np.zeros(0)
        self.bias = np.zeros(0)
        self.chem = np.zeros(0, dtype=np.int64)

    def _add(self, kind: str, pos: np.ndarray, clone: int = -1, arrested: float = -1.0):
        n = pos.shape[0]
        uid = np.arange(self.next_uid, self.next_uid + n)
        self.next_uid += n
        self.pos = np.vstack([self.pos, pos])
        self.vprev = np.vstack([self.vprev, np.zeros((n, 3))])
        self.mot = np.vstack([self.mot, np.zeros((n, 3))])
        self.type = np.concatenate([self.type, np.full(n, self.tid[kind])])
        self.uid = np.concatenate([self.uid, uid])
        self.internal = np.vstack([self.internal, np.zeros((n, 2))])
        self.taken = np.vstack([self.taken, np.zeros((n, 2))])
        self.s100 = np.concatenate([self.s100, np.ones(n)])
        self.perm = np.concatenate([self.perm, np.ones(n)])
        self.clone = np.concatenate([self.clone, uid if clone == -2 else np.full(n, clone)])
        self.arrested = np.concatenate([self.arrested, np.full(n, arrested)])
        self.secretion = np.vstack([self.secretion, np.zeros((n, len(SUBSTRATES)))])
        self.speed = np.concatenate([self.speed, np.zeros(n)])
        self.bias = np.concatenate([self.bias, np.zeros(n)])
        self.chem = np.concatenate([self.chem, np.full(n, -1, dtype=np.int64)])

    def _keep(self, keep: np.ndarray):
        for name in ("pos", "vprev", "mot", "type", "uid", "internal", "taken", "s100", "perm", "clone", "arrested",
                     "secretion", "speed", "bias", "chem"):
            setattr(self, name, getattr(self, name)[keep])

    def _random_pos(self, n):
        p = self.rng.random((n, 3)) * self.hi
        if not self.three_d:
            p[:, 2] = self.hi[2] / 2
        return p

    def _place(self):
        s = self.s
        nz, ny, nx = self.shape
        nvox = nz * ny * nx
        n_vessel = max(1, int(round(_p("vessel_voxel_fraction") * nvox)))
        vox = np.sort(self.rng.choice(nvox, size=n_vessel, replace=False))
        self.vessel_vox = vox
        iz, iy, ix = np.unravel_index(vox, self.shape)
        vpos = np.column_stack([(ix + 0.5) * self.dx, (iy + 0.5) * self.dx, (iz + 0.5) * self.dx])
        if not self.three_d:
            vpos[:, 2] = self.hi[2] / 2
        self._add("endothelial", vpos)
        area_mm2 = self.hi[0] * self.hi[1] / 1e6 * (self.hi[2] / self.dx if self.three_d else 1.0)
        total = _p("resident_cells_per_mm2") * area_mm2
        counts = {k: int(round(total * f)) for k, f in self.organ["composition"].items()}
        counts.update(s.cells)
        for kind in self.types:
            if kind not in ("endothelial",) and counts.get(kind, 0) > 0:
                self._add(kind, self._random_pos(counts[kind]), clone=-2 if kind == "tumour" else -1)

    def _base_values(self) -> dict:
        P = tissue_parameters()
        out = {}
        for beh, per_type in P["behaviour_base"].items():
            for t, v in per_type.items():
                out[(t, beh)] = float(v)
        for t, d in P["cell_types"].items():
            out[(t, "migration speed")] = float(d["speed"])
        return out

    # ------------------------------------------------------------------ coupling rates per cell
    def _uptake_rates(self) -> np.ndarray:
        """Exosome uptake rate (1/min) of every cell for the two populations; integrin match on target cells."""
        basal = float(tissue_parameters()["uptake"]["basal_uptake_per_min"]["value"])
        gain = float(tissue_parameters()["uptake"]["zip_gain"]["value"])
        zips = self.organ["zip_cargo"]
        target = self.type == self.tid[self.organ["target"]]
        out = np.full((self.type.size, 2), basal)
        for k, cargo in enumerate((self.s.cargo_tumour, self.s.cargo_injected)):
            match = sum(float(cargo.get(z, 0.0)) for z in zips)
            out[target, k] *= 1.0 + gain * match
        out[self.type == self.tid["endothelial"]] *= 0.5  # vessel wall: half a cell's volume faces the tissue
        return out

    # ------------------------------------------------------------------ phenotype (rules)
    def _signals(self, vox, pressure, contact, t_min) -> dict:
        flat = self.fields.reshape(len(SUBSTRATES), -1)
        sig = {name: flat[i, vox] for i, name in enumerate(SUBSTRATES)}
        vcell = 4 / 3 * np.pi * _p("cell_radius_um") ** 3
        sig["intracellular exo_tumour"] = self.internal[:, 0]
        sig["intracellular exo_injected"] = self.internal[:, 1]
        sig["exosomal pdl1"] = (flat[0, vox] * self.s.cargo_tumour.get("pdl1", 0.0) +
                                flat[1, vox] * self.s.cargo_injected.get("pdl1", 0.0)) * vcell
        sig["fibronectin"] = self.fn.reshape(-1)[vox]
        sig["pressure"] = pressure
        sig["contact with tumour"] = contact.astype(float)
        sig["time"] = np.full(vox.size, t_min)
        return sig

    def _behaviours(self, sig: dict) -> dict[str, np.ndarray]:
        """Every behaviour for every cell: the rule set per cell type, base values elsewhere."""
        out = {beh: np.zeros(self.type.size) for beh in behaviours()}
        for k, t in enumerate(self.types):
            sel = np.flatnonzero(self.type == k)
            if not sel.size:
                continue
            sub = None
            for beh in out:
                if (t, beh) in self.ruleset.groups:
                    sub = sub or {n: v[sel] for n, v in sig.items()}
                    out[beh][sel] = self.ruleset.evaluate(t, beh, sub, sel.size)
                else:
                    out[beh][sel] = self.ruleset.base.get((t, beh), 0.0)
        return out

    def phenotype(self, t_min, vox, pressure, contact, arrivals_ctc_per_min):
        s, dt = self.s, self.s.dt_phenotype
        sig = self._signals(vox, pressure, contact, t_min)
        b = self._behaviours(sig)
        # relaxing states (fold indices) towards their rule-set targets
        k_s = _p("s100_relax_per_min")
        self.s100 += (1 - np.exp(-k_s * dt)) * (np.maximum(b["custom:s100_expression"], 1.0) - self.s100)
        k_p = _p("permeability_relax_per_min")
        endo = self.type == self.tid["endothelial"]
        self.perm[endo] += (1 - np.exp(-k_p * dt)) * (b["custom:permeability"][endo] - self.perm[endo])
        # fibronectin deposition into the cell's voxel, turnover towards the healthy level
        dep = ck.accumulate(vox, (b["custom:fibronectin_deposition"] * dt)[:, None], self.fn.size)[0]
        fn = self.fn.reshape(-1)
        fn += dep - (1 - np.exp(-_p("fn_turnover_per_min") * dt)) * (fn - 1.0)
        # internalised cargo degraded
        self.internal *= np.exp(-_p("internal_turnover_per_min") * dt)
        self.secretion = np.column_stack([b[f"{x} secretion"] for x in SUBSTRATES])
        self.speed = b["migration speed"]
        self.bias = np.zeros(self.type.size)
        self.chem = np.full(self.type.size, -1, dtype=np.int64)
        for k, t in enumerate(self.types):
            sub = tissue_parameters()["cell_types"][t]["chemotaxis"]
            if sub:
                sel = self.type == k
                self.chem[sel] = SUBSTRATES.index(sub)
                self.bias[sel] = b[f"chemotactic response to {sub}"][sel]
        step = self.step_no
        u = lambda stream: ck.uniforms(s.seed, self.uid, step, stream)  # noqa: E731
        # tumour cells in the vessel: extravasate (rate ~ permeability of the nearest vessel) or die
        tum = self.type == self.tid["tumour"]
        inside = tum & (self.arrested >= 0)
        p_ex = 1 - np.exp(-_p("extravasation_per_min") * dt * self._local_perm(vox))
        out_now = inside & (u(10) < p_ex)
        self.arrested[out_now] = -1.0
        self.arrested[inside & ~out_now] += dt
        die_vessel = inside & ~out_now & (self.arrested > _p("ctc_dwell_min"))
        # killing: a tumour cell touched by attacking cells
        attack = b["attack tumour"]
        kill = np.zeros(self.type.size, dtype=bool)
        if tum.any():
            killers = (self.type == self.tid["cd8_t"]) | (self.type == self.tid["nk"])
            kill = self._killed(vox, attack, killers, tum, dt, u(11))
        dies = (u(12) < 1 - np.exp(-b["apoptosis"] * dt)) | die_vessel | kill
        divides = (u(13) < 1 - np.exp(-b["cycle entry"] * dt)) & ~dies & (self.arrested < 0)
        # recruitment of BMDCs at vessels
        rec = (u(14) < 1 - np.exp(-b["custom:recruitment"] * dt)) & endo
        parents = np.flatnonzero(divides)
        new_pos = self.pos[parents] + self._jitter(parents, step)
        new_types = self.type[parents]
        new_clone = self.clone[parents]
        rec_pos = self.pos[rec] + self._jitter(np.flatnonzero(rec), step)
        self._keep(~dies)
        for kind_id in np.unique(new_types):
            sel = new_types == kind_id
            self._add(self.types[kind_id], new_pos[sel])
            self.clone[-int(sel.sum()):] = new_clone[sel]
        if len(rec_pos):
            self._add("macrophage", rec_pos)
        # arriving tumour cells (Poisson, seeded by the step counter)
        lam = arrivals_ctc_per_min * dt
        n_new = np.random.default_rng([s.seed, step, 7]).poisson(lam) if lam > 0 else 0
        if n_new:
            pick = np.random.default_rng([s.seed, step, 8]).integers(0, self.vessel_vox.size, n_new)
            iz, iy, ix = np.unravel_index(self.vessel_vox[pick], self.shape)
            p = np.column_stack([(ix + 0.5) * self.dx, (iy + 0.5) * self.dx, (iz + 0.5) * self.dx])
            if not self.three_d:
                p[:, 2] = self.hi[2] / 2
            self._add("tumour", p, clone=-2, arrested=0.0)
        self.step_no += 1
        return n_new

    def _jitter(self, parents, step):
        r = _p("cell_radius_um")
        th = 2 * np.pi * ck.uniforms(self.s.seed, self.uid[parents], step, 20)
        cz = 2 * ck.uniforms(self.s.seed, self.uid[parents], step, 21) - 1 if self.three_d else np.zeros(parents.size)
        sz = np.sqrt(1 - cz**2)
        return r * np.column_stack([sz * np.cos(th), sz * np.sin(th), cz])

    def _local_perm(self, vox):
        endo = self.type == self.tid["endothelial"]
        perm_vox = np.ones(int(np.prod(self.shape)))
        perm_vox[vox[endo]] = self.perm[endo]
        return perm_vox[vox]

    def _killed(self, vox, attack, killers, tum, dt, draws):
        # a tumour cell is killed with probability 1 - exp(-sum of attack rates of killers in its voxel * dt)
        rate_vox = ck.accumulate(vox, np.where(killers, attack, 0.0)[:, None], int(np.prod(self.shape)))[0]
        p = 1 - np.exp(-rate_vox[vox] * dt)
        return tum & (self.arrested < 0) & (draws < p)

    # ------------------------------------------------------------------ transport
    def transport(self, t_min, exo_rates_per_min):
        s = self.s
        n_mech = max(1, int(round(s.dt_phenotype / s.dt_mechanics)))
        n_diff = max(1, int(round(s.dt_mechanics / s.dt_diffusion)))
        radius = np.full(self.type.size, _p("cell_radius_um"))
        rep = np.full(self.type.size, _p("repulsion_um_per_min"))
        adh = np.full(self.type.size, _p("adhesion_um_per_min"))
        movable = np.array([tissue_parameters()["cell_types"][self.types[k]]["movable"] for k in self.type],
                           dtype=np.bool_) & (self.arrested < 0)
        is_tum = self.type == self.tid["tumour"]
        pressure = np.zeros(self.type.size)
        contact = np.zeros(self.type.size, dtype=np.int64)
        persistence = np.array([float(tissue_parameters()["cell_types"][self.types[k]]["persistence"])
                                for k in self.type])
        uptake = self._uptake_rates()
        vcell = 4 / 3 * np.pi * radius**3
        nvox = int(np.prod(self.shape))
        vessel_q = np.zeros((len(SUBSTRATES), nvox))
        endo = self.type == self.tid["endothelial"]
        vox0 = ck.voxel_index(self.pos, self.lo, self.dx, np.array(self.shape))
        perm_total = self.perm[endo].sum()
        for k, rate in enumerate(exo_rates_per_min):
            if rate > 0:
                np.add.at(vessel_q[k], vox0[endo], rate * self.perm[endo] / perm_total / self.vvox)
        o2 = SUBSTRATES.index("oxygen")
        sec_vox_extra = np.zeros((len(SUBSTRATES), nvox))
        sec_vox_extra[o2, self.vessel_vox] = _p("oxygen_vessel_exchange_per_min")
        tgt = np.zeros((len(SUBSTRATES), nvox))
        tgt[o2, self.vessel_vox] = _p("oxygen_vessel_mmhg")
        cell_up = np.zeros((self.type.size, len(SUBSTRATES)))
        cell_up[:, :2] = uptake
        cell_up[:, o2] = _p("oxygen_uptake_per_min")
        sub_index = np.array([0, 1], dtype=np.int64)
        par = self.type.size >= ck.PARALLEL_MIN_CELLS
        update_motility = ck.update_motility_parallel if par else ck.update_motility_serial
        mechanics = ck.mechanics_parallel if par else ck.mechanics_serial
        for m in range(n_mech):
            step = self.step_no * n_mech + m
            update_motility(self.mot, self.pos, self.uid, self.speed, self.bias, persistence, self.chem,
                               self.fields, self.lo, self.dx, np.array(self.shape), s.seed, step, s.dt_mechanics,
                               self.three_d)
            mechanics(self.pos, self.vprev, self.mot, radius, rep, adh, movable, self.lo, self.hi,
                         _p("max_adhesion_distance_rel"), s.dt_mechanics, pressure, contact, is_tum)
            vox = ck.voxel_index(self.pos, self.lo, self.dx, np.array(self.shape))
            frac = (vcell / self.vvox)[:, None]
            U = ck.accumulate(vox, cell_up * frac, nvox)
            Sv = ck.accumulate(vox, self.secretion * frac, nvox)
            S = Sv + sec_vox_extra
            T = np.where(S > 0, (Sv * 1.0 + sec_vox_extra * tgt) / np.where(S > 0, S, 1.0), 0.0)
            shp = (len(SUBSTRATES), *self.shape)
            S4, T4, U4, Q4 = (a.reshape(shp) for a in (S, T, U, vessel_q))
            for _ in range(n_diff):
                self.solver.step(self.fields, s.dt_diffusion, S4, T4, U4, Q4)
                before = self.internal.copy()
                ck.internalise(self.internal, vox, uptake * vcell[:, None], self.fields.reshape(len(SUBSTRATES), -1),
                               s.dt_diffusion, sub_index)
                got = self.internal - before
                self.taken += got
                np.add.at(self.taken_by_type, self.type, got)
        return vox, pressure, contact

    # ------------------------------------------------------------------ read-outs
    def indices(self) -> dict:
        target = self.type == self.tid[self.organ["target"]]
        endo = self.type == self.tid["endothelial"]
        tb = self.taken_by_type[:, 0]
        share = {f"uptake_share_{t}": float(tb[k] / tb.sum()) if tb.sum() > 0 else 0.0
                 for k, t in enumerate(self.types)}
        return {"S100": float(self.s100[target].mean()) if target.any() else 1.0,
                "Perm": float(self.perm[endo].mean()) if endo.any() else 1.0,
                "FN": float(self.fn.mean()),
                "BMDC": float(np.sum(self.type == self.tid["macrophage"]) / self.bmdc0),
                **share}

    def counts(self) -> dict:
        return {f"n_{t}": int(np.sum(self.type == k)) for k, t in enumerate(self.types)}

    def colonies(self) -> int:
        tum = (self.type == self.tid["tumour"]) & (self.arrested < 0)
        if not tum.any():
            return 0
        _, size = np.unique(self.clone[tum], return_counts=True)
        return int(np.sum(size >= _p("colony_founding_cells")))

    def cell_table(self, day) -> pd.DataFrame:
        return pd.DataFrame({"day": day, "uid": self.uid, "type": [self.types[k] for k in self.type],
                             "x_um": self.pos[:, 0], "y_um": self.pos[:, 1], "z_um": self.pos[:, 2],
                             "exo_tumour_internal": self.internal[:, 0], "exo_injected_internal": self.internal[:, 1],
                             "s100_fold": self.s100, "permeability_fold": self.perm, "clone": self.clone,
                             "in_vessel": self.arrested >= 0})


def run_tissue(setup: TissueSetup, progress: Callable[[float], None] | None = None) -> TissueResult:
    """Run one tissue simulation (see module docstring)."""
    old_threads = numba.get_num_threads()
    if setup.threads is not None:
        if setup.threads < 1 or setup.threads > numba.config.NUMBA_NUM_THREADS:
            raise ScenarioError(f"--threads: {setup.threads} must lie in 1..{numba.config.NUMBA_NUM_THREADS}")
        numba.set_num_threads(setup.threads)
    try:
        return _run(setup, progress)
    finally:
        numba.set_num_threads(old_threads)


def _run(setup: TissueSetup, progress) -> TissueResult:
    tis = _Tissue(setup)
    arr = setup.arrivals or Arrivals(np.array([0.0, setup.days]), np.zeros(2), np.zeros(2), np.zeros(2))
    n_phen = int(round(setup.days * MIN_PER_DAY / setup.dt_phenotype))
    save_every = max(1, int(round(setup.save_every_days * MIN_PER_DAY / setup.dt_phenotype)))
    rows, tables, snaps, times = [], [], [], []
    events = {"first_tumour_cell_day": None, "niche_day": None}
    vox = ck.voxel_index(tis.pos, tis.lo, tis.dx, np.array(tis.shape))
    pressure = np.zeros(tis.type.size)
    contact = np.zeros(tis.type.size, dtype=np.int64)
    arrived = 0

    def save(day):
        rows.append({"day": day, **tis.indices(), **tis.counts(), "tumour_cells_arrived": arrived,
                     "colonies": tis.colonies()})
        tables.append(tis.cell_table(day))
        snaps.append(np.concatenate([tis.fields, tis.fn[None]]).copy())
        times.append(day)

    save(0.0)
    for k in range(n_phen):
        t_min = k * setup.dt_phenotype
        day = t_min / MIN_PER_DAY
        e_t, e_i, c = arr.at(day)
        per_min = tis.tissue_g / MIN_PER_DAY
        n_new = tis.phenotype(t_min, vox, pressure, contact, c * per_min)
        arrived += int(n_new)
        if n_new and events["first_tumour_cell_day"] is None:
            events["first_tumour_cell_day"] = day
        vox, pressure, contact = tis.transport(t_min, (e_t * per_min, e_i * per_min))
        idx = tis.indices()
        if events["niche_day"] is None and (idx["Perm"] >= NICHE_PERM or idx["S100"] >= NICHE_S100):
            events["niche_day"] = (k + 1) * setup.dt_phenotype / MIN_PER_DAY
        if (k + 1) % save_every == 0 or k == n_phen - 1:
            save((k + 1) * setup.dt_phenotype / MIN_PER_DAY)
        if progress:
            progress((k + 1) / n_phen)
    if not np.all(np.isfinite(tis.fields)):
        raise ModelError("tissue run produced non-finite concentrations")
    nz, ny, nx = tis.shape
    names = [*SUBSTRATES, "fibronectin"]
    data = np.stack(snaps)
    fields = xr.Dataset({n: (("day", "z", "y", "x"), data[:, i]) for i, n in enumerate(names)},
                        coords={"day": times, "z": (np.arange(nz) + 0.5) * tis.dx, "y": (np.arange(ny) + 0.5) * tis.dx,
                                "x": (np.arange(nx) + 0.5) * tis.dx},
                        attrs={"organ": setup.organ, "voxel_um": tis.dx, "units": "µm, particles/µm^3 (exosomes), "
                               "mmHg (oxygen), arbitrary (signals), fold (fibronectin)"})
    return TissueResult(setup, pd.DataFrame(rows), pd.concat(tables, ignore_index=True), fields, events)


NICHE_PERM = 1.5  # the niche has formed once leakage is 1.5-fold or S100 2-fold over healthy tissue
NICHE_S100 = 2.0
__all__ = ["FACES", "Arrivals", "TissueResult", "TissueSetup", "run_tissue"]
