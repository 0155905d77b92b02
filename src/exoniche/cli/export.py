"""`exoniche export sbml OUT.xml [--preset NAME] [--verify] [--json]`."""

from __future__ import annotations

from pathlib import Path

import typer

from exoniche.cli._common import JSON_OPTION_HELP, console, print_json

app = typer.Typer(help="Export the model (SBML Level 3 Version 2).", no_args_is_help=True)


@app.command()
def sbml(
    out: Path = typer.Argument(..., help="SBML file to write."),
    preset: str = typer.Option("4175-LuT", "--preset", help="Tumour preset of the exported scenario."),
    physiology: str = typer.Option("human", "--physiology", help="human or mouse."),
    initial_g: float = typer.Option(10.0, "--initial-g", help="Primary tumour mass at day 0 (g)."),
    days: float = typer.Option(180.0, "--days", help="Scenario duration (days), used by --verify."),
    verify: bool = typer.Option(False, "--verify", help="Simulate the file with libRoadRunner and compare."),
    json_: bool = typer.Option(False, "--json", help=JSON_OPTION_HELP),
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
