"""Model commands: simulate, validate, params, model (export lives in cli/export.py)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from exoniche.cli._common import JSON_OPTION, console, err_console, print_json


def _progress(json_: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                    TimeElapsedColumn(), console=err_console, disable=json_, transient=False)


def simulate(
    tumour: str = typer.Option("4175-LuT", "--tumour", help="Tumour preset (see `exoniche params --presets`)."),
    physiology: str = typer.Option("human", "--physiology", help="Host physiology: human or mouse."),
    initial_g: float = typer.Option(10.0, "--initial-g", help="Primary tumour mass at day 0 (g)."),
    days: float = typer.Option(180.0, "--days", help="Duration (days)."),
    immune_status: str = typer.Option("immunocompetent", "--immune-status",
                                      help="immunocompetent or immunodeficient."),
    replicates: int = typer.Option(200, "--replicates", help="Stochastic metastasis replicates."),
    seed: int = typer.Option(20190339, "--seed", help="Random seed (same seed, same numbers)."),
    out: Path = typer.Option(Path("runs/simulate"), "--out", help="Run folder to write."),
    json_: bool = JSON_OPTION,
) -> None:
    """Simulate one tumour-bearing host: niche formation per organ and metastasis risk.

    Default: a 10 g 4175-LuT lung-tropic breast tumour in a human host for 180 days.
    """
    from exoniche.errors import ScenarioError
    from exoniche.experiments import simulate as run_simulation
    from exoniche.experiments.setup import Experiment
    from exoniche.io.report import write_run

    if replicates < 1:
        raise ScenarioError(f"--replicates: {replicates} must be at least 1")
    exp = Experiment(physiology=physiology, tumour=tumour, tumour_initial_g=initial_g, duration_days=days,
                     immune_status=immune_status)
    exp.problem()  # validate inputs before any work
    with _progress(json_) as bar:
        task = bar.add_task("deterministic niche + stochastic metastasis", total=1.0)
        sim = run_simulation(exp, replicates=replicates, seed=seed,
                             progress=lambda f: bar.update(task, completed=f))
        bar.update(task, completed=1.0)
    paths = write_run(sim, out)
    if json_:
        print_json({**sim.summary, "run": paths})
        return
    s = sim.summary
    console.print(f"[bold]{tumour}[/] in a {physiology} host, {days:g} days, {replicates} replicates "
                  f"(seed {seed}): primary {initial_g:g} -> {s['tumour_final_g']:.3g} g")
    table = Table(title="Per organ")
    for col in ("organ", "uptake share", "S100", "perm.", "FN", "BMDC", "MDSC", "exp. mets",
                "P(seeded)", "P(detectable)", "median day first det."):
        table.add_column(col, justify="right" if col != "organ" else "left")
    for r in s["organs"]:
        n = r["niche"]
        med = r["median_day_first_detectable"]
        table.add_row(r["organ_name"], f"{100 * r['uptake_share']:.1f} %", f"{n['S100']:.2f}", f"{n['Perm']:.2f}",
                      f"{n['FN']:.2f}", f"{n['BMDC']:.2f}", f"{n['MDSC']:.2f}", f"{r['expected_metastases']:.3g}",
                      f"{r['p_metastasis_seeded']:.2f}", f"{r['p_metastasis_detectable']:.2f}",
                      "not reached" if med is None else f"{med:.0f}")
    console.print(table)
    console.print(f"report: {paths['report']}")

def validate(
    ids: list[str] = typer.Option(None, "--id", help="Only these targets (repeatable), e.g. --id V3."),
    robustness: bool = typer.Option(False, "--robustness", help="Rerun the targets with each estimated "
                                    "parameter x0.5 and x2, one at a time; report the fraction still passing."),
    param: list[str] = typer.Option(None, "--param", help="With --robustness: only these estimated parameters."),
    workers: int = typer.Option(1, "--workers", min=1, help="With --robustness: parallel processes."),
    out: Path = typer.Option(None, "--out", help="With --robustness: folder whose robustness.jsonl keeps "
                             "finished perturbations (an interrupted run resumes from it)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Run validation targets V1-V21 (DESIGN.md §3) with kind and margin; exit 1 if any fails."""
    from exoniche.experiments.validation import TARGETS
    from exoniche.experiments.validation import validate as run_validation

    chosen = ids or list(TARGETS)
    if robustness:
        _robustness(chosen, param, workers, out, json_)
        return
    with _progress(json_) as bar:
        task = bar.add_task("validation", total=len(chosen))
        checks = run_validation(chosen, progress=lambda k, _n, i: bar.update(task, completed=k,
                                                                           description=f"validation {i}"))
    failed = [c.id for c in checks if not c.passed]
    if json_:
        kinds = [c.kind for c in checks]
        print_json({"n": len(checks), "passed": len(checks) - len(failed), "failed": failed,
                    "n_prediction": kinds.count("prediction"), "n_calibration": kinds.count("calibration"),
                    "targets": [c.to_dict() for c in checks]})
    else:
        table = Table(title="Validation targets")
        for col in ("id", "kind", "experiment", "measured", "expected", "tolerance", "margin", "result"):
            table.add_column(col, overflow="fold")
        for c in checks:
            margin = "" if c.margin is None else f"{c.margin:+.0%}"
            table.add_row(c.id, c.kind, c.description, f"{c.measured:.3g}", c.expected, c.tolerance, margin,
                          "[green]pass[/]" if c.passed else "[red]FAIL[/]")
        console.print(table)
    if failed:
        raise typer.Exit(1)

def _robustness(chosen, params, workers, out, json_) -> None:
    import json

    from exoniche.experiments.validation import estimated_parameters, robustness

    done, store = [], None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        store = out / "robustness.jsonl"
        if store.exists():
            done = [json.loads(line) for line in store.read_text(encoding="utf-8").splitlines() if line.strip()]
    names = params or estimated_parameters()
    with _progress(json_) as bar:
        task = bar.add_task("robustness", total=2 * len(names), completed=len(done))

        def finished(r):
            if store is not None:
                with store.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(r) + "\n")
            bar.advance(task)

        res = robustness(chosen, names, workers=workers, done=done, on_result=finished)
    if json_:
        print_json(res)
        return
    table = Table(title=f"Robustness: {len(names)} estimated parameters x0.5 / x2 ({res['n_runs']} runs)")
    for col in ("target", "fraction passing", "fails under"):
        table.add_column(col, overflow="fold")
    for i, t in res["targets"].items():
        frac = "" if t["fraction_passing"] is None else f"{t['fraction_passing']:.0%}"
        table.add_row(i, frac, ", ".join(t["failing_under"][:6]) + (" ..." if len(t["failing_under"]) > 6 else ""))
    console.print(table)
    console.print(f"robust_fraction: {res['robust_fraction']:.3f}")

def calibrate(json_: bool = JSON_OPTION) -> None:
    """Refit the command-calibrated parameters to the packaged calibration tables (SciPy least squares)."""
    from exoniche.experiments.model_calibration import calibrate as run_calibration

    results = [r.to_dict() for r in run_calibration()]
    if json_:
        print_json({"datasets": results})
        return
    table = Table(title="Calibration (refit vs packaged values)")
    for col in ("dataset", "parameter", "refit", "packaged", "rel. change"):
        table.add_column(col)
    for r in results:
        for k, v in r["parameters"].items():
            table.add_row(r["dataset"], k, f"{v:.4g}", f"{r['packaged'][k]:.4g}", f"{r['relative_change'][k]:.1%}")
    console.print(table)
    for r in results:
        pairs = ", ".join(f"{q} observed {r['observed'][q]:.3g} / simulated {r['simulated'][q]:.3g}"
                          for q in r["observed"])
        console.print(f"{r['dataset']}: {pairs}")

def params(
    physiology: str = typer.Option("human", "--physiology", help="human or mouse values."),
    tumour: str = typer.Option("4175-LuT", "--tumour", help="Tumour preset for the scenario parameters."),
    presets: bool = typer.Option(False, "--presets", help="List the tumour presets instead."),
    json_: bool = JSON_OPTION,
) -> None:
    """List every model parameter: name, value, unit, provenance kind and source."""
    from exoniche import biology
    from exoniche.experiments.setup import Experiment

    if presets:
        items = [p.to_dict() for p in biology.tumour_presets().values()]
        if json_:
            print_json({"presets": items})
        else:
            table = Table("preset", "cancer type", "drainage", "description")
            for p in items:
                table.add_row(p["name"], p["cancer_type"], p["drainage"], p["description"])
            console.print(table)
        return
    records = Experiment(physiology=physiology, tumour=tumour).parameters().to_records()
    if json_:
        print_json({"physiology": physiology, "tumour": tumour, "n": len(records), "parameters": records})
        return
    table = Table(title=f"{len(records)} parameters ({physiology} host, {tumour})")
    for col in ("name", "value", "unit", "kind", "source"):
        table.add_column(col, overflow="fold")
    for r in records:
        table.add_row(r["name"], f"{r['value']:.4g}", r["unit"], r["kind"], r["source"])
    console.print(table)

def model(
    json_: bool = JSON_OPTION,
    figure: Path = typer.Option(None, "--figure", help="Also draw the circulation structure to this PNG."),
) -> None:
    """Print the mechanism: species, and every process as a reaction with its rate law and cited claims."""
    from exoniche import biology

    m = biology.mechanism()
    if figure is not None:
        from exoniche.io.model_figure import circulation_figure

        circulation_figure(m, figure)
    if json_:
        print_json({
            "species": [s.__dict__ for s in m.species],
            "expressions": [e.__dict__ for e in m.expressions],
            "processes": [{**p.__dict__, "reaction": p.reaction()} for p in m.processes],
        })
        return
    console.print(f"[bold]{len(m.species)} species, {len(m.processes)} processes, "
                  f"{len(m.expressions)} named expressions[/]")
    for hallmark in biology.HALLMARKS:
        procs = [p for p in m.processes if p.hallmark == hallmark]
        if not procs:
            continue
        console.print(f"\n[bold underline]{hallmark.replace('_', ' ')}[/] ({len(procs)} processes)")
        for p in procs:
            refs = f"; {'; '.join(p.refs)}" if p.refs else ""
            console.print(f"  [cyan]{p.name}[/]: {p.reaction()}   rate = {p.rate}", highlight=False)
            console.print(f"      {p.description}  [claims {', '.join(p.claims)}{refs}]", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(simulate)
    app.command()(validate)
    app.command()(calibrate)
    app.command()(params)
    app.command()(model)
