"""Write an exoniche problem and measurement rows as a PEtab v1 problem (SBML model + tables + YAML).

The small interface the calibration datasets plug into: :func:`write_petab` takes the scenario's problem,
a list of measurement rows and the parameters to estimate. A measurement row is a mapping with

* ``observable``: a species or named expression of the mechanism (e.g. ``"E_tum"``, ``"Perm_lung"``);
* ``time`` (day), ``measurement`` (value in the species' unit), ``sigma`` (> 0, same unit);
* optionally ``transformation`` (``lin``, ``log``, ``log10``; default ``lin``) and ``dataset`` (an id).

Each distinct (observable, transformation) becomes one PEtab observable with normal noise whose sigma is
given per row. Estimated parameters are given as ``(id, lower, upper, scale)``; their nominal values are
the scenario's. The SBML file is :func:`exoniche.io.sbml.to_sbml` of the problem (events included).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import yaml

from exoniche.engines.problem import Problem
from exoniche.errors import DataError

CONDITION = "scenario"


def _sid(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def write_petab(out: str | Path, problem: Problem, measurements: list[dict], estimate: list[tuple],
                name: str = "exoniche") -> Path:
    """Write ``out/<name>.yaml`` and its files; returns the YAML path. Bad rows raise DataError."""
    from exoniche.io.sbml import to_sbml

    out = Path(out)
    known = set(problem.mechanism.species_names()) | {e.name for e in problem.mechanism.expressions}
    obs_rows, meas_rows, obs_ids = [], [], {}
    for k, row in enumerate(measurements, start=1):
        where = f"measurement row {k}"
        try:
            obs, t, value, sigma = row["observable"], float(row["time"]), float(row["measurement"]), float(row["sigma"])
        except KeyError as exc:
            raise DataError(f"{where}: missing field {exc.args[0]!r} (need observable, time, measurement, sigma)") \
                from None
        except (TypeError, ValueError):
            raise DataError(f"{where}: time, measurement and sigma must be numbers") from None
        if obs not in known:
            raise DataError(f"{where}: observable {obs!r} is neither a species nor an expression of the mechanism")
        trans = row.get("transformation", "lin")
        if trans not in ("lin", "log", "log10"):
            raise DataError(f"{where}: transformation {trans!r}; allowed: lin, log, log10")
        if not (math.isfinite(sigma) and sigma > 0):
            raise DataError(f"{where}: sigma {sigma!r} must be > 0")
        if not 0 <= t <= problem.t_end:
            raise DataError(f"{where}: time {t:g} outside the scenario's 0..{problem.t_end:g} days")
        oid = obs_ids.setdefault((obs, trans), _sid(f"obs_{obs}" + ("" if trans == "lin" else f"_{trans}")))
        if len(obs_rows) < len(obs_ids):
            obs_rows.append({"observableId": oid, "observableFormula": obs, "observableTransformation": trans,
                             "noiseFormula": f"noiseParameter1_{oid}", "noiseDistribution": "normal"})
        meas_rows.append({"observableId": oid, "simulationConditionId": CONDITION, "measurement": value,
                          "time": t, "noiseParameters": sigma,
                          "datasetId": _sid(str(row.get("dataset", oid)))})
    if not meas_rows:
        raise DataError("measurements: no rows given")
    values = problem.params.numbers()
    par_rows = []
    for item in estimate:
        pid, lo, hi, scale = item
        if pid not in values:
            raise DataError(f"estimate: unknown parameter {pid!r}")
        par_rows.append({"parameterId": pid, "parameterScale": scale, "lowerBound": float(lo),
                         "upperBound": float(hi), "nominalValue": values[pid], "estimate": 1})
    out.mkdir(parents=True, exist_ok=True)
    files = {"sbml": f"model_{name}.xml", "conditions": f"conditions_{name}.tsv",
             "observables": f"observables_{name}.tsv", "measurements": f"measurements_{name}.tsv",
             "parameters": f"parameters_{name}.tsv"}
    (out / files["sbml"]).write_text(to_sbml(problem), encoding="utf-8")
    pd.DataFrame([{"conditionId": CONDITION, "conditionName": problem.label or "exoniche scenario"}]).to_csv(
        out / files["conditions"], sep="\t", index=False)
    pd.DataFrame(obs_rows).to_csv(out / files["observables"], sep="\t", index=False)
    pd.DataFrame(meas_rows).to_csv(out / files["measurements"], sep="\t", index=False)
    pd.DataFrame(par_rows, columns=["parameterId", "parameterScale", "lowerBound", "upperBound", "nominalValue",
                                    "estimate"]).to_csv(out / files["parameters"], sep="\t", index=False)
    spec = {"format_version": 1, "parameter_file": files["parameters"],
            "problems": [{"sbml_files": [files["sbml"]], "condition_files": [files["conditions"]],
                          "measurement_files": [files["measurements"]], "observable_files": [files["observables"]]}]}
    path = out / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path
