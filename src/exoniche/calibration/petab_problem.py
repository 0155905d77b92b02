"""A PEtab v1 problem on exoniche's engines: read and check the tables, simulate, negative log-likelihood.

The tables are read with the ``petab`` library; the SBML model is imported into exoniche's mechanism
declaration (:mod:`exoniche.engines.sbml_import`) and integrated by the compiled (Numba BDF) engine, one
column per parameter vector, so that an objective and its finite-difference gradient are one engine call.

Supported: normal and Laplace noise; ``lin``/``log``/``log10`` observable transformations; parameter scales
``lin``/``log``/``log10``; observable and noise parameter placeholders (``observableParameter<n>_<id>``,
``noiseParameter<n>_<id>``) set per measurement row from numbers or parameter ids; several simulation
conditions overriding parameters and initial values of species; preequilibration (a steady state of the
preequilibration condition starts the simulation condition); objective priors (``objectivePriorType``
``parameterScaleNormal``, ``parameterScaleLaplace``, ``normal``, ``laplace``, and the uniform ones, which add a
constant) enter :meth:`PetabProblem.objective`, which fits and profiles minimise; :meth:`PetabProblem.nllh`
stays the likelihood. Bad tables raise :class:`DataError` naming the
file, row (1 = header) and column; ``petablint`` findings are reported with them.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from exoniche.biology import Mechanism, Species
from exoniche.biology.parameters import Parameter
from exoniche.engines.problem import Event, Problem
from exoniche.engines.sbml_import import CLOCK, ImportedModel, import_sbml
from exoniche.errors import DataError, ModelError, unknown

SCALES = ("lin", "log", "log10")
TRANSFORMS = ("lin", "log", "log10")
NOISE = ("normal", "laplace")
RTOL = 1e-9  # engine tolerance for fits; `exoniche fit llh` evaluates at LLH_RTOL
LLH_RTOL = 1e-11
PREEQ_T = 1e7  # preequilibration runs this long (model time units) or until d/dt is below 1e-10 relative


def _is_empty(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v.strip() == "")


def unscale(x, scale: str):
    """Return ``x`` from PEtab's parameter scale (``lin``, ``log``, ``log10``) back on the linear scale."""
    x = np.asarray(x, dtype=float)
    return 10.0**x if scale == "log10" else np.exp(x) if scale == "log" else x


def to_scale(x, scale: str):
    """Return linear ``x`` on PEtab's parameter scale ``scale`` (``lin``, ``log``, ``log10``)."""
    x = np.asarray(x, dtype=float)
    return np.log10(x) if scale == "log10" else np.log(x) if scale == "log" else x


@dataclass
class Experiment:
    """One simulation: a (preequilibration, simulation) condition pair and its measurement rows."""

    preeq: str | None
    condition: str
    rows: np.ndarray  # indices into the measurement table
    times: np.ndarray  # sorted unique output times


@dataclass
class PetabProblem:
    """A PEtab problem ready to evaluate (see :func:`load`)."""

    yaml_path: Path
    files: dict
    petab: object  # petab.v1.Problem
    model: ImportedModel
    estimated: list[str]
    scales: list[str]
    lower: np.ndarray  # on the parameter scale
    upper: np.ndarray
    nominal: np.ndarray  # on the parameter scale
    experiments: list[Experiment]
    lint: list[str] = field(default_factory=list)
    priors: list = field(default_factory=list)  # per estimated parameter: None or (type, a, b)
    rtol: float = RTOL
    engine: str = "compiled"  # or "deterministic" (SciPy BDF per column; no Numba compilation)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_measurements(self) -> int:
        """Number of measurement rows."""
        return len(self.petab.measurement_df)

    # ---------------------------------------------------------------------------------- parameters
    def full_values(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Parameter table ids -> linear values (arrays over the columns of ``theta``, shape (n_est, P))."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float).T).T if np.ndim(theta) == 1 else np.asarray(theta)
        P = theta.shape[1]
        df = self.petab.parameter_df
        out = {pid: np.full(P, float(row["nominalValue"])) for pid, row in df.iterrows()}
        for k, pid in enumerate(self.estimated):
            out[pid] = unscale(theta[k], self.scales[k])
        return out

    def _value(self, v, table: dict, P: int) -> np.ndarray:
        if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool):
            return np.full(P, float(v))
        text = str(v).strip()
        try:
            return np.full(P, float(text))
        except ValueError:
            return table[text]

    # ---------------------------------------------------------------------------------- simulation
    def _kernel(self, preeq: bool):
        key = ("kernel", preeq)
        if key not in self._cache:
            from exoniche.engines import numba_bdf

            mech, params = self.model.mechanism, self.model.params
            if preeq:  # initial values become parameters x0_<species>, set from the preequilibration
                mech = Mechanism([Species(s.name, s.unit, s.compartment, s.description, f"x0__{s.name}", s.scale)
                                  for s in mech.species], list(mech.expressions), list(mech.processes))
                params = params.extended(Parameter(f"x0__{s.name}", 0.0, "dimensionless", "scenario",
                                                   "preequilibrated state") for s in mech.species)
            if self.engine == "deterministic":
                from types import SimpleNamespace

                from exoniche.engines.functions import compile_mechanism

                kern = SimpleNamespace(functions=compile_mechanism(mech, params))
            else:
                kern = numba_bdf.kernel(mech, params)
            self._cache[key] = (kern, mech, params)
        return self._cache[key]

    def _plain(self):
        """Return the imported model compiled to Python only (initial values, parameter order), without Numba."""
        if "plain" not in self._cache:
            from types import SimpleNamespace

            from exoniche.engines.functions import compile_mechanism

            self._cache["plain"] = SimpleNamespace(functions=compile_mechanism(self.model.mechanism, self.model.params))
        return self._cache["plain"]

    def _model_matrix(self, comp, table: dict, condition: str, P: int) -> np.ndarray:
        """(engine parameters, P) for one condition: SBML values < parameter table < condition table."""
        base = self.model.params.numbers()
        cond = self.petab.condition_df.loc[condition] if condition in self.petab.condition_df.index else None
        rows = []
        for name in comp.parameters:
            sbml_id = self._sbml_id(name)
            if cond is not None and sbml_id in cond.index and not _is_empty(cond[sbml_id]):
                rows.append(self._value(cond[sbml_id], table, P))
            elif sbml_id in table:
                rows.append(table[sbml_id])
            else:
                rows.append(np.full(P, base.get(name, 0.0)))
        return np.vstack(rows)

    def _sbml_id(self, name: str) -> str:
        if "inverse" not in self._cache:
            self._cache["inverse"] = {v: k for k, v in self.model.names.items()}
        return self._cache["inverse"].get(name, name)

    def _species_overrides(self, condition: str, table: dict, P: int) -> dict[str, np.ndarray]:
        if condition not in self.petab.condition_df.index:
            return {}
        cond = self.petab.condition_df.loc[condition]
        out = {}
        for sid, v in cond.items():
            name = self.model.names.get(sid, sid)
            if name in self.model.concentration and not _is_empty(v):
                out[name] = self._value(v, table, P)
        return out

    def _breaks(self, p_rows: dict[str, float]) -> list[float]:
        import math as m

        out = []
        for text in self.model.time_breaks:
            try:
                out.append(float(eval(text, {"__builtins__": {}, "ln": m.log, "exp": m.exp, "pow": m.pow},  # noqa: S307
                                      dict(p_rows))))
            except Exception:  # noqa: BLE001 - a break that depends on the state cannot be precomputed
                continue
        return out

    def _integrate(self, exp: Experiment, table: dict, P: int) -> tuple[list[str], np.ndarray, np.ndarray, object]:
        """Species trajectories at ``exp.times``: (species, y (S, T, P), engine parameter matrix, compiled)."""
        from exoniche.engines import numba_bdf

        preeq = exp.preeq is not None
        kern, mech, params = self._kernel(preeq)
        comp = kern.functions
        pm = self._model_matrix(comp, table, exp.condition, P)
        sidx = {s: i for i, s in enumerate(comp.species)}
        pidx = {n: i for i, n in enumerate(comp.parameters)}
        if preeq:
            kern0, _, _ = self._kernel(False)
            pre = self._model_matrix(kern0.functions, table, exp.preeq, P)
            x0 = self._initial(kern0, pre, self._species_overrides(exp.preeq, table, P))
            xs = self._steady_state(kern0, pre, x0)
            for name, v in self._species_overrides(exp.condition, table, P).items():
                xs[sidx[name]] = v
            if CLOCK in sidx:
                xs[sidx[CLOCK]] = 0.0
            for s, i in sidx.items():
                if f"x0__{s}" in pidx:
                    pm[pidx[f"x0__{s}"]] = xs[i]
        overrides = {} if preeq else self._species_overrides(exp.condition, table, P)
        t = exp.times
        t_end = float(t[-1]) if t[-1] > 0 else 1.0
        # piecewise switches in time (condition parameters, the same in every column): restart the integration
        # there with a no-op event, so that no step straddles the discontinuity
        breaks = sorted({b for b in self._breaks(dict(zip(comp.parameters, pm[:, 0]))) if 0 < b < t_end})
        events = list(self.model.events) + [Event(b, comp.species[0], label="discontinuity") for b in breaks]
        if overrides:  # species initial values set by the condition: applied as an initial-value parameter set
            kern, mech, params = self._kernel(True)
            comp2 = kern.functions
            pm2 = self._model_matrix(comp2, table, exp.condition, P)
            k0 = self._plain()  # only its initial-value formulas are needed: no JIT compilation
            x0 = self._initial(k0, self._model_matrix(k0.functions, table, exp.condition, P), overrides)
            pidx2 = {n: i for i, n in enumerate(comp2.parameters)}
            for s, i in sidx.items():
                if f"x0__{s}" in pidx2:
                    pm2[pidx2[f"x0__{s}"]] = x0[i]
            pm, comp = pm2, comp2
        prob = Problem(mech, params, t_end, t if t[-1] > 0 else np.array([0.0, 1.0]), events, rtol=self.rtol)
        try:
            if self.engine == "deterministic":
                y = self._deterministic(prob, comp, pm)
            else:
                _, y = numba_bdf.integrate(prob, np.ascontiguousarray(pm), kern=kern)
        except ModelError:
            y = np.full((len(comp.species), len(prob.times()), P), np.nan)
        if t[-1] <= 0:
            y = y[:, :1]
        return comp.species, y, pm, comp

    def _deterministic(self, prob: Problem, comp, pm: np.ndarray) -> np.ndarray:
        """SciPy BDF, one column at a time (no Numba compilation: for large models and single evaluations)."""
        from dataclasses import replace

        from exoniche.engines import deterministic

        out = []
        for j in range(pm.shape[1]):
            params = prob.params.extended([])
            changed = {n: float(pm[i, j]) for i, n in enumerate(comp.parameters)}
            params = type(params)(replace(params[n], value=changed.get(n, params[n].value)) for n in params)
            ds = deterministic.run(replace(prob, params=params), functions=comp)
            out.append(np.stack([ds[s].values for s in comp.species]))
        return np.stack(out, axis=2)

    def _initial(self, kern, pm: np.ndarray, overrides: dict) -> np.ndarray:
        comp = kern.functions
        x0 = np.array([comp.initial(list(pm[:, j])) for j in range(pm.shape[1])], dtype=float).T
        for name, v in overrides.items():
            x0[comp.species.index(name)] = v
        return x0

    def _steady_state(self, kern, pm: np.ndarray, x0: np.ndarray) -> np.ndarray:
        """Integrate each column from x0 until the state no longer changes (preequilibration)."""
        from scipy.integrate import solve_ivp

        comp = kern.functions
        out = np.empty_like(x0)
        for j in range(pm.shape[1]):
            p = list(pm[:, j])

            def f(t, y, p=p):
                return comp.rhs(t, y.tolist(), p)

            def settled(t, y, p=p):
                dy = np.abs(np.asarray(comp.rhs(t, y.tolist(), p)))
                return float(np.max(dy / (np.abs(y) + 1e-10)) - 1e-10) if t > 0 else 1.0

            settled.terminal = True
            sol = solve_ivp(f, (0.0, PREEQ_T), x0[:, j], method="BDF", rtol=1e-10, atol=1e-12, events=settled)
            out[:, j] = sol.y[:, -1] if sol.success else np.nan
        return out

    # ---------------------------------------------------------------------------------- observables
    def _formula(self, kind: str, obs_id: str):
        key = (kind, obs_id)
        if key not in self._cache:
            import sympy as sp
            from petab.v1.math import sympify_petab

            text = self.petab.observable_df.loc[obs_id, "observableFormula" if kind == "obs" else "noiseFormula"]
            expr = sympify_petab(text)
            syms = sorted(expr.free_symbols, key=lambda s: s.name)
            fn = sp.lambdify(syms, expr, modules="numpy")
            self._cache[key] = (fn, [s.name for s in syms])
        return self._cache[key]

    def simulate(self, theta) -> np.ndarray:
        """Return the simulated observables (measurement rows, P) and noise sigmas for parameter columns ``theta``."""
        sim, _ = self._simulate(theta)
        return sim

    def _simulate(self, theta) -> tuple[np.ndarray, np.ndarray]:
        theta = np.asarray(theta, dtype=float)
        if theta.ndim == 1:
            theta = theta[:, None]
        P = theta.shape[1]
        table = self.full_values(theta)
        mdf = self.petab.measurement_df
        n = len(mdf)
        sim = np.full((n, P), np.nan)
        sig = np.full((n, P), np.nan)
        for exp in self.experiments:
            species, y, pm, comp = self._integrate(exp, table, P)
            sidx = {s: i for i, s in enumerate(species)}
            pvals = {name: pm[i] for i, name in enumerate(comp.parameters)}
            for obs_id in pd.unique(mdf["observableId"].iloc[exp.rows]):
                rows = exp.rows[mdf["observableId"].iloc[exp.rows].to_numpy() == obs_id]
                tpos = np.searchsorted(exp.times, mdf["time"].iloc[rows].to_numpy(dtype=float))
                for kind, target in (("obs", sim), ("noise", sig)):
                    fn, args = self._formula(kind, obs_id)
                    placeholders = self._placeholders(kind, obs_id, rows, table, P)
                    vals = []
                    for a in args:
                        if a in placeholders:
                            vals.append(placeholders[a])
                        elif self.model.names.get(a, a) in sidx:
                            vals.append(y[sidx[self.model.names.get(a, a)]][tpos])
                        elif self.model.names.get(a, a) in pvals:
                            vals.append(np.broadcast_to(pvals[self.model.names.get(a, a)], (len(rows), P)))
                        elif a in table:
                            vals.append(np.broadcast_to(table[a], (len(rows), P)))
                        else:
                            vals.append(self._expression(a, y, pm, comp, tpos, len(rows), P))
                    target[rows] = np.broadcast_to(np.asarray(fn(*vals), dtype=float), (len(rows), P))
        return sim, sig

    def _expression(self, name, y, pm, comp, tpos, nrows, P) -> np.ndarray:
        sbml_name = self.model.names.get(name, name)
        if sbml_name not in comp.expressions:
            raise DataError(f"{self.files['observable']}: observable formula uses {name!r}, which is neither a "
                            "species, a parameter, an assignment rule nor an observable/noise placeholder")
        out = np.empty((nrows, P))
        for j in range(P):
            out[:, j] = np.broadcast_to(comp.evaluate(y[:, tpos, j], list(pm[:, j]))[sbml_name], (nrows,))
        return out

    def _placeholders(self, kind: str, obs_id: str, rows: np.ndarray, table: dict, P: int) -> dict:
        col = "observableParameters" if kind == "obs" else "noiseParameters"
        prefix = "observableParameter" if kind == "obs" else "noiseParameter"
        mdf = self.petab.measurement_df
        if col not in mdf.columns:
            return {}
        out: dict[str, np.ndarray] = {}
        for r_i, r in enumerate(rows):
            v = mdf[col].iloc[r]
            if _is_empty(v):
                continue
            for k, item in enumerate(str(v).split(";"), start=1):
                name = f"{prefix}{k}_{obs_id}"
                out.setdefault(name, np.full((len(rows), P), np.nan))[r_i] = self._value(item, table, P)
        return out

    # ---------------------------------------------------------------------------------- likelihood
    def nllh(self, theta) -> np.ndarray:
        """Negative log-likelihood for parameter columns ``theta`` (scaled, shape (n_est,) or (n_est, P))."""
        theta = np.asarray(theta, dtype=float)
        single = theta.ndim == 1
        sim, sig = self._simulate(theta)
        m = self.petab.measurement_df["measurement"].to_numpy(dtype=float)[:, None]
        odf = self.petab.observable_df
        ids = self.petab.measurement_df["observableId"].to_numpy()
        trans = np.array([odf.loc[o].get("observableTransformation", "lin") if "observableTransformation"
                          in odf.columns and not _is_empty(odf.loc[o].get("observableTransformation")) else "lin"
                          for o in ids])[:, None]
        dist = np.array([odf.loc[o].get("noiseDistribution", "normal") if "noiseDistribution" in odf.columns
                         and not _is_empty(odf.loc[o].get("noiseDistribution")) else "normal" for o in ids])[:, None]
        total = np.zeros(sim.shape[1])
        with np.errstate(all="ignore"):
            for tr in TRANSFORMS:
                for dn in NOISE:
                    mask = ((trans == tr) & (dist == dn))[:, 0]
                    if mask.any():
                        total += _nllh(m[mask], sim[mask], sig[mask], tr, dn).sum(axis=0)
        total[~np.isfinite(total)] = np.inf
        return total[0] if single else total

    def prior_nll(self, theta) -> np.ndarray:
        """Negative log prior density of the estimated parameters (0 without objective priors)."""
        theta = np.asarray(theta, dtype=float)
        single = theta.ndim == 1
        theta = theta[:, None] if single else theta
        total = np.zeros(theta.shape[1])
        for k, prior in enumerate(self.priors):
            if prior is not None:
                total += _prior_term(prior, theta[k], self.scales[k])
        return total[0] if single else total

    def objective(self, theta) -> np.ndarray:
        """Return what fits minimise: negative log-likelihood plus negative log prior (if the table has priors)."""
        return self.nllh(theta) + self.prior_nll(theta)

    def nllh_grad(self, theta, step: float = 1e-5, prior: bool = False) -> tuple[float, np.ndarray]:
        """Likelihood (``prior``: the objective) and its central-difference gradient from one engine call."""
        theta = np.asarray(theta, dtype=float)
        k = theta.size
        cols = np.repeat(theta[:, None], 2 * k + 1, axis=1)
        for i in range(k):
            cols[i, 1 + 2 * i] += step
            cols[i, 2 + 2 * i] -= step
        v = self.objective(cols) if prior else self.nllh(cols)
        with np.errstate(invalid="ignore"):
            grad = (v[1::2] - v[2::2]) / (2 * step)
        return float(v[0]), grad


PRIORS = ("parameterScaleNormal", "parameterScaleLaplace", "normal", "laplace", "uniform", "parameterScaleUniform")


def _prior_term(prior: tuple, x: np.ndarray, scale: str) -> np.ndarray:
    """-log density of one PEtab objective prior at ``x`` (parameter scale), as petab v1 defines them."""
    kind, a, b = prior
    v = x if kind.startswith("parameterScale") else unscale(x, scale)
    if kind in ("parameterScaleNormal", "normal"):
        return 0.5 * np.log(2 * np.pi * b**2) + 0.5 * ((v - a) / b) ** 2
    if kind in ("parameterScaleLaplace", "laplace"):
        return np.log(2 * b) + np.abs(v - a) / b
    return np.full_like(v, np.log(b - a))  # uniform priors: a constant inside the bounds


def _nllh(m, s, sigma, transform: str, dist: str) -> np.ndarray:
    """Negative log-likelihood terms, written as petab.calculate_single_llh writes them."""
    pi, log, log10 = np.pi, np.log, np.log10
    if dist == "normal":
        if transform == "lin":
            return 0.5 * log(2 * pi * sigma**2) + 0.5 * ((s - m) / sigma) ** 2
        if transform == "log":
            return 0.5 * log(2 * pi * sigma**2 * m**2) + 0.5 * ((log(s) - log(m)) / sigma) ** 2
        return 0.5 * log(2 * pi * sigma**2 * m**2 * log(10) ** 2) + 0.5 * ((log10(s) - log10(m)) / sigma) ** 2
    if transform == "lin":
        return log(2 * sigma) + np.abs((s - m) / sigma)
    if transform == "log":
        return log(2 * sigma * m) + np.abs((log(s) - log(m)) / sigma)
    return log(2 * sigma * m * log(10)) + np.abs((log10(s) - log10(m)) / sigma)


# -------------------------------------------------------------------------------------- loading and checks
def _where(file, row: int | None = None, column: str | None = None) -> str:
    parts = [str(file)]
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {column!r}")
    return ", ".join(parts)


def _require(df: pd.DataFrame, file, columns) -> None:
    have = set(df.columns) | ({df.index.name} if df.index.name else set())
    for c in columns:
        if c not in have:
            raise DataError(f"{_where(file, 1, c)}: required column missing (have: {', '.join(sorted(have))})")


def _read_table(path: Path, index: str | None) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, sep="\t", float_precision="round_trip")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except Exception as exc:  # noqa: BLE001 - any parse failure of a user table
        raise DataError(f"{path}: not a readable tab-separated table ({exc})") from None
    if index is not None:
        _require(df, path, [index])
        df = df.set_index(index)
    return df


ENGINES = ("compiled", "deterministic")


def load(yaml_path: str | Path, *, lint: bool = True, engine: str = "compiled") -> PetabProblem:
    """Read, check and prepare a PEtab v1 problem (YAML with one problem entry).

    ``engine``: ``compiled`` (Numba BDF, all parameter columns in one call; compiles once per model) or
    ``deterministic`` (SciPy BDF per column; no compilation, for large models evaluated a few times).
    """
    if engine not in ENGINES:
        raise unknown("--engine", engine, ENGINES, DataError)
    import petab.v1 as petab
    import yaml

    yaml_path = Path(yaml_path)
    if yaml_path.is_dir():
        found = sorted(yaml_path.glob("*.yaml")) + sorted(yaml_path.glob("*.yml"))
        if not found:
            raise DataError(f"{yaml_path}: no PEtab problem YAML in this folder")
        yaml_path = found[0]
    if not yaml_path.is_file():
        raise DataError(f"{yaml_path}: PEtab problem file not found")
    try:
        spec = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
        entry = spec["problems"][0]
        base = yaml_path.parent
        files = {
            "parameter": base / spec["parameter_file"],
            "sbml": base / entry["sbml_files"][0],
            "condition": base / entry["condition_files"][0],
            "measurement": base / entry["measurement_files"][0],
            "observable": base / entry["observable_files"][0],
        }
    except (yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise DataError(f"{yaml_path}: not a PEtab v1 problem YAML (missing or malformed entry {exc})") from None
    tables = {
        "parameter": _read_table(files["parameter"], "parameterId"),
        "condition": _read_table(files["condition"], "conditionId"),
        "observable": _read_table(files["observable"], "observableId"),
        "measurement": _read_table(files["measurement"], None),
    }
    _check_tables(files, tables)
    model = import_sbml(files["sbml"])
    problem = petab.Problem(condition_df=tables["condition"], measurement_df=tables["measurement"],
                            parameter_df=tables["parameter"], observable_df=tables["observable"])
    findings = []
    if lint:
        findings = _lint(yaml_path)
    pdf = tables["parameter"]
    est = pdf[pdf["estimate"].astype(int) == 1]
    scales = [str(s) for s in est["parameterScale"]]
    lower = np.array([to_scale(v, s) for v, s in zip(est["lowerBound"].astype(float), scales)])
    upper = np.array([to_scale(v, s) for v, s in zip(est["upperBound"].astype(float), scales)])
    nominal = np.array([to_scale(v, s) for v, s in zip(est["nominalValue"].astype(float), scales)])
    mdf = tables["measurement"]
    pre = mdf["preequilibrationConditionId"] if "preequilibrationConditionId" in mdf.columns else None
    sim_ids = mdf["simulationConditionId"].astype(str)
    keys = [(None if pre is None or _is_empty(pre.iloc[i]) else str(pre.iloc[i]), sim_ids.iloc[i])
            for i in range(len(mdf))]
    experiments = []
    for key in dict.fromkeys(keys):
        rows = np.array([i for i, k in enumerate(keys) if k == key])
        experiments.append(Experiment(key[0], key[1], rows, np.unique(mdf["time"].iloc[rows].to_numpy(dtype=float))))
    priors = [_prior(files["parameter"], pdf, pid) for pid in est.index]
    return PetabProblem(yaml_path.resolve(), files, problem, model, list(est.index), scales, lower, upper, nominal,
                        experiments, findings, priors=priors, engine=engine)


def _prior(file, pdf: pd.DataFrame, pid: str) -> tuple | None:
    """(type, a, b) of an estimated parameter's objective prior, or None; bad entries raise DataError."""
    if "objectivePriorType" not in pdf.columns or _is_empty(pdf.loc[pid, "objectivePriorType"]):
        return None
    row = list(pdf.index).index(pid) + 2
    kind = str(pdf.loc[pid, "objectivePriorType"]).strip()
    if kind not in PRIORS:
        raise DataError(f"{_where(file, row, 'objectivePriorType')}: {kind!r} for {pid}; "
                        f"supported: {', '.join(PRIORS)}")
    text = pdf.loc[pid, "objectivePriorParameters"] if "objectivePriorParameters" in pdf.columns else None
    try:
        a, b = (float(v) for v in str(text).split(";"))
    except ValueError:
        if kind in ("uniform", "parameterScaleUniform") and _is_empty(text):  # default: the bounds
            lo, hi = float(pdf.loc[pid, "lowerBound"]), float(pdf.loc[pid, "upperBound"])
            if kind == "parameterScaleUniform":
                lo, hi = (float(v) for v in to_scale([lo, hi], str(pdf.loc[pid, "parameterScale"])))
            return (kind, lo, hi)
        raise DataError(f"{_where(file, row, 'objectivePriorParameters')}: {text!r} for {pid}; need two numbers "
                        "'a;b' (mean;sd, location;scale or lower;upper)") from None
    if kind in ("uniform", "parameterScaleUniform") and not a < b:
        raise DataError(f"{_where(file, row, 'objectivePriorParameters')}: uniform prior of {pid} needs lower < upper")
    if kind not in ("uniform", "parameterScaleUniform") and not b > 0:
        raise DataError(f"{_where(file, row, 'objectivePriorParameters')}: scale {b:g} of {pid}'s prior must be > 0")
    return (kind, a, b)


def _check_tables(files: dict, t: dict) -> None:  # noqa: C901 - one check per PEtab rule
    pf, cf, of, mf = files["parameter"], files["condition"], files["observable"], files["measurement"]
    pdf, cdf, odf, mdf = t["parameter"], t["condition"], t["observable"], t["measurement"]
    _require(pdf, pf, ["parameterId", "parameterScale", "lowerBound", "upperBound", "nominalValue", "estimate"])
    _require(odf, of, ["observableId", "observableFormula", "noiseFormula"])
    _require(mdf, mf, ["observableId", "simulationConditionId", "measurement", "time"])
    for i, (pid, row) in enumerate(pdf.iterrows(), start=2):
        scale = str(row["parameterScale"])
        if scale not in SCALES:
            raise DataError(f"{_where(pf, i, 'parameterScale')}: {scale!r} for {pid}; allowed: {', '.join(SCALES)}")
        try:
            lo, hi, nom = float(row["lowerBound"]), float(row["upperBound"]), float(row["nominalValue"])
            est = int(row["estimate"])
        except (TypeError, ValueError):
            raise DataError(f"{_where(pf, i)}: bounds, nominalValue and estimate of {pid} must be numbers") from None
        if est not in (0, 1):
            raise DataError(f"{_where(pf, i, 'estimate')}: {est} for {pid}; allowed: 0, 1")
        if est and not lo < hi:
            raise DataError(f"{_where(pf, i, 'upperBound')}: bounds of {pid} inverted or equal "
                            f"(lowerBound {lo:g} >= upperBound {hi:g})")
        if est and scale != "lin" and lo <= 0:
            raise DataError(f"{_where(pf, i, 'lowerBound')}: {lo:g} for {pid} on a {scale} scale; must be > 0")
        if est and not lo <= nom <= hi:
            raise DataError(f"{_where(pf, i, 'nominalValue')}: {nom:g} for {pid} outside its bounds [{lo:g}, {hi:g}]")
    for i, (oid, row) in enumerate(odf.iterrows(), start=2):
        for col, allowed in (("observableTransformation", TRANSFORMS), ("noiseDistribution", NOISE)):
            v = row.get(col)
            if col in odf.columns and not _is_empty(v) and str(v) not in allowed:
                raise DataError(f"{_where(of, i, col)}: {v!r} for {oid}; allowed: {', '.join(allowed)}")
    for i in range(len(mdf)):
        r = i + 2
        oid = mdf["observableId"].iloc[i]
        if oid not in odf.index:
            raise DataError(f"{_where(mf, r, 'observableId')}: unknown observable {oid!r}; "
                            f"defined in {of.name}: {', '.join(map(str, odf.index))}")
        for col in ("simulationConditionId", "preequilibrationConditionId"):
            if col in mdf.columns and not _is_empty(mdf[col].iloc[i]) and str(mdf[col].iloc[i]) not in cdf.index:
                raise DataError(f"{_where(mf, r, col)}: unknown condition {mdf[col].iloc[i]!r}; "
                                f"defined in {cf.name}: {', '.join(map(str, cdf.index))}")
        for col in ("measurement", "time"):
            try:
                v = float(mdf[col].iloc[i])
            except (TypeError, ValueError):
                raise DataError(f"{_where(mf, r, col)}: {mdf[col].iloc[i]!r} is not a number") from None
            if not math.isfinite(v) or (col == "time" and v < 0):
                raise DataError(f"{_where(mf, r, col)}: {v!r}; must be a finite number" +
                                (" >= 0 (steady-state measurements are not supported)" if col == "time" else ""))
        if "noiseParameters" in mdf.columns and not _is_empty(mdf["noiseParameters"].iloc[i]):
            for item in str(mdf["noiseParameters"].iloc[i]).split(";"):
                item = item.strip()
                try:
                    value = float(item)
                except ValueError:
                    if item not in pdf.index:
                        raise DataError(f"{_where(mf, r, 'noiseParameters')}: {item!r} is neither a number nor a "
                                        f"parameter of {pf.name}") from None
                    continue
                if not value > 0:
                    raise DataError(f"{_where(mf, r, 'noiseParameters')}: sigma {value:g} must be > 0")
        if "observableParameters" in mdf.columns and not _is_empty(mdf["observableParameters"].iloc[i]):
            for item in str(mdf["observableParameters"].iloc[i]).split(";"):
                item = item.strip()
                try:
                    float(item)
                except ValueError:
                    if item not in pdf.index:
                        raise DataError(f"{_where(mf, r, 'observableParameters')}: {item!r} is neither a number "
                                        f"nor a parameter of {pf.name}") from None


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record):
        self.records.append(f"{record.levelname.lower()}: {record.getMessage()}")


def _lint(yaml_path: Path) -> list[str]:
    """``petablint``'s findings (errors and warnings) as text lines; errors raise DataError."""
    import petab.v1 as petab

    handler = _Collect()
    log = logging.getLogger("petab")
    log.addHandler(handler)
    try:
        problem = petab.Problem.from_yaml(str(yaml_path))
        failed = petab.lint.lint_problem(problem)
    except Exception as exc:  # noqa: BLE001 - the linter itself failing on a malformed file
        failed, handler.records = True, [*handler.records, f"error: {exc}"]
    finally:
        log.removeHandler(handler)
    if failed:
        errs = [r for r in handler.records if r.startswith(("error", "critical"))] or handler.records
        raise DataError(f"{yaml_path}: petablint reports: " + "; ".join(errs[:10]))
    return handler.records
