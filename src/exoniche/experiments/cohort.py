"""Virtual patient cohorts: which parameters vary between patients, and how.

A cohort is a scenario's base :class:`~exoniche.experiments.setup.Experiment` plus a ``[cohort]`` table::

    [cohort]
    size = 1000                      # patients (the CLI's --patients overrides it)
    seed = 7                         # default: the scenario's seed
    tumours = {"4175-LuT" = 0.6, "BxPC-3-LiT" = 0.4}     # categorical mix of tumour presets (weights)
    primary_sites = {venous = 0.7, portal = 0.3}         # CTC drainage of the primary site
    [cohort.parameters.tumour_initial_g]
    distribution = "lognormal"       # median x exp(sigma z), sigma = sqrt(ln(1 + cv^2))
    cv = 1.0                         # median: the patient's own preset/base value unless given
    [cohort.parameters.extraction_target_liver]
    distribution = "uniform"
    low = 0.02
    high = 0.05
    [[cohort.correlations]]          # Gaussian copula between two varied parameters
    parameters = ["tumour_initial_g", "cargo_tum_pdl1"]
    rho = 0.5
    [cohort.observe]                 # virtual blood draws (see exoniche.observe)
    every_days = 28

Reproducibility: patient i's draws are a counter-based hash of (seed, i, stream) (SplitMix64), so they
depend only on (seed, i): any subset of patients, in any chunking or worker count, gets the same values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr, ndtri

from exoniche import biology
from exoniche.errors import ScenarioError, check_choice, check_keys, unknown
from exoniche.experiments.setup import Experiment

DISTRIBUTIONS = ("lognormal", "uniform")
SITES = {"venous": 0.0, "portal": 1.0}  # value of ctc_route_portal
COHORT_KEYS = ("size", "seed", "parameters", "tumours", "primary_sites", "correlations", "observe")
VARIATION_KEYS = {"lognormal": ("distribution", "cv", "median"), "uniform": ("distribution", "low", "high")}
MAX_PATIENTS = 100_000_000
# hash streams: 0 tumour preset, 1 primary site, 2 + j parameter j; observation and metastasis noise use
# numpy generators seeded by (seed, stream, i) with the streams below.
STREAM_OBSERVE = 1001
STREAM_METASTASIS = 1002


@dataclass(frozen=True)
class Variation:
    """How one parameter varies between patients (distribution, spread, bounds)."""

    parameter: str
    distribution: str
    cv: float = 0.0
    median: float | None = None
    low: float = 0.0
    high: float = 0.0


@dataclass(frozen=True)
class Cohort:
    """A virtual cohort as parsed from its TOML: size, seed, variations, tumour and site mixes, observation."""

    size: int
    seed: int
    parameters: tuple[Variation, ...] = ()
    tumours: tuple[tuple[str, float], ...] = ()
    primary_sites: tuple[tuple[str, float], ...] = ()
    correlations: tuple[tuple[str, str, float], ...] = ()
    observe: dict = field(default_factory=dict)

    def with_size(self, size: int) -> Cohort:
        """Return the same cohort with another number of patients."""
        _check_size(size, "--patients")
        return Cohort(size, self.seed, self.parameters, self.tumours, self.primary_sites, self.correlations,
                      self.observe)


def _check_size(size, where: str) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PATIENTS:
        raise ScenarioError(f"{where}: {size!r} must be an integer from 1 to {MAX_PATIENTS}")
    return size


def _err(source: str, path: str, msg: str) -> ScenarioError:
    return ScenarioError(f"{source}: {path}: {msg}")


def _num(source, path, value, lo=None, lo_open=False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _err(source, path, f"{value!r} is not a finite number")
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise _err(source, path, f"{value!r} is out of range; allowed: {'>' if lo_open else '>='} {lo:g}")
    return float(value)


def _weights(source, path, raw, allowed) -> tuple[tuple[str, float], ...]:
    if not isinstance(raw, dict) or not raw:
        raise _err(source, path, "must be a table of name = weight")
    out = []
    for name, w in raw.items():
        check_choice(f"{source}: {path}.{name}", name, sorted(allowed), show_value=False)
        out.append((name, _num(source, f"{path}.{name}", w, 0.0)))
    total = sum(w for _, w in out)
    if total <= 0:
        raise _err(source, path, "weights must not all be 0")
    return tuple((n, w / total) for n, w in out)


def _variation(source: str, name: str, spec, parameter_names) -> Variation:
    """One ``[cohort.parameters.NAME]`` table."""
    path = f"cohort.parameters.{name}"
    if name not in parameter_names:
        raise unknown(f"{source}: {path}", name, parameter_names, what="parameter", label=None, show_value=False)
    if not isinstance(spec, dict):
        raise _err(source, path, "must be a table with distribution = \"lognormal\" or \"uniform\"")
    dist = check_choice(f"{source}: {path}.distribution", spec.get("distribution", "lognormal"), DISTRIBUTIONS)
    for key in spec:
        if key not in VARIATION_KEYS[dist]:
            raise _err(source, f"{path}.{key}", f"not a field of a {dist} distribution; allowed: "
                                                f"{', '.join(VARIATION_KEYS[dist])}")
    if dist == "lognormal":
        if "cv" not in spec:
            raise _err(source, f"{path}.cv", "missing; give the coefficient of variation (>= 0)")
        cv = _num(source, f"{path}.cv", spec["cv"], 0.0)
        median = spec.get("median")
        if median is not None:
            median = _num(source, f"{path}.median", median, 0.0, lo_open=True)
        return Variation(name, dist, cv=cv, median=median)
    for key in ("low", "high"):
        if key not in spec:
            raise _err(source, f"{path}.{key}", "missing")
    low = _num(source, f"{path}.low", spec["low"], 0.0)
    high = _num(source, f"{path}.high", spec["high"], 0.0)
    if high < low:
        raise _err(source, f"{path}.high", f"{high:g} is below low = {low:g}")
    return Variation(name, dist, low=low, high=high)


def _correlation(source: str, path: str, c, names: list[str]) -> tuple[str, str, float]:
    """One ``[[cohort.correlations]]`` entry."""
    if not isinstance(c, dict) or set(c) - {"parameters", "rho"}:
        raise _err(source, path, "must be a table with parameters = [a, b] and rho")
    pair = c.get("parameters")
    if not isinstance(pair, list) or len(pair) != 2 or pair[0] == pair[1]:
        raise _err(source, f"{path}.parameters", f"{pair!r} must name two different varied parameters")
    for p in pair:
        if p not in names:
            raise unknown(f"{source}: {path}.parameters", p, names, what="parameter", label="varied",
                          note=" (cohort.parameters)")
    rho = _num(source, f"{path}.rho", c.get("rho"), -1.0)
    if rho > 1:
        raise _err(source, f"{path}.rho", f"{rho:g} is out of range; allowed: -1..1")
    return pair[0], pair[1], rho


def parse_cohort(raw: dict, source: str = "<cohort>", *, default_seed: int = 0,
                 parameter_names=None) -> Cohort:
    """Validate a ``[cohort]`` table; errors name the field path (``cohort.parameters.X.cv``).

    ``parameter_names``: the parameters a patient may vary (default: the human base set plus scenario
    parameters); an unknown name is an error with a suggestion.
    """
    if not isinstance(raw, dict):
        raise _err(source, "cohort", f"{raw!r} must be a table")
    check_keys(f"{source}: cohort", raw, COHORT_KEYS)
    size = raw.get("size", 100)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PATIENTS:
        raise _err(source, "cohort.size", f"{size!r} must be an integer from 1 to {MAX_PATIENTS}")
    seed = raw.get("seed", default_seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _err(source, "cohort.seed", f"{seed!r} must be an integer >= 0")
    if parameter_names is None:
        parameter_names = set(Experiment(physiology="human", tumour="4175-LuT").parameters())
    varied = []
    params = raw.get("parameters", {})
    if not isinstance(params, dict):
        raise _err(source, "cohort.parameters", "must be a table of parameter tables")
    for name, spec in params.items():
        varied.append(_variation(source, name, spec, parameter_names))
    tumours = _weights(source, "cohort.tumours", raw["tumours"], biology.tumour_presets()) if "tumours" in raw else ()
    sites = _weights(source, "cohort.primary_sites", raw["primary_sites"], SITES) if "primary_sites" in raw else ()
    names = [v.parameter for v in varied]
    cl = raw.get("correlations", [])
    if not isinstance(cl, list):
        raise _err(source, "cohort.correlations", "must be a list of tables")
    corr = [_correlation(source, f"cohort.correlations[{i}]", c, names) for i, c in enumerate(cl)]
    cohort = Cohort(size, seed, tuple(varied), tumours, sites, tuple(corr), dict(raw.get("observe", {})))
    try:
        _cholesky(cohort)
    except np.linalg.LinAlgError:
        raise _err(source, "cohort.correlations", "the correlation matrix is not positive definite") from None
    return cohort  # the observe table is validated by exoniche.observe (a layer downstream of this one)


def _cholesky(cohort: Cohort) -> np.ndarray:
    names = [v.parameter for v in cohort.parameters]
    R = np.eye(len(names))
    for a, b, rho in cohort.correlations:
        i, j = names.index(a), names.index(b)
        R[i, j] = R[j, i] = rho
    return np.linalg.cholesky(R) if names else R


# ------------------------------------------------------------------------------ counter-based draws
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniforms(seed: int, ids: np.ndarray, stream: int) -> np.ndarray:
    """U(0, 1) (open interval) for patients ``ids``; a function of (seed, id, stream) only."""
    ids = np.asarray(ids, dtype=np.uint64)
    with np.errstate(over="ignore"):
        key = _splitmix(_splitmix(np.uint64(seed)) ^ np.uint64(stream * 0x632BE59BD9B4E019 & 0xFFFFFFFFFFFFFFFF))
        h = _splitmix(ids ^ key)
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _pick(weights, u: np.ndarray) -> np.ndarray:
    edges = np.cumsum([w for _, w in weights])
    return np.minimum(np.searchsorted(edges, u, side="right"), len(weights) - 1)


@dataclass
class PatientBatch:
    """Patients ``ids`` with their parameter matrix (parameters x patients) and categorical draws."""

    ids: np.ndarray
    p: np.ndarray
    tumour: np.ndarray  # preset name per patient
    site: np.ndarray  # drainage per patient
    mir21: np.ndarray  # tumour preset's miR-21 cargo level per patient (observation only)


def sample_patients(cohort: Cohort, experiment: Experiment, ids: np.ndarray,
                    parameter_order: list[str]) -> PatientBatch:
    """Draw parameters for patients ``ids`` (each depends on (cohort.seed, id) only)."""
    ids = np.asarray(ids, dtype=np.int64)
    n = ids.size
    tumours = cohort.tumours or ((experiment.tumour or "", 1.0),)
    t_idx = _pick(tumours, uniforms(cohort.seed, ids, 0)) if cohort.tumours else np.zeros(n, dtype=int)
    base_rows = {}
    mir21 = np.zeros(len(tumours))
    for k, (name, _) in enumerate(tumours):
        exp = experiment if not cohort.tumours else Experiment(**{**experiment.__dict__, "tumour": name})
        values = exp.parameters().numbers()
        base_rows[k] = np.array([values[p] for p in parameter_order])
        mir21[k] = biology.tumour_preset(name).cargo.get("mir21", 0.0) if name else 0.0
    p = np.empty((len(parameter_order), n))
    for k in base_rows:
        p[:, t_idx == k] = base_rows[k][:, None]
    pidx = {name: i for i, name in enumerate(parameter_order)}
    site = np.where(p[pidx["ctc_route_portal"]] > 0.5, "portal", "venous") if "ctc_route_portal" in pidx else \
        np.full(n, "venous")
    if cohort.primary_sites:
        s_idx = _pick(cohort.primary_sites, uniforms(cohort.seed, ids, 1))
        site = np.array([cohort.primary_sites[i][0] for i in s_idx])
        if "ctc_route_portal" in pidx:
            p[pidx["ctc_route_portal"]] = np.array([SITES[s] for s in site])
    if cohort.parameters:
        z = np.vstack([ndtri(uniforms(cohort.seed, ids, 2 + j)) for j in range(len(cohort.parameters))])
        z = _cholesky(cohort) @ z
        for j, v in enumerate(cohort.parameters):
            if v.parameter not in pidx:
                raise ScenarioError(f"cohort.parameters.{v.parameter}: not used by the model's rate laws, "
                                    "so varying it would change nothing")
            row = pidx[v.parameter]
            if v.distribution == "lognormal":
                sigma = math.sqrt(math.log1p(v.cv**2))
                median = p[row] if v.median is None else v.median
                p[row] = median * np.exp(sigma * z[j])
            else:
                p[row] = v.low + (v.high - v.low) * ndtr(z[j])
    names = np.array([t for t, _ in tumours], dtype=object)
    return PatientBatch(ids, p, names[t_idx], np.asarray(site, dtype=object), mir21[t_idx])


# ------------------------------------------------------------------------- per-patient generators
# numpy.random.SeedSequence's constants (numpy/random/bit_generator.pyx) and PCG64's 128-bit multiplier
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R, _M32 = 0xCA01F9DD, 0x4973F715, 0xFFFFFFFF
_PCG_MULT, _M128 = 0x2360ED051FC65DA44385DF649FCCF645, (1 << 128) - 1


def _hashmix(value, h: int):
    value = value ^ np.uint32(h)
    h = (h * _MULT_A) & _M32
    value = value * np.uint32(h)
    return value ^ (value >> np.uint32(16)), h


def _mix(x, y):
    r = np.uint32(_MIX_L) * x - np.uint32(_MIX_R) * y
    return r ^ (r >> np.uint32(16))


def patient_generators(seed: int, stream: int, ids):
    """Yield ``numpy.random.default_rng([seed, stream, id])`` for each of ``ids``, in order, cheaply.

    Creating a generator costs ~70 us (SeedSequence hashing, then PCG64 seeding), ~0.14 ms per patient for
    the two streams a cohort patient uses. Here SeedSequence's hash of the three words runs vectorised
    over all ids and PCG64's seeding in Python integers; the result is set as the state of ONE reused
    generator (~8 us), so each yielded generator must be used up before the next is taken. Identical
    state to ``default_rng`` (checked in tests/test_cohort.py); ids, seed or stream outside 32 bits fall
    back to ``default_rng``.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if not (0 <= seed <= _M32 and 0 <= stream <= _M32 and (ids.size == 0 or (ids.min() >= 0 and ids.max() <= _M32))):
        for pid in ids:
            yield np.random.default_rng([seed, stream, int(pid)])
        return
    n = ids.size
    entropy = [np.full(n, seed, np.uint32), np.full(n, stream, np.uint32), ids.astype(np.uint32),
               np.zeros(n, np.uint32)]  # three words, padded with hashmix(0) to the pool size 4
    h, pool = _INIT_A, []
    for word in entropy:
        v, h = _hashmix(word, h)
        pool.append(v)
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                v, h = _hashmix(pool[i_src], h)
                pool[i_dst] = _mix(pool[i_dst], v)
    h, words = _INIT_B, []
    for i in range(8):  # generate_state(4, uint64): 8 uint32 words, little-endian pairs
        v = pool[i % 4] ^ np.uint32(h)
        h = (h * _MULT_B) & _M32
        v = v * np.uint32(h)
        words.append(v ^ (v >> np.uint32(16)))
    w = [(words[2 * k].astype(np.uint64) | (words[2 * k + 1].astype(np.uint64) << np.uint64(32))).tolist()
         for k in range(4)]
    rng = np.random.Generator(np.random.PCG64(0))
    for j in range(n):
        initstate, initseq = (w[0][j] << 64) | w[1][j], (w[2][j] << 64) | w[3][j]
        inc = ((initseq << 1) | 1) & _M128
        state = (inc + initstate) & _M128  # pcg_setseq_128_srandom_r: step from 0 (-> inc), add, step
        state = (state * _PCG_MULT + inc) & _M128
        rng.bit_generator.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
                                   "has_uint32": 0, "uinteger": 0}
        yield rng


__all__ = ["Cohort", "PatientBatch", "Variation", "parse_cohort", "patient_generators", "sample_patients", "uniforms"]
