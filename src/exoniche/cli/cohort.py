"""`exoniche cohort SCENARIO.toml --patients N --out DIR`: a virtual patient cohort with liquid biopsies."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path

import typer

from exoniche.cli._common import JSON_OPTION, err_console, print_json


def cohort_command(
    scenario: Path = typer.Argument(..., help="Scenario TOML file (its [cohort] table says what varies)."),
    patients: int = typer.Option(None, "--patients", help="Number of patients (default: cohort.size)."),
    out: Path = typer.Option(..., "--out", help="Run folder (created; re-run the same command to resume)."),
    workers: int = typer.Option(1, "--workers", help="Local worker processes (same numbers for any count)."),
    scheduler: str = typer.Option(None, "--scheduler",
                                  help="Dask scheduler address, or 'local' for a LocalCluster of --workers."),
    arm: str = typer.Option(None, "--arm", help="Scenario arm to simulate (default: the base scenario)."),
    chunk_size: int = typer.Option(500, "--chunk-size", help="Patients per chunk (one Parquet file each)."),
    engine: str = typer.Option(None, "--engine",
                               help="ODE engine: 'compiled' (Numba, per patient; default when numba is installed) "
                                    "or 'batched' (NumPy, lock-step)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Simulate a virtual patient cohort: model runs, metastases, virtual blood draws.

    Writes chunked Parquet with a DuckDB catalogue to --out, plus observe/measurements.parquet (long:
    patient, time, marker, value) and observe/outcomes.parquet (one row per patient) for the
    ``exoniche biomarkers`` commands. Interrupted runs resume from their finished chunks.
    """
    from exoniche import __version__
    from exoniche.errors import ScenarioError, check_choice
    from exoniche.experiments.cohort import parse_cohort
    from exoniche.experiments.cohort_run import cohort_engine, default_engine
    from exoniche.experiments.scenario import load_scenario
    from exoniche.observe import CohortJob, parse_observe

    if patients is not None and patients < 1:
        raise ScenarioError(f"--patients: {patients} must be at least 1")
    sc = load_scenario(scenario)
    exp = sc.base
    if arm is not None:
        check_choice("--arm", arm, sc.arms, what="arm")
        exp = sc.arms[arm]
    names = set(exp.parameters())
    cohort = parse_cohort(sc.cohort or {}, str(scenario), default_seed=sc.seed, parameter_names=names)
    if patients is not None:
        cohort = cohort.with_size(patients)
    schedule = parse_observe(cohort.observe, str(scenario))
    engine = engine or default_engine()
    cohort_engine(engine)  # a bad name exits 2 before anything is written
    job = CohortJob(exp, cohort, schedule, engine=engine)
    job.problem()  # validate the scenario's own values before anything is written
    manifest = {
        "scenario": str(scenario), "scenario_sha256": hashlib.sha256(scenario.read_bytes()).hexdigest(),
        "arm": arm, "cohort": json.loads(json.dumps(asdict(cohort), default=str)), "size": cohort.size,
        "seed": cohort.seed, "chunk_size": chunk_size, "rtol": job.rtol, "engine": job.engine,
        "version": __version__,
        "schedule": json.loads(json.dumps(asdict(schedule), default=str)),
    }
    t0 = time.perf_counter()
    state = {"done": 0, "resumed": 0}
    if json_:
        def progress(n, total):
            pass

        summary = _run(job, out, manifest, chunk_size, workers, scheduler, progress)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("cohort"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                      TimeRemainingColumn(), console=err_console) as bar:
            task = bar.add_task("cohort", total=cohort.size, rate="")

            def progress(n, total):
                if total is not None:  # patients already on disk (resume)
                    state["resumed"] = n
                else:
                    state["done"] += n
                rate = state["done"] / max(time.perf_counter() - t0, 1e-9)
                bar.update(task, completed=state["resumed"] + state["done"], rate=f"{rate:,.1f} patients/s")

            summary = _run(job, out, manifest, chunk_size, workers, scheduler, progress)
    wall = time.perf_counter() - t0
    summary.update(wall_s=wall, patients_per_s=summary["computed_patients"] / wall if wall > 0 else None,
                   workers=workers, scheduler=scheduler)
    if json_:
        print_json(summary)
    else:
        err_console.print(f"{summary['patients']} patients in {summary['out']} ({summary['resumed_patients']} resumed, "
                          f"{summary['computed_patients']} computed in {wall:.1f} s); tables: "
                          f"{summary['files']['measurements']}, {summary['files']['outcomes']}", highlight=False,
                          soft_wrap=True)


def _run(job, out, manifest, chunk_size, workers, scheduler, progress) -> dict:
    from exoniche.experiments.cohort_run import run_cohort
    from exoniche.io.store import ChunkStore

    try:
        return run_cohort(job, ChunkStore(out), manifest=manifest, chunk_size=chunk_size, workers=workers,
                          scheduler=scheduler, progress=progress)
    except KeyboardInterrupt:
        err_console.print(f"interrupted: finished chunks are kept in {out}; re-run the same command to resume",
                          highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None


def register(app: typer.Typer) -> None:
    """Add the ``cohort`` command to ``app``."""
    app.command(name="cohort")(cohort_command)
