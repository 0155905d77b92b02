"""Scenario-level commands: run, compare, study (and cohort, registered from cli/cohort.py).

Exit codes: 0 success, 2 a malformed scenario or bad option (message names file, field and value).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from exoniche.cli._common import JSON_OPTION, console, print_json
from exoniche.cli.model import _progress

STUDIES = ("sources", "interactions", "resection", "schedules")


def _print_comparison(cmp, paths: dict) -> None:
    console.print(f"[bold]{cmp.name}[/]: {len(cmp.arms)} arm(s), {cmp.replicates} replicates each, seed {cmp.seed}, "
                  f"{cmp.arms[0].summary['days']:g} days")
    arms = Table(title="Arms")
    for col in ("arm", "interventions", "primary at end (g)", "CD8+ spleen", "P(any detectable) [95% CI]",
                "median day first det."):
        arms.add_column(col, overflow="fold")
    for a in cmp.arms:
        s = a.summary
        ci = s["p_any_detectable_ci"]
        med = s["median_day_first_detectable_any"]
        arms.add_row(a.name, "; ".join(s["interventions"]) or "—", f"{s['tumour_final_g']:.3g}",
                     f"{s['cd8_spleen_fold_final']:.2f}", f"{s['p_any_detectable']:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]",
                     "not reached" if med is None else f"{med:.0f}")
    console.print(arms)
    table = Table(title="Per organ (niche indices at the last read-out day)")
    for col in ("arm", "organ", "uptake", "S100", "Perm", "FN", "BMDC", "exp. mets", "P(seeded)",
                "P(detectable) [95% CI]"):
        table.add_column(col, justify="left" if col in ("arm", "organ") else "right")
    for a in cmp.arms:
        for r in a.summary["organs"]:
            niche = list(r["niche"].values())[-1]
            upt = [v for v in r["uptake_pct_injected_dose"].values() if v is not None]
            upt_s = f"{upt[-1]:.2f} %ID" if upt else f"{100 * r['tumour_uptake_share']:.1f} %"
            ci = r["p_detectable_ci"]
            table.add_row(a.name, r["organ_name"], upt_s, f"{niche['S100']:.2f}", f"{niche['Perm']:.2f}",
                          f"{niche['FN']:.2f}", f"{niche['BMDC']:.2f}", f"{r['expected_metastases']:.3g}",
                          f"{r['p_seeded']:.2f}", f"{r['p_detectable']:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]")
    console.print(table)
    console.print(f"report: {paths['report']}")


def _run_files(files: list[Path], out: Path, json_: bool, workers: int | None, command: str) -> None:
    from exoniche.errors import ScenarioError
    from exoniche.experiments import compare_scenarios
    from exoniche.experiments.scenario import load_scenario
    from exoniche.io.compare_report import run_document, write_comparison

    if workers is not None and workers < 1:
        raise ScenarioError(f"--workers: {workers} must be at least 1")
    scenarios = [load_scenario(f) for f in files]
    n_arms = sum(len(s.arms) for s in scenarios)
    with _progress(json_) as bar:
        task = bar.add_task(f"{n_arms} arm(s) x {scenarios[0].replicates} replicates", total=n_arms)
        cmp = compare_scenarios(scenarios, workers=workers,
                                progress=lambda done, _total: bar.update(task, completed=done))
    paths = write_comparison(cmp, out, command, [str(f) for f in files])
    if json_:
        print_json(run_document(cmp, paths))
        return
    _print_comparison(cmp, paths)


def run(
    scenario: Path = typer.Argument(..., help="Scenario TOML file (see docs/scenarios.md)."),
    out: Path = typer.Option(None, "--out", help="Run folder to write (default: runs/<scenario name>)."),
    workers: int = typer.Option(None, "--workers", help="Worker processes (default: all cores)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Run one scenario file (all its arms): tables, figures, HTML report and a run folder."""
    _run_files([scenario], out or Path("runs") / scenario.stem, json_, workers,
               f"exoniche run {scenario}")

def compare(
    scenarios: list[Path] = typer.Argument(..., help="Scenario files; every arm of every file is compared."),
    out: Path = typer.Option(Path("runs/compare"), "--out", help="Run folder to write."),
    workers: int = typer.Option(None, "--workers", help="Worker processes (default: all cores)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Compare scenario files as arms (a file with several arms, or several files)."""
    _run_files(list(scenarios), out, json_, workers, "exoniche compare " + " ".join(map(str, scenarios)))

def study(
    name: str = typer.Argument(..., help=f"One of: {', '.join((*STUDIES, 'biomarkers'))}."),
    out: Path = typer.Option(None, "--out", help="Report folder (default: runs/study-<name>)."),
    workers: int = typer.Option(None, "--workers", help="Worker processes (default: all cores)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Run a built-in study of the review's open questions.

    One of: sources, interactions, resection, schedules, biomarkers.
    """
    from exoniche.errors import unknown
    from exoniche.io.study_report import ALL_STUDIES, run_and_write

    if name not in ALL_STUDIES:
        raise unknown("study", name, ALL_STUDIES)
    with _progress(json_) as bar:
        task = bar.add_task(f"study {name}", total=1.0)
        res = run_and_write(name, out or Path("runs") / f"study-{name}", workers=workers,
                            progress=lambda done, total: bar.update(task, completed=done / total))
    if json_:
        print_json(res)
        return
    console.print(f"[bold]Study {name}[/]: {res['question']}")
    console.print(res["answer"], highlight=False)
    table = Table()
    for col in res["table"][0]:
        table.add_column(str(col), overflow="fold")
    for row in res["table"]:
        table.add_row(*[f"{v:.3g}" if isinstance(v, float) else "not reached" if v is None and "median" in str(k)
                        else "" if v is None else str(v) for k, v in row.items()])
    console.print(table)
    console.print(f"report: {res['run']['report']}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    from exoniche.cli import cohort

    app.command()(run)
    app.command()(compare)
    app.command()(study)
    cohort.register(app)
