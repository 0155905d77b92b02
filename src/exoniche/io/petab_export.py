"""Write an exoniche problem and measurement rows as a PEtab v1 problem (SBML model + tables + YAML).

Two writers share :func:`write_tables` (SBML file, the four tables, the YAML):

:func:`write_petab` takes one scenario's problem, a list of measurement rows and the parameters to
estimate. A measurement row is a mapping with

* ``observable``: a species or named expression of the mechanism (e.g. ``"E_tum"``, ``"Perm_lung"``);
* ``time`` (day), ``measurement`` (value in the species' unit), ``sigma`` (> 0, same unit);
* optionally ``transformation`` (``lin``, ``log``, ``log10``; default ``lin``) and ``dataset`` (an id).

Each distinct (observable, transformation) becomes one PEtab observable with normal noise whose sigma is
given per row. Estimated parameters are given as ``(id, lower, upper, scale)``; their nominal values are
the scenario's. The SBML file is :func:`exoniche.io.sbml.to_sbml` of the problem (events included).

:func:`write_calibration_petab` writes the whole-body model with the packaged calibration datasets of
``exoniche calibrate`` (:mod:`exoniche.experiments.model_calibration`): one condition per experiment of
those datasets, one observable per fitted read-out, the calibrated parameters estimated (see the function).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import yaml

from exoniche.engines.problem import Problem
from exoniche.errors import DataError, ModelError

CONDITION = "scenario"
PARAMETER_COLUMNS = ["parameterId", "parameterScale", "lowerBound", "upperBound", "nominalValue", "estimate"]


def _sid(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def write_tables(out: str | Path, problem: Problem, conditions: list[dict], observables: list[dict],
                 measurements: list[dict], parameters: list[dict], name: str) -> Path:
    """Write ``out/<name>.yaml``, the SBML of ``problem`` and the four tables (rows as PEtab columns)."""
    from exoniche.io.sbml import to_sbml

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"sbml": f"model_{name}.xml", "conditions": f"conditions_{name}.tsv",
             "observables": f"observables_{name}.tsv", "measurements": f"measurements_{name}.tsv",
             "parameters": f"parameters_{name}.tsv"}
    (out / files["sbml"]).write_text(to_sbml(problem), encoding="utf-8")
    pd.DataFrame(conditions).to_csv(out / files["conditions"], sep="\t", index=False)
    pd.DataFrame(observables).to_csv(out / files["observables"], sep="\t", index=False)
    pd.DataFrame(measurements).to_csv(out / files["measurements"], sep="\t", index=False)
    columns = PARAMETER_COLUMNS + [c for c in dict.fromkeys(k for r in parameters for k in r)
                                   if c not in PARAMETER_COLUMNS]
    pd.DataFrame(parameters, columns=columns).to_csv(out / files["parameters"], sep="\t", index=False)
    spec = {"format_version": 1, "parameter_file": files["parameters"],
            "problems": [{"sbml_files": [files["sbml"]], "condition_files": [files["conditions"]],
                          "measurement_files": [files["measurements"]], "observable_files": [files["observables"]]}]}
    path = out / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def write_petab(out: str | Path, problem: Problem, measurements: list[dict], estimate: list[tuple],
                name: str = "exoniche") -> Path:
    """Write ``out/<name>.yaml`` and its files; returns the YAML path. Bad rows raise DataError."""
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
    conditions = [{"conditionId": CONDITION, "conditionName": problem.label or "exoniche scenario"}]
    return write_tables(out, problem, conditions, obs_rows, meas_rows, par_rows, name)


# ---------------------------------------------------------------------------------- the packaged calibration
CALIBRATION_NAME = "exoniche_calibration"
AUX_LN_DROP = "aux_ln_E_inj_drop"  # ln E_inj(6 h) - ln E_inj(t), for t >= 6 h (0 before)
AUX_SHED = "aux_shed_cells"  # tumour cells shed by primary and metastases since day 0
BETA_WINDOW_DAYS = (0.25, 1.0)  # validation.plasma_half_lives reads t1/2 beta from the log-slope 6 h .. 24 h
PRIOR_SD_LN = 10.0  # model_calibration pulls the plasma parameters with weight 0.1 per ln unit: sd 1 / 0.1
ASSAY_CELLS = 1e5  # cells injected in model_calibration.experimental_metastasis_assay
# dataset -> (condition id, what the condition is); the experiments are those of exoniche calibrate
CALIBRATION_CONDITIONS = {
    "plasma_kinetics": ("mouse_iv_B16F10_exosomes", "mouse, IV bolus of 10 ug B16-F10 exosomes at day 0, no tumour"),
    "experimental_metastasis": ("mouse_portal_B16F1_cells", "mouse, 1e5 B16-F1 cells into the portal vein at day 0, "
                                                           "no primary tumour"),
    "metastatic_efficiency": ("human_4175LuT_reference", "human, 10 g 4175-LuT primary, 180 days (reference human "
                                                         "scenario of model_calibration)"),
}


def _calibration_experiments() -> dict:
    """Map each dataset to the Experiment ``exoniche calibrate`` simulates for it (the same constructors)."""
    from exoniche.experiments.model_calibration import REFERENCE_HUMAN
    from exoniche.experiments.setup import CellChallenge, Experiment, Injection
    from exoniche.experiments.validation import DOSE_UG

    return {"plasma_kinetics": Experiment(injection=Injection("B16-F10", dose_ug=DOSE_UG), duration_days=1.0),
            "experimental_metastasis": Experiment(physiology="mouse", duration_days=13.0,
                                                  challenge=CellChallenge(0.0, ASSAY_CELLS, "portal", "B16-F1")),
            "metastatic_efficiency": Experiment(**REFERENCE_HUMAN)}


def _observables() -> dict:
    """Fitted quantity -> (observable formula, time in days, observable parameters or None)."""
    from exoniche.biology import ORGANS

    hours = (BETA_WINDOW_DAYS[1] - BETA_WINDOW_DAYS[0]) * 24.0
    colonies = " + ".join(f"Col_{o}" for o in ORGANS)
    return {"t_half_beta_h": (f"ln(2) * {hours:g} / {AUX_LN_DROP}", BETA_WINDOW_DAYS[1], None),
            "liver_metastases_per_injected_cell_day13": ("Col_liver / observableParameter1_"
                                                         "obs_liver_metastases_per_injected_cell_day13", 13.0,
                                                         f"{ASSAY_CELLS:g}"),
            "metastases_per_shed_cell": (f"({colonies}) / {AUX_SHED}", 180.0, None)}


def _augmented(problem: Problem) -> Problem:
    """Return the problem with two read-out species that do not feed back on the model (so SBML can carry them).

    ``aux_ln_E_inj_drop`` integrates -d ln(E_inj)/dt and is reset to 0 at 6 h by an event, so at 24 h it is
    ln E_inj(6 h) - ln E_inj(24 h), the log-drop a two-phase fit's terminal slope reads; ``aux_shed_cells``
    integrates the shedding of primary and metastases (the denominator of Coumans 2013's efficiency).
    """
    from dataclasses import replace

    from exoniche.biology import ORGANS, Mechanism, Process, Species
    from exoniche.engines.problem import Event

    mech = problem.mechanism
    net = " + ".join(f"({v:g}) * ({p.rate})" for p in mech.processes for s, v in p.stoich.items() if s == "E_inj")
    burden = " + ".join(["N", *(f"M_{o}" for o in ORGANS)])
    aux_species = [Species(AUX_LN_DROP, "dimensionless", "plasma", "ln E_inj(6 h) - ln E_inj(t) (read-out only)"),
                   Species(AUX_SHED, "cells", "plasma", "cells shed by primary and metastases since day 0 "
                                                        "(read-out only)", scale=1e6)]
    aux_processes = [
        Process("readout_ln_E_inj_drop", f"-({net}) / (E_inj + 1e-30)", {AUX_LN_DROP: 1}, "circulation_clearance",
                (), "read-out: minus the log-derivative of injected plasma exosomes (no feedback on the model)"),
        Process("readout_shed_cells", f"ctc_shedding_per_g_per_day * ({burden})", {AUX_SHED: 1},
                "dissemination_colonisation", (), "read-out: cumulative shedding (no feedback on the model)"),
    ]
    aug = Mechanism(list(mech.species) + aux_species, list(mech.expressions), list(mech.processes) + aux_processes)
    reset = Event(BETA_WINDOW_DAYS[0], AUX_LN_DROP, factor=0.0, label="start of the t1/2 beta window (6 h)")
    return replace(problem, mechanism=aug, events=[*problem.events, reset])


def write_calibration_petab(out: str | Path, name: str = CALIBRATION_NAME) -> Path:
    """Write the whole-body model with ``exoniche calibrate``'s datasets as one PEtab problem; return the YAML path.

    * conditions: one per dataset's experiment; every parameter that differs between them (host, tumour line,
      injected cargo, route, ...) is a condition column, and the day-0 injections (exosome dose, cells) are
      the initial amounts of ``E_inj`` / ``C_inj``;
    * observables: one per fitted read-out, log-normal noise with sigma = half the ln-width of the datum's
      range (as ``exoniche calibrate`` weights its residuals);
    * parameters: the calibrated ones estimated on a ln scale inside ``model_calibration.DATASETS``' bounds,
      nominal = packaged value (a parameter calibrated separately per host, the colonisation baseline, becomes
      one PEtab parameter per host, mapped in the condition table); the plasma pair carries the weak
      ``parameterScaleNormal`` prior (sd 10 ln units) that is the penalty of ``exoniche calibrate``; every other
      model parameter is listed fixed at its packaged value.

    Not exported: the t1/2 alpha row of ``plasma_kinetics.csv`` (a check, not fitted, by ``exoniche calibrate``).
    """
    from exoniche.experiments.model_calibration import DATASETS, FITTED_QUANTITIES, dataset

    exps = _calibration_experiments()
    if set(exps) != set(DATASETS):
        raise ModelError(f"calibration export: datasets {sorted(DATASETS)} but experiments for {sorted(exps)}")
    problems = {d: e.problem() for d, e in exps.items()}
    base = _augmented(problems["metastatic_efficiency"])
    base = type(base)(base.mechanism, base.params, max(p.t_end for p in problems.values()), None, base.events,
                      label="exoniche calibration datasets")
    numbers = {d: p.params.numbers() for d, p in problems.items()}
    varying = sorted(k for k in numbers["metastatic_efficiency"]
                     if len({numbers[d][k] for d in numbers}) > 1)
    hosts = {d: e.physiology for d, e in exps.items()}
    # estimated parameters: a condition-dependent one becomes <id>__<host>
    estimated: dict[str, dict] = {}
    for d, box in DATASETS.items():
        for pid, (lo, hi) in box.items():
            est_id = f"{pid}__{hosts[d]}" if pid in varying else pid
            estimated.setdefault(est_id, {"model": pid, "lower": lo, "upper": hi, "nominal": numbers[d][pid],
                                          "prior": pid not in varying and d == "plasma_kinetics"})
    conditions = []
    for d, prob in problems.items():
        cid, text = CALIBRATION_CONDITIONS[d]
        row = {"conditionId": cid, "conditionName": text}
        for k in varying:
            est = [e for e, v in estimated.items() if v["model"] == k and e.endswith(f"__{hosts[d]}")]
            row[k] = est[0] if est else numbers[d][k]
        day0 = {"E_inj": 0.0, "C_inj": 0.0}
        for ev in prob.events:
            if ev.time != 0 or getattr(ev, "species", None) not in day0:
                raise ModelError(f"calibration export: event {ev} of dataset {d} is not a day-0 injection")
            day0[ev.species] = ev.apply(day0[ev.species])
        row.update(day0)
        conditions.append(row)
    obs_def = _observables()
    obs_rows, meas_rows = [], []
    for d in DATASETS:
        table = dataset(d).set_index("quantity")
        for q in FITTED_QUANTITIES[d]:
            formula, t, obs_par = obs_def[q]
            oid = f"obs_{q}"
            r = table.loc[q]
            sigma = max(math.log(float(r["high"]) / float(r["low"])) / 2.0, 1e-3)
            obs_rows.append({"observableId": oid, "observableName": f"{q} ({r['unit']})",
                             "observableFormula": formula, "observableTransformation": "log",
                             "noiseFormula": f"noiseParameter1_{oid}", "noiseDistribution": "normal"})
            meas_rows.append({"observableId": oid, "simulationConditionId": CALIBRATION_CONDITIONS[d][0],
                              "measurement": float(r["value"]), "time": t,
                              "observableParameters": obs_par if obs_par is not None else "",
                              "noiseParameters": sigma, "datasetId": d})
    par_rows = []
    for est_id, v in estimated.items():
        row = {"parameterId": est_id, "parameterName": v["model"], "parameterScale": "log",
               "lowerBound": float(v["lower"]), "upperBound": float(v["upper"]), "nominalValue": float(v["nominal"]),
               "estimate": 1}
        if v["prior"]:
            row.update(objectivePriorType="parameterScaleNormal",
                       objectivePriorParameters=f"{math.log(v['nominal'])!r};{PRIOR_SD_LN:g}")
        par_rows.append(row)
    fixed = base.params.numbers()
    in_model = _sbml_parameters(base)
    for pid in sorted(in_model):
        if pid in varying or pid in estimated:
            continue
        par_rows.append({"parameterId": pid, "parameterName": pid, "parameterScale": "lin",
                         "lowerBound": "", "upperBound": "", "nominalValue": float(fixed[pid]), "estimate": 0})
    return write_tables(out, base, conditions, obs_rows, meas_rows, par_rows, name)


def _sbml_parameters(problem: Problem) -> set[str]:
    """Return the exoniche parameters that the SBML export writes as constant SBML parameters."""
    from exoniche.engines.functions import compile_mechanism

    return set(compile_mechanism(problem.mechanism, problem.params).parameters)
