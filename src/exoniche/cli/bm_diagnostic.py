"""`exoniche biomarkers roc|cutpoint|panel|response`: diagnostic statistics on a measurement table."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.table import Table

from exoniche.cli._common import JSON_OPTION, console, print_json

DATA_HELP = "Measurement table: CSV, TSV, Parquet or Excel (.xlsx), one row per sample."
OUTCOME_HELP = "Column with the reference standard (two levels)."
POSITIVE_HELP = "Level of --outcome that marks a case (default: 1 or True for 0/1 or boolean columns)."
MISSING_HELP = "What to do with missing cells: 'error' (report them by row) or 'drop' (complete cases)."
ID_HELP = "Sample id column, checked for duplicates."
DIRECTION_HELP = (
    "'auto' (pROC's median rule), '<' (cases higher) or '>' (cases lower); quote it in the shell."
)


def _fmt(x: float, digits: int = 3) -> str:
    return "NA" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _save_figure(ax, path: Path) -> Path:
    from exoniche.io.figures import save_figure

    return save_figure(ax, path)


def roc_command(
    data: Path = typer.Argument(..., help=DATA_HELP),
    outcome: str = typer.Option(..., "--outcome", help=OUTCOME_HELP),
    marker: list[str] = typer.Option(
        ..., "--marker", help="Marker column; repeat for several (paired tests)."
    ),
    positive: str = typer.Option(None, "--positive", help=POSITIVE_HELP),
    direction: str = typer.Option("auto", "--direction", help=DIRECTION_HELP),
    missing: str = typer.Option("error", "--missing", help=MISSING_HELP),
    sample: str = typer.Option(
        None, "--sample", help="Column splitting independent samples: one ROC per sample, unpaired tests."
    ),
    bootstrap: int = typer.Option(
        0, "--bootstrap", help="Also a stratified bootstrap CI with this many resamples."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    id_col: str = typer.Option(None, "--id", help=ID_HELP),
    partial: str = typer.Option(
        None, "--partial", help="Partial AUC range, e.g. '1,0.8' (specificity 80-100 %)."
    ),
    partial_focus: str = typer.Option("specificity", "--partial-focus", help="specificity or sensitivity."),
    partial_correct: bool = typer.Option(
        False, "--partial-correct", help="McClish-standardised partial AUC."
    ),
    percent: bool = typer.Option(
        False, "--percent", help="Report AUCs, CIs and differences in percent (pROC's percent = TRUE)."
    ),
    pr: bool = typer.Option(
        False, "--pr", help="Also the precision-recall curve and AUPRC with a stratified bootstrap CI."
    ),
    alternative: str = typer.Option(
        "two.sided", "--alternative", help="DeLong tests: two.sided, greater (AUC a > AUC b) or less."
    ),
    plot: Path = typer.Option(None, "--plot", help="Write the ROC curve(s) as a PNG."),
    out: Path = typer.Option(None, "--out", help="Folder for roc.png, roc_curves.csv and roc.json."),
    sheet: str = typer.Option(None, "--sheet", help="Excel sheet (name or 0-based position)."),
    json_: bool = JSON_OPTION,
) -> None:
    """AUC with DeLong 95 % CI per marker; paired (or unpaired, with --sample) DeLong tests between them."""
    from exoniche.biomarkers.analyses import analyze_roc, marker_list, parse_partial
    from exoniche.biomarkers.data import read_table
    from exoniche.io.biomarker_files import write_roc_files

    markers = marker_list(marker)
    bounds = parse_partial(partial)
    analysis = analyze_roc(
        read_table(data, sheet=sheet), outcome, markers, positive, source=data.name, direction=direction,
        missing=missing, sample=sample, bootstrap=bootstrap, seed=seed, id_col=id_col, partial=bounds,
        partial_focus=partial_focus, partial_correct=partial_correct, alternative=alternative, pr=pr,
        percent=percent,
    )
    result, rocs = analysis.to_dict(), analysis.rocs
    records, comparisons = result["markers"], result["comparisons"]
    written = write_roc_files(analysis, plot=plot, out=out)
    result["files"] = [str(p) for p in written]
    if json_:
        print_json(result)
        return
    table = Table(title=f"ROC: {outcome} (cases {rocs[0].n_cases}, controls {rocs[0].n_controls})")
    for col in ("marker", "direction", "AUC", "95% CI (DeLong)", *(["95% CI (bootstrap)"] if bootstrap else []),
                *(["partial AUC"] if bounds else []), *(["AUPRC (95% CI)"] if pr else []),
                "cases", "controls"):  # fmt: skip
        table.add_column(col)
    for rec in records:
        row = [
            rec["marker"],
            rec["direction"],
            _fmt(rec["auc"]),
            f"{_fmt(rec['ci_low'])}–{_fmt(rec['ci_high'])}",
        ]
        if bootstrap:
            row.append(f"{_fmt(rec['boot_ci_low'])}–{_fmt(rec['boot_ci_high'])}")
        if bounds:
            row.append(_fmt(rec["partial_auc"], 4))
        if pr:
            row.append(f"{_fmt(rec['auprc'])} ({_fmt(rec['auprc_ci_low'])}–{_fmt(rec['auprc_ci_high'])})")
        table.add_row(*row, str(rec["n_cases"]), str(rec["n_controls"]))
    console.print(table)
    if comparisons:
        table = Table(title="DeLong tests")
        for col in ("a", "b", "paired", "ΔAUC", "95% CI", "Z" if sample is None else "D", "p"):
            table.add_column(col)
        for c in comparisons:
            table.add_row(c["a"], c["b"], str(c["paired"]), _fmt(c["diff"]),
                          f"{_fmt(c['diff_ci_low'])}–{_fmt(c['diff_ci_high'])}", _fmt(c["z"]),
                          f"{c['p']:.3g}")  # fmt: skip
        console.print(table)
    for p in written:
        console.print(f"wrote {p}")


def cutpoint_command(
    data: Path = typer.Argument(..., help=DATA_HELP),
    outcome: str = typer.Option(..., "--outcome", help=OUTCOME_HELP),
    marker: list[str] = typer.Option(..., "--marker", help="Marker column; repeat for several."),
    positive: str = typer.Option(None, "--positive", help=POSITIVE_HELP),
    method: list[str] = typer.Option(
        ["youden"], "--method", help="youden, closest_topleft, 'se>=0.9' or 'sp>=0.9'; repeat for several."
    ),
    threshold: float = typer.Option(None, "--threshold", help="Evaluate this fixed threshold instead."),
    direction: str = typer.Option("auto", "--direction", help=DIRECTION_HELP),
    missing: str = typer.Option("error", "--missing", help=MISSING_HELP),
    sheet: str = typer.Option(None, "--sheet", help="Excel sheet (name or 0-based position)."),
    out: Path = typer.Option(None, "--out", help="Write the STARD table as CSV to this file."),
    id_col: str = typer.Option(None, "--id", help=ID_HELP),
    json_: bool = JSON_OPTION,
) -> None:
    """Cut-points with Se, Sp, PPV, NPV (exact CIs), LR+/LR- and the 2x2 table: a STARD-style table."""
    from exoniche.biomarkers import stard_table
    from exoniche.biomarkers.analyses import cutpoint_analysis, marker_list
    from exoniche.biomarkers.data import read_table

    doc, cuts = cutpoint_analysis(
        read_table(data, sheet=sheet), data.name, outcome, marker_list(marker), positive, methods=method,
        threshold=threshold, direction=direction, missing=missing, id_col=id_col,
    )
    table = stard_table(cuts)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False)
    if json_:
        print_json({**doc, "files": [str(out)] if out else []})
        return
    console.print(_transposed(table, f"Diagnostic accuracy (STARD): {outcome}"))
    if out:
        console.print(f"wrote {out}")


def panel_command(
    data: Path = typer.Argument(..., help=DATA_HELP),
    outcome: str = typer.Option(..., "--outcome", help=OUTCOME_HELP),
    marker: list[str] = typer.Option(
        None,
        "--marker",
        help="Candidate marker; repeat (default: every numeric column except --outcome/--id).",
    ),
    positive: str = typer.Option(None, "--positive", help=POSITIVE_HELP),
    max_size: int = typer.Option(
        None, "--max-size", help="Largest panel size (default 3; combiroc: all markers)."
    ),
    method: str = typer.Option(
        "exhaustive",
        "--method",
        help="exhaustive or greedy (logistic, CV AUC); combiroc (shared threshold, >= K positive markers); "
        "panelomix (per-marker thresholds, max SE at SP >= --min-sp, cross-validated).",
    ),
    signal_threshold: float = typer.Option(
        None, "--signal-threshold", help="combiroc: a marker is positive when its value is >= this."
    ),
    min_positive: int = typer.Option(
        1, "--min-positive", help="combiroc: a combination is positive when >= K of its markers are."
    ),
    min_se: float = typer.Option(None, "--min-se", help="combiroc: minimum SE in % for meets_min (default 0)."),
    min_sp: float = typer.Option(
        None, "--min-sp", help="combiroc: minimum SP in % (default 0); panelomix: fraction (default 0.95)."
    ),
    folds: int = typer.Option(5, "--folds", help="Stratified K-fold cross-validation."),
    repeats: int = typer.Option(5, "--repeats", help="Repeats of the K-fold split."),
    seed: int = typer.Option(0, "--seed", help="Seed of the fold split (same seed, same numbers)."),
    id_col: str = typer.Option(None, "--id", help=ID_HELP + " Never used as a marker."),
    top: int = typer.Option(20, "--top", help="Panels shown, plotted and written to JSON."),
    missing: str = typer.Option("error", "--missing", help=MISSING_HELP),
    plot: Path = typer.Option(None, "--plot", help="Write a forest plot of the top panels as PNG."),
    out: Path = typer.Option(None, "--out", help="Folder for panels.csv (all panels) and panels.png."),
    sheet: str = typer.Option(None, "--sheet", help="Excel sheet (name or 0-based position)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Marker panels: logistic (CV AUC, each vs its best single marker) or threshold rules (CombiROC, PanelomiX)."""
    from exoniche.biomarkers.analyses import candidate_markers, marker_list, panel_analysis
    from exoniche.biomarkers.data import outcome_and_markers, read_table

    df = read_table(data, sheet=sheet)
    markers = marker_list(marker)
    if method in ("combiroc", "panelomix"):
        if not markers:
            markers = candidate_markers(df, outcome, id_col)
        y, X = outcome_and_markers(df, outcome, markers, positive, data.name, missing, id_col)
        _threshold_panels(
            y, X, method, signal_threshold, min_positive, max_size, min_se, min_sp, folds, seed, top, json_
        )
        return
    res = panel_analysis(
        df, data.name, outcome, markers, positive, max_size=3 if max_size is None else max_size,
        method=method, folds=folds, repeats=repeats, seed=seed, id_col=id_col, missing=missing,
    )
    written = []
    if plot:
        written.append(_save_figure(res.plot(top=top), plot))
    if out:
        out.mkdir(parents=True, exist_ok=True)
        res.table.to_csv(out / "panels.csv", index=False)
        written += [out / "panels.csv", _save_figure(res.plot(top=top), out / "panels.png")]
    if json_:
        print_json({**res.to_dict(top=top), "files": [str(p) for p in written]})
        return
    table = Table(
        title=f"{len(res.table)} panels, {res.repeats}× {res.folds}-fold CV (cases {res.n_cases}, "
        f"controls {res.n_controls}); top {min(top, len(res.table))}"
    )
    for col in ("panel", "CV AUC", "OOF AUC (95% CI)", "best single", "ΔAUC (95% CI)", "p"):
        table.add_column(col, overflow="fold")
    for _, r in res.table.head(top).iterrows():
        delta = (
            ""
            if r["size"] == 1
            else f"{r['delta_auc']:+.3f} ({r['delta_ci_low']:+.3f} to {r['delta_ci_high']:+.3f})"
        )
        table.add_row(
            r["panel"], f"{r['cv_auc']:.3f} ± {_fmt(r['cv_auc_sd'])}",
            f"{r['oof_auc']:.3f} ({r['oof_ci_low']:.3f}–{r['oof_ci_high']:.3f})",
            r["best_single"] or "", delta, "" if r["size"] == 1 else f"{r['delta_p']:.3g}",
        )  # fmt: skip
    console.print(table)
    if res.greedy_path:
        console.print(
            "greedy path: " + " → ".join(f"{s['panel']} ({s['cv_auc']:.3f})" for s in res.greedy_path)
        )
    for p in written:
        console.print(f"wrote {p}")


def _threshold_panels(y, X, method, signal_threshold, min_positive, max_size, min_se, min_sp, folds, seed, top,
                      json_) -> None:  # fmt: skip
    from exoniche.biomarkers.threshold_panel import combiroc, panelomix
    from exoniche.errors import DataError

    if method == "panelomix":
        res = panelomix(y, X, max_size=min(3, X.shape[1]) if max_size is None else max_size,
                        min_sp=0.95 if min_sp is None else min_sp, folds=folds, seed=seed)  # fmt: skip
        if json_:
            print_json(res.to_dict())
            return
        rule = res.rule.to_dict()
        console.print(f"[bold]PanelomiX rule[/] (max SE at SP >= {res.min_sp:g}): {rule['positive_if']}")
        table = Table(title=f"Accuracy (apparent and {res.folds}-fold cross-validated, exact 95% CI)")
        for col in ("", "SE", "SP", "TP / FP / FN / TN"):
            table.add_column(col)
        for name, a in (("apparent", res.apparent), ("cross-validated", res.cross_validated)):
            table.add_row(name, f"{a['se']:.3f} ({a['se_ci_low']:.3f}–{a['se_ci_high']:.3f})",
                          f"{a['sp']:.3f} ({a['sp_ci_low']:.3f}–{a['sp_ci_high']:.3f})",
                          f"{a['tp']} / {a['fp']} / {a['fn']} / {a['tn']}")  # fmt: skip
        console.print(table)
        return
    if signal_threshold is None:
        raise DataError("--method combiroc needs --signal-threshold X (a marker is positive when value >= X)")
    res = combiroc(y, X, signal_threshold, min_positive, max_size,
                   0.0 if min_se is None else min_se, 0.0 if min_sp is None else min_sp)  # fmt: skip
    if json_:
        print_json(res.to_dict())
        return
    table = Table(
        title=f"CombiROC: {len(res.table)} combinations, threshold {signal_threshold:g}, >= {min_positive} "
        f"positive (cases {res.n_cases}, controls {res.n_controls}); top {min(top, len(res.table))} by Youden"
    )
    for col in ("combination", "pos. cases", "pos. controls", "SE %", "SP %", "Youden", "meets min"):
        table.add_column(col, overflow="fold")
    for r in res.table.head(top).itertuples(index=False):
        table.add_row(r.combination, str(r.positives_case), str(r.positives_control), f"{r.se:.1f}",
                      f"{r.sp:.1f}", f"{r.youden:.3f}", "yes" if r.meets_min else "")  # fmt: skip
    console.print(table)
    if res.all_negative_markers:
        console.print(f"negative in every sample at this threshold: {', '.join(res.all_negative_markers)}")


def _transposed(frame, title: str) -> Table:
    """One column per cut-point, one row per measure: reads on a narrow terminal."""
    table = Table(title=title)
    table.add_column("")
    for i in range(len(frame)):
        table.add_column(f"#{i + 1}", overflow="fold")
    for col in frame.columns:
        table.add_row(col, *map(str, frame[col]))
    return table


def response_command(
    data: Path = typer.Argument(
        ..., help="Wide table (--pre/--on) or long table (patient, time, marker, value)."
    ),
    outcome: str = typer.Option(..., "--outcome", help="Response column (two levels)."),
    positive: str = typer.Option(None, "--positive", help="Level meaning 'responded' (default 1/True)."),
    pre: str = typer.Option(None, "--pre", help="Wide table: column with the pre-treatment level."),
    on: str = typer.Option(
        None, "--on", help="Wide table: column with the on-treatment level (adds fold change)."
    ),
    marker: str = typer.Option(None, "--marker", help="Long table: marker name in the 'marker' column."),
    baseline: float = typer.Option(None, "--baseline", help="Long table: time of the pre-treatment visit."),
    on_time: float = typer.Option(None, "--on-time", help="Long table: time of the on-treatment visit."),
    direction: str = typer.Option("auto", "--direction", help=DIRECTION_HELP),
    method: str = typer.Option(
        "youden", "--method", help="Cut-point: youden, closest_topleft, 'se>=x', 'sp>=x'."
    ),
    missing: str = typer.Option("error", "--missing", help=MISSING_HELP),
    plot: Path = typer.Option(None, "--plot", help="Write the ROC curves as PNG."),
    sheet: str = typer.Option(None, "--sheet", help="Excel sheet (name or 0-based position)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Pre-treatment level and on-treatment fold change as predictors of response (ROC + cut-point)."""
    from exoniche.biomarkers import plot_rocs, stard_table
    from exoniche.biomarkers.analyses import analyze_response
    from exoniche.biomarkers.data import read_table

    res = analyze_response(read_table(data, sheet=sheet), outcome, positive, source=data.name, pre=pre, on=on,
                           marker=marker, baseline=baseline, on_time=on_time, direction=direction, method=method,
                           missing=missing)
    written = []
    if plot:
        written.append(
            _save_figure(plot_rocs(list(res.rocs.values()), title=f"Response: {res.marker}"), plot)
        )
    if json_:
        print_json({**res.to_dict(), "files": [str(p) for p in written]})
        return
    console.print(
        f"[bold]{res.marker}[/]: {res.n_responders} responders, {res.n_non_responders} non-responders"
    )
    tab = stard_table(list(res.cutpoints.values()))
    tab.insert(1, "AUC (95% CI)", [f"{r.auc:.3f} ({r.ci[0]:.3f}–{r.ci[1]:.3f})" for r in res.rocs.values()])
    console.print(_transposed(tab, "Treatment response"))
    if res.comparison:
        c = res.comparison
        console.print(
            f"paired DeLong, pre vs fold change: ΔAUC {c.diff:+.3f}, Z {c.statistic:.2f}, p {c.p:.3g}"
        )
    for p in written:
        console.print(f"wrote {p}")


def organotropism_command(
    data: Path = typer.Argument(..., help=DATA_HELP),
    site: str = typer.Option(..., "--site", help="Column with the metastatic site (two or more levels)."),
    marker: list[str] = typer.Option(..., "--marker", help="Exosomal marker column; repeat for several."),
    folds: int = typer.Option(5, "--folds", help="Stratified K-fold cross-validation."),
    seed: int = typer.Option(0, "--seed", help="Seed of the fold split (same seed, same numbers)."),
    min_per_site: int = typer.Option(
        0, "--min-per-site", help="Leave out (and report) sites with fewer patients than this."
    ),
    log: bool = typer.Option(True, "--log/--no-log", help="Model log10 of the markers (default) or raw values."),
    missing: str = typer.Option("error", "--missing", help=MISSING_HELP),
    plot: Path = typer.Option(None, "--plot", help="Write the confusion matrix as a PNG."),
    sheet: str = typer.Option(None, "--sheet", help="Excel sheet (name or 0-based position)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Metastatic site from an exosomal marker profile: multinomial model, CV multi-class AUC, confusion."""
    from exoniche.biomarkers.analyses import marker_list
    from exoniche.biomarkers.data import read_table
    from exoniche.biomarkers.organotropism import organotropism_table

    df = read_table(data, sheet=sheet)
    res, dropped = organotropism_table(
        df, site, marker_list(marker), missing, data.name, min_per_site, folds=folds, seed=seed, log10=log
    )
    doc = {**res.to_dict(), "dropped_sites": dropped}
    written = [_save_figure(res.plot(), plot)] if plot else []
    doc["files"] = [str(p) for p in written]
    if json_:
        print_json(doc)
        return
    mc, acc = doc["multiclass_auc"], res.accuracy
    console.print(
        f"[bold]{res.n} patients[/], sites {doc['site_counts']}; {res.folds}-fold CV multi-class AUC "
        f"(Hand & Till) {mc['auc']:.3f}; accuracy {acc['accuracy']:.3f} ({acc['ci_low']:.3f}–{acc['ci_high']:.3f}) "
        f"vs {acc['most_frequent_site_rate']:.3f} by always guessing the most frequent site"
    )
    if dropped:
        console.print(f"left out (fewer than {min_per_site} patients): {dropped}")
    table = Table(title="Confusion matrix (rows: true site, columns: predicted, out-of-fold)")
    table.add_column("")
    for s in res.sites:
        table.add_column(s, justify="right")
    for s in res.sites:
        table.add_row(s, *(str(int(v)) for v in res.confusion.loc[s]))
    console.print(table)
    table = Table(title="Coefficients per standardised marker (full-data fit)")
    table.add_column("site")
    for m in res.markers:
        table.add_column(m, justify="right")
    for s, row in res.coefficients.iterrows():
        table.add_row(str(s), *(f"{v:+.2f}" for v in row))
    console.print(table)
    for p in written:
        console.print(f"wrote {p}")


def register(app: typer.Typer) -> None:
    """Add the diagnostic commands to the biomarkers group."""
    app.command("roc")(roc_command)
    app.command("cutpoint")(cutpoint_command)
    app.command("panel")(panel_command)
    app.command("response")(response_command)
    app.command("organotropism")(organotropism_command)
