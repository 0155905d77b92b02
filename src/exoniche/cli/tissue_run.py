"""``exoniche tissue SCENARIO.toml``: run the [tissue] table of a scenario and write its outputs."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from exoniche.cli._common import console, print_json
from exoniche.cli.model import _progress


def run_tissue_command(scenario: Path, out: Path | None, threads: int | None, json_: bool) -> None:
    """Run a scenario's ``[tissue]`` table and print or write its result (``exoniche tissue FILE``)."""
    from exoniche.experiments.scenario import load_scenario
    from exoniche.experiments.tissue import INDICES, run_tissue_scenario, tissue_setup
    from exoniche.io.tissue_report import write_tissue

    sc = load_scenario(scenario)
    tissue_setup(sc)  # bad input fails before the progress bar starts
    with _progress(json_) as bar:
        task = bar.add_task(f"tissue: {len(sc.arms)} arm(s) + healthy tissue", total=1.0)
        study = run_tissue_scenario(sc, threads=threads, progress=lambda f: bar.update(task, completed=f))
    paths = write_tissue(study, out or Path("runs") / f"tissue-{sc.name}", f"exoniche tissue {scenario}")
    d = study.to_dict()
    if json_:
        print_json({**d, "run": paths})
        return
    table = Table(title=f"{sc.name}: {study.setup.organ} tissue (fold over healthy tissue / whole body)")
    for col in ("arm", "day", *INDICES, f"uptake {study.target_cell()}", "tumour cells", "colonies"):
        table.add_column(col)
    for a in d["arms"]:
        for r in a["per_day"]:
            table.add_row(a["arm"], f"{r['day']:.1f}",
                          *[f"{r['niche_tissue'][k]:.2f} / {r['niche_whole_body'][k]:.2f}" for k in INDICES],
                          f"{r['uptake_share'][study.target_cell()]:.2f}", str(r["tumour_cells_arrived"]),
                          str(r["colonies_founded"]))
    console.print(table)
    for a in d["arms"]:
        e = a["events"]
        console.print(f"{a['arm']}: niche formed on day {e['niche_day']}, first tumour cell on day "
                      f"{e['first_tumour_cell_day']}", highlight=False)
    console.print(f"report: {paths['report']}")
