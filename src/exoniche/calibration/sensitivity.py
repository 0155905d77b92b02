"""Global sensitivity analysis with SALib: Sobol (Saltelli sampling) and Morris, on any function or a scenario.

:func:`analyse` (from :mod:`exoniche.experiments.gsa`, so that the open-question studies use it too) works on
any vectorised model ``f(X) -> Y`` (rows of X are samples); the Ishigami test checks it against the analytic
indices. :func:`scenario_sensitivity` runs a scenario's base experiment on the
compiled per-patient engine (the cohort engine), one "patient" per sample, in chunks that are written to the
run folder as they finish, so an interrupted run resumes where it stopped.

Parameters vary log-uniformly over ``[value / spread, value * spread]`` around the scenario's own value
(sampled on the log scale, so the indices describe orders of magnitude), or over an explicit ``lo:hi`` range.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from exoniche.errors import ModelError, ScenarioError, check_choice, unknown
from exoniche.experiments.gsa import METHODS, analyse  # the generic SALib part lives in a lower layer

__all__ = ["METHODS", "analyse", "parse_ranges", "scenario_sensitivity"]
CHUNK = 256  # samples per engine call / per file of the run folder


# The only coupling to the whole-body model's species names: named outputs -> how to read them from the run.
def _outputs_catalogue() -> dict:
    from exoniche.biology import NICHE_INDICES, ORGANS

    cat = {}
    for o in ORGANS:
        cat[f"{o}_metastases"] = ([f"Col_{o}"], "expected metastases seeded in the organ by the last day")
        cat[f"{o}_metastatic_mass"] = ([f"M_{o}"], "metastatic mass in the organ on the last day (g)")
        cat[f"{o}_niche"] = ([f"{i}_{o}" for i in NICHE_INDICES],
                             "mean fold over healthy of the organ's niche indices on the last day")
    cat["primary_mass"] = (["N"], "primary tumour mass on the last day (g)")
    return cat


def _read_output(name: str, species_index: dict, y_last: np.ndarray) -> np.ndarray:
    species, _ = _outputs_catalogue()[name]
    return np.mean([y_last[species_index[s]] for s in species], axis=0)


def parse_ranges(experiment, params: list[str], spread: float) -> tuple[list[tuple[float, float]], list[bool]]:
    """``name`` or ``name=lo:hi`` -> (bounds on the sampling scale, log flags); the base value must be > 0."""
    base = experiment.parameters()
    bounds, logs = [], []
    if spread <= 1:
        raise ScenarioError(f"--spread: {spread} must be > 1 (parameters vary over [value/spread, value*spread])")
    for item in params:
        name, _, rng = item.partition("=")
        if name not in base.numbers():
            raise unknown("--params", name, base.numbers(), what="parameter", label=None)
        if rng:
            try:
                lo, hi = (float(v) for v in rng.split(":"))
            except ValueError:
                raise ScenarioError(f"--params: range of {name} must be lo:hi, got {rng!r}") from None
            if not 0 <= lo < hi:
                raise ScenarioError(f"--params: range of {name} must satisfy 0 <= lo < hi, got {lo:g}:{hi:g}")
            bounds.append((lo, hi))
            logs.append(False)
            continue
        v = base.value(name)
        if v <= 0:
            raise ScenarioError(f"--params: {name} is {v:g} in this scenario; give a range {name}=lo:hi")
        bounds.append((float(np.log(v / spread)), float(np.log(v * spread))))
        logs.append(True)
    return bounds, logs


def scenario_sensitivity(scenario_path: str | Path, method: str, n: int, params: list[str], outputs: list[str], *,
                         seed: int = 1, second_order: bool = False, spread: float = 2.0, workers: int = 1,
                         out: Path | None = None, progress=None) -> dict:
    """Sobol or Morris indices of named outputs of a scenario's base experiment (see the module docstring)."""
    from exoniche.engines import numba_bdf
    from exoniche.experiments.scenario import load_scenario

    cat = _outputs_catalogue()
    if not params:
        raise ScenarioError("--params: give at least one parameter (comma-separated)")
    if not outputs:
        raise ScenarioError("--outputs: give at least one output (comma-separated)")
    for o in outputs:
        check_choice("--outputs", o, cat, what="output")
    if workers < 1:
        raise ScenarioError(f"--workers: {workers} must be at least 1")
    scen = load_scenario(scenario_path)
    exp = scen.base
    problem = exp.problem()
    bounds, logs = parse_ranges(exp, params, spread)
    names = [p.partition("=")[0] for p in params]
    kern = numba_bdf.kernel(problem.mechanism, problem.params)
    comp = kern.functions
    base = np.array(comp.param_vector(problem.params), dtype=float)
    pidx = {p: i for i, p in enumerate(comp.parameters)}
    unused = [nm for nm in names if nm not in pidx]
    if unused:
        raise ScenarioError(f"--params: {', '.join(unused)} not read by the mechanism in this scenario")
    sidx = {s: i for i, s in enumerate(comp.species)}
    t0 = time.perf_counter()
    chunk_dir = Path(out) / "chunks" if out is not None else None
    if chunk_dir is not None:
        chunk_dir.mkdir(parents=True, exist_ok=True)
    counter = {"done": 0, "resumed": 0}

    def model(X: np.ndarray) -> np.ndarray:
        values = np.where(np.array(logs)[None, :], np.exp(X), X)
        Y = np.empty((X.shape[0], len(outputs)))
        chunks = [(k, slice(s, min(s + CHUNK, X.shape[0]))) for k, s in enumerate(range(0, X.shape[0], CHUNK))]
        todo = []
        for k, sl in chunks:
            key = hashlib.sha256(values[sl].tobytes() + json.dumps([outputs, names, str(scenario_path)]).encode())
            path = chunk_dir / f"chunk_{k:05d}_{key.hexdigest()[:16]}.npy" if chunk_dir is not None else None
            if path is not None and path.is_file():
                Y[sl] = np.load(path)
                counter["resumed"] += 1
            else:
                todo.append((k, sl, path))
        run_chunks(todo, values, Y)
        return Y

    def run_chunks(todo, values, Y):
        jobs = [(values[sl], sl, path) for _, sl, path in todo]
        if workers > 1 and len(jobs) > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=workers) as pool:
                args = [(str(scenario_path), names, outputs, v) for v, _, _ in jobs]
                for (_, sl, path), y in zip(jobs, pool.map(_chunk, args)):
                    _store(Y, sl, path, y, counter, progress, len(jobs))
        else:
            for v, sl, path in jobs:
                y = _evaluate(kern, problem, base, pidx, sidx, names, outputs, v)
                _store(Y, sl, path, y, counter, progress, len(jobs))

    result = analyse(model, names, bounds, method, n, seed, second_order, outputs)
    result.update({"scenario": str(scenario_path), "spread": spread, "log_scale": dict(zip(names, logs)),
                   "chunks_resumed": counter["resumed"], "chunks_run": counter["done"],
                   "outputs_described": {o: cat[o][1] for o in outputs}, "wall_s": time.perf_counter() - t0})
    if out is not None:
        (Path(out) / "sensitivity.json").write_text(json.dumps(result, indent=1))
    return result


def _store(Y, sl, path, y, counter, progress, total):
    Y[sl] = y
    if path is not None:
        np.save(path, y)
    counter["done"] += 1
    if progress:
        progress(counter["done"] / total)


def _evaluate(kern, problem, base, pidx, sidx, names, outputs, values: np.ndarray) -> np.ndarray:
    from exoniche.engines import numba_bdf

    p = np.repeat(base[:, None], values.shape[0], axis=1)
    for j, nm in enumerate(names):
        p[pidx[nm]] = values[:, j]
    # initial amounts that are formulas over parameters follow the sampled values (compiled.integrate does it)
    try:
        _, y = numba_bdf.integrate(problem, np.ascontiguousarray(p), kern=kern)
    except ModelError as exc:
        raise ScenarioError(f"a sampled parameter set could not be simulated ({exc}); narrow --spread or give "
                            "physical ranges as name=lo:hi (fractions must stay within 0..1)") from None
    last = y[:, -1, :]
    return np.stack([_read_output(o, sidx, last) for o in outputs], axis=1)


def _chunk(args) -> np.ndarray:
    from exoniche.engines import numba_bdf
    from exoniche.experiments.scenario import load_scenario

    scenario_path, names, outputs, values = args
    problem = load_scenario(scenario_path).base.problem()
    kern = numba_bdf.kernel(problem.mechanism, problem.params)
    comp = kern.functions
    base = np.array(comp.param_vector(problem.params), dtype=float)
    pidx = {p: i for i, p in enumerate(comp.parameters)}
    sidx = {s: i for i, s in enumerate(comp.species)}
    return _evaluate(kern, problem, base, pidx, sidx, names, outputs, values)
