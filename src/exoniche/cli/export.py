"""`exoniche export sbml OUT.xml [--preset NAME] [--verify] [--json]`."""

from __future__ import annotations

from pathlib import Path

import typer

from exoniche.cli._common import JSON_OPTION, console, print_json

app = typer.Typer(help="Export the model (SBML Level 3 Version 2).", no_args_is_help=True)


@app.command()
def sbml(
    out: Path = typer.Argument(..., help="SBML file to write."),
    preset: str = typer.Option("4175-LuT", "--preset", help="Tumour preset of the exported scenario."),
    physiology: str = typer.Option("human", "--physiology", help="human or mouse."),
    initial_g: float = typer.Option(10.0, "--initial-g", help="Primary tumour mass at day 0 (g)."),
    days: float = typer.Option(180.0, "--days", help="Scenario duration (days), used by --verify."),
    verify: bool = typer.Option(False, "--verify", help="Simulate the file with libRoadRunner and compare."),
    json_: bool = JSON_OPTION,
) -> None:
    """Write the whole-body model for one scenario as SBML L3V2 (units, provenance, cited claims)."""
    from exoniche.experiments.setup import Experiment
    from exoniche.io import sbml as sbml_io

    problem = Experiment(physiology=physiology, tumour=preset, tumour_initial_g=initial_g,
                         duration_days=days).problem()
    text = sbml_io.to_sbml(problem, preset_name=preset)
    path = sbml_io.write_sbml(out, problem, preset_name=preset)
    check = sbml_io.consistency(text)
    result = {"path": str(path), "preset": preset, "physiology": physiology, "libsbml_errors": check["errors"],
              "libsbml_warnings": check["warnings"]}
    if verify:
        report = sbml_io.verify(problem, sbml=text, preset_name=preset)
        report.pop("libsbml_messages", None)
        result["verify"] = report
    if json_:
        print_json(result)
    else:
        console.print(f"wrote {path}: libSBML consistency {check['errors']} errors, {check['warnings']} warnings")
        if verify:
            r = result["verify"]
            console.print(f"libRoadRunner vs exoniche: max relative difference {r['max_rel_diff']:.2e} "
                          f"({r['species']} at day {r['time_day']:g}); threshold {r['threshold']:g}: "
                          f"{'passed' if r['passed'] else 'FAILED'}")
    if verify and not result["verify"]["passed"]:
        raise typer.Exit(1)


@app.command()
def petab(
    out: Path = typer.Argument(..., help="Folder to write the PEtab problem into."),
    measurements: Path = typer.Option(None, "--measurements",
                                      help="TSV with columns observable, time, measurement, sigma "
                                           "[, transformation, dataset]. Without it (and --estimate): the "
                                           "packaged calibration datasets of `exoniche calibrate`."),
    estimate: str = typer.Option(None, "--estimate", help="Comma-separated id:lower:upper:scale (scale lin/log10); "
                                                          "goes with --measurements."),
    preset: str = typer.Option("4175-LuT", "--preset", help="Tumour preset of the exported scenario."),
    physiology: str = typer.Option("human", "--physiology", help="human or mouse."),
    initial_g: float = typer.Option(10.0, "--initial-g", help="Primary tumour mass at day 0 (g)."),
    days: float = typer.Option(180.0, "--days", help="Scenario duration (days)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Write the whole-body model with measurement rows as a PEtab v1 problem (checked with petablint).

    Without --measurements/--estimate: the model with the calibration datasets of `exoniche calibrate` (one
    condition per experiment, the calibrated parameters estimated; the scenario options do not apply).
    """
    import pandas as pd

    from exoniche.calibration.petab_problem import load
    from exoniche.errors import DataError
    from exoniche.experiments.setup import Experiment
    from exoniche.io.petab_export import write_calibration_petab, write_petab

    if measurements is None and estimate is None:
        path = write_calibration_petab(out)
        checked = load(path, engine="deterministic")  # petablint and exoniche's own table checks
        _report(path, checked, json_, conditions=list(checked.petab.condition_df.index),
                observables=list(checked.petab.observable_df.index))
        return
    if measurements is None or estimate is None:
        raise DataError("--measurements and --estimate go together (or give neither, for the packaged "
                        "calibration datasets)")
    if not measurements.is_file():
        raise DataError(f"--measurements: {measurements} not found")
    rows = pd.read_csv(measurements, sep="\t").to_dict("records")
    items = []
    for item in [e.strip() for e in estimate.split(",") if e.strip()]:
        parts = item.split(":")
        if len(parts) != 4:
            raise DataError(f"--estimate: {item!r} must be id:lower:upper:scale")
        try:
            items.append((parts[0], float(parts[1]), float(parts[2]), parts[3]))
        except ValueError:
            raise DataError(f"--estimate: bounds of {parts[0]} must be numbers") from None
    problem = Experiment(physiology=physiology, tumour=preset, tumour_initial_g=initial_g,
                         duration_days=days).problem()
    path = write_petab(out, problem, rows, items)
    _report(path, load(path, engine="deterministic"), json_)  # petablint and exoniche's own table checks


def _report(path: Path, checked, json_: bool, **extra) -> None:
    result = {"yaml": str(path), "n_measurements": checked.n_measurements, "estimated": checked.estimated,
              "petablint": checked.lint, **extra}
    if json_:
        print_json(result)
    else:
        console.print(f"wrote {path}: {checked.n_measurements} measurements, {len(checked.estimated)} estimated "
                      f"parameters; petablint: no errors")


def register(parent: typer.Typer) -> None:
    """Add the ``export`` command group to ``parent``."""
    parent.add_typer(app, name="export")
