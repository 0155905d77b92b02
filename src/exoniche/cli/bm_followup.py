"""`exoniche biomarkers survival|monitor`: prognosis (REMARK-style) and a patient's series over time."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer
from rich.table import Table

from exoniche.biomarkers.analyses import parse_cv, parse_floats
from exoniche.cli._common import JSON_OPTION, _clean, console, print_json


def _fmt(x, spec: str = ".3g") -> str:
    try:
        return "-" if x is None or math.isnan(x) else format(x, spec)
    except (TypeError, ValueError):
        return str(x)


def _remark_table(a, doc: dict) -> Table:
    """REMARK items 12-17: patients, events, follow-up, univariable and multivariable HRs with CIs."""
    t = Table(
        title=f"REMARK summary: {a.source} (n = {doc['n']}, events = {doc['events']}, "
        f"median follow-up {_fmt(doc['followup_median'])} by reverse KM)"
    )
    for col in ("covariate", "n", "events", "HR uni (95% CI)", "p", "HR multi (95% CI)", "p ", "PH p"):
        t.add_column(col, justify="right" if col not in ("covariate",) else "left")
    uni = {u["covariate"]: u for u in doc.get("cox_univariable", [])}
    ph = doc.get("ph_test") or {}
    for c in doc["cox"]:
        u = uni[c["covariate"]]
        t.add_row(
            c["covariate"],
            str(u["n"]),
            str(u["events"]),
            f"{u['hr']:.2f} ({u['hr_ci_low']:.2f}-{u['hr_ci_high']:.2f})",
            _fmt(u["p"], ".2g"),
            f"{c['hr']:.2f} ({c['hr_ci_low']:.2f}-{c['hr_ci_high']:.2f})",
            _fmt(c["p"], ".2g"),
            _fmt(ph.get(c["covariate"], {}).get("p"), ".2g"),
        )
    return t


def _km_table(name: str, km: dict, at: list[float]) -> Table:
    t = Table(
        title=f"Kaplan-Meier {name}: n = {km['n']}, events = {km['events']}, median "
        f"{_fmt(km['median'])} (95% CI {_fmt(km['median_ci_low'])}-{_fmt(km['median_ci_high'])})"
    )
    for col in ("time", "at risk", "survival", "95% CI"):
        t.add_column(col, justify="right")
    rows = [r for r in km["table"] if r["requested"]] if at else km["table"][:: max(1, len(km["table"]) // 8)]
    for r in rows:
        t.add_row(
            _fmt(r["time"], "g"),
            str(r["at_risk"]),
            f"{r['survival']:.3f}",
            f"{_fmt(r['ci_low'], '.3f')}-{_fmt(r['ci_high'], '.3f')}",
        )
    return t


def survival(
    data: Path = typer.Argument(..., help="Table: CSV, TSV, Parquet or Excel, one row per patient."),
    time: str = typer.Option(..., "--time", help="Follow-up time column (>= 0)."),
    event: str = typer.Option(..., "--event", help="Event column: 0/1, 1/2 (R: 2 = event) or TRUE/FALSE."),
    covariate: list[str] = typer.Option(None, "--covariate", help="Cox covariate (repeat for several)."),
    group: str = typer.Option(None, "--group", help="Column whose levels get KM curves and a log-rank test."),
    at: str = typer.Option(None, "--at", help="Times to add to the KM tables, e.g. 180,365."),
    ties: str = typer.Option("efron", "--ties", help="Cox ties: efron (R's default) or breslow."),
    strata: str = typer.Option(
        None, "--strata", help="Stratified Cox: each level of this column gets its own baseline hazard."
    ),
    competing: bool = typer.Option(
        False,
        "--competing",
        help="Competing risks: --event codes 0 = censored, 1 = event of interest, 2.. = competing; "
        "cumulative incidence (cmprsk cuminc), Gray's test per cause, Fine-Gray for --covariate.",
    ),
    missing: str = typer.Option(
        "error", "--missing", help="error (default) or drop (complete cases per part)."
    ),
    out: Path = typer.Option(None, "--out", help="Folder for km.png, cox_forest.png and survival.json."),
    json_: bool = JSON_OPTION,
) -> None:
    """Kaplan-Meier, log-rank, Cox PH with PH check, C-index and AUC(t); results equal R's survival."""
    from exoniche.biomarkers.data import read_table
    from exoniche.biomarkers.survival import analyze_survival

    df = read_table(data)
    if competing:
        _competing(df, time, event, covariate or [], group, parse_floats(at, "--at"), missing, out, json_)
        return
    a = analyze_survival(
        df, time, event, covariate or [], group=group, at=parse_floats(at, "--at"), ties=ties, missing=missing,
        strata=strata,
    )  # fmt: skip
    doc = a.to_dict()
    if out is not None:
        doc["files"] = _write_survival(a, doc, out)
    if json_:
        print_json(doc)
        return
    console.print(f"event coding: {doc['event_coding']}")
    kms = doc["km"] if group else {"all": doc["km"]}
    for name, km in kms.items():
        console.print(_km_table(f"{group}={name}" if group else name, km, a.at))
    if doc["logrank"]:
        lr = doc["logrank"]
        console.print(f"log-rank: chi-square {lr['chisq']:.3f} on {lr['df']} df, p = {lr['p']:.3g}")
    if doc["cox"]:
        console.print(_remark_table(a, doc))
        m = doc["cox_model"]
        console.print(
            f"Cox ({m['ties']} ties): n = {m['n']} ({m['n_dropped_missing']} dropped for missing values), "
            f"LR test {m['lr_test']['statistic']:.2f} (p = {m['lr_test']['p']:.2g}); "
            f"C-index {doc['c_index']:.3f} (SE {doc['concordance']['std']:.3f}); "
            + (f"global PH test p = {doc['ph_test']['GLOBAL']['p']:.2g}" if doc["ph_test"] else
               f"stratified by {m['strata']} (no PH test)")
        )
        console.print(
            "AUC(t) of the Cox score (Uno IPCW): "
            + ", ".join(f"t={r['time']:g}: {_fmt(r['auc'], '.3f')}" for r in doc["td_auc"])
        )
    for kind, path in doc.get("files", {}).items():
        console.print(f"wrote {kind}: {path}")


def _competing(df, time, event, covariates, group, at, missing, out, json_) -> None:
    from exoniche.biomarkers.competing import analyze_competing

    res = analyze_competing(df, time, event, covariates, group=group, at=at, missing=missing)
    doc = res.to_dict()
    if out is not None:
        from exoniche.io.figures import save_figure

        out.mkdir(parents=True, exist_ok=True)
        save_figure(res.plot(), out / "cif_stacked.png")
        (out / "competing.json").write_text(json.dumps(_clean(doc), indent=2) + "\n", encoding="utf-8")
        doc["files"] = {"cif_plot": str(out / "cif_stacked.png"), "json": str(out / "competing.json")}
    if json_:
        print_json(doc)
        return
    console.print(f"competing risks: n = {doc['n']}, events by code {doc['events']} (0 = censored)")
    t = Table(title="Cumulative incidence (Aalen-Johansen, cmprsk variance)")
    for col in ("group", "cause", "time", "CIF", "SE"):
        t.add_column(col, justify="right")
    rows = doc["cif"] if at else [r for r in doc["cif"] if r["time"] == max(
        x["time"] for x in doc["cif"] if x["group"] == r["group"] and x["cause"] == r["cause"])]  # fmt: skip
    for r in rows:
        se = None if r["variance"] is None else math.sqrt(r["variance"])
        t.add_row(r["group"], str(r["cause"]), _fmt(r["time"], "g"), _fmt(r["estimate"], ".3f"), _fmt(se, ".3f"))
    console.print(t)
    for g in doc["gray"]:
        console.print(f"Gray's test, cause {g['cause']}: {_fmt(g['stat'], '.3f')} on {g['df']} df, p = {_fmt(g['p'])}")
    if doc["finegray"]:
        t = Table(title="Fine-Gray subdistribution hazards (cause 1)")
        for col in ("covariate", "coef", "SE (robust)", "z", "p", "sHR"):
            t.add_column(col, justify="right")
        for r in doc["finegray"]:
            t.add_row(r["covariate"], *(_fmt(r[k], ".4g") for k in ("coef", "se", "z", "p", "shr")))
        console.print(t)
    for kind, path in doc.get("files", {}).items():
        console.print(f"wrote {kind}: {path}")


def _write_survival(a, doc: dict, out: Path) -> dict[str, str]:
    from exoniche.io.figures import save_figure

    out.mkdir(parents=True, exist_ok=True)
    files = {"km_plot": str(save_figure(a.plot(), out / "km.png"))}
    if a.cox is not None:
        files["forest_plot"] = str(save_figure(a.cox.plot(), out / "cox_forest.png"))
    (out / "survival.json").write_text(json.dumps(_clean(doc), indent=2) + "\n", encoding="utf-8")
    files["json"] = str(out / "survival.json")
    return files


def monitor(
    series: Path = typer.Argument(
        ..., help="Long table: patient, time, marker, value (CSV, TSV, Parquet, Excel)."
    ),
    patient: str = typer.Option(..., "--patient", help="Patient id to report on."),
    analytical_cv: list[str] = typer.Option(
        None, "--analytical-cv", help="Analytical CV: 0.05, 5%, or MARKER=0.05 (repeat per marker)."
    ),
    within_cv: list[str] = typer.Option(
        None, "--within-cv", help="Within-person CV, same forms; default: estimated from the other patients."
    ),
    marker: list[str] = typer.Option(None, "--marker", help="Marker to monitor (repeat; default: all)."),
    time_unit: str = typer.Option("days", "--time-unit", help="Unit of the time column, for labels."),
    out: Path = typer.Option(None, "--out", help="Folder for the one-page report (HTML + PNG)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Monitor a patient's series: RCV, doubling time, personal threshold, change-point and alerts."""
    from exoniche.biomarkers.data import read_table
    from exoniche.biomarkers.monitor import monitor_patient

    df = read_table(series)
    res = monitor_patient(
        df,
        patient,
        analytical_cv=parse_cv(analytical_cv, "--analytical-cv"),
        within_cv=parse_cv(within_cv, "--within-cv"),
        markers=marker or None,
        time_unit=time_unit,
    )
    doc = res.to_dict()
    if out is not None:
        import matplotlib

        matplotlib.use("Agg")
        from exoniche.io.monitor_report import write_monitor_report

        doc["files"] = {k: str(v) for k, v in write_monitor_report(res, out).items()}
    if json_:
        print_json(doc)
        return
    t = Table(title=f"Patient {res.patient}")
    for col in (
        "marker",
        "n",
        "latest",
        "change",
        "RCV down/up",
        f"doubling time ({time_unit}, 95% CI)",
        "personal limit",
        "alerts",
    ):
        t.add_column(col)
    for mk, r in res.summary.iterrows():
        t.add_row(
            str(mk),
            str(r.n),
            _fmt(r.latest_value, ".4g"),
            f"{_fmt(r.change_pct, '+.0f')}%",
            f"{r.rcv_down_pct:.0f}%/+{r.rcv_up_pct:.0f}%",
            f"{_fmt(r.doubling_time)} ({_fmt(r.doubling_ci_low)} to {_fmt(r.doubling_ci_high)})"
            if not math.isnan(r.doubling_ci_low)
            else "no significant trend",
            _fmt(r.personal_upper, ".4g"),
            r.alerts or "none",
        )
    console.print(t)
    for a in res.alerts:
        style = "bold red" if a.severity == "warning" else "dim"
        console.print(f"[{style}]{a.rule}[/] t={a.time:g}: {a.message}", highlight=False)
    if not res.alerts:
        console.print("no alert")
    for kind, path in doc.get("files", {}).items():
        console.print(f"wrote {kind}: {path}")


def register(app: typer.Typer) -> None:
    """Add the follow-up commands to the biomarkers group."""
    app.command("survival")(survival)
    app.command("monitor")(monitor)
