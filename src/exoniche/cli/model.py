"""Model commands: simulate, validate, export, params, model."""

from __future__ import annotations

import typer

from exoniche import evidence
from exoniche.cli._common import JSON_OPTION_HELP, console, print_json


def register(app: typer.Typer) -> None:
    @app.command()
    def simulate(json_: bool = typer.Option(False, "--json", help=JSON_OPTION_HELP)) -> None:
        """Simulate the default scenario (for now: an overview of the evidence base)."""
        result = evidence.stats()
        if json_:
            print_json(result)
        else:
            console.print(f"evidence base: {result['n_claims']} claims")
            for section, n in result["sections"].items():
                console.print(f"  {section:28s} {n}")

    from exoniche.cli._common import pending

    for name, doc in {
        "validate": "Run validation targets V1-V16 (not implemented yet).",
        "params": "List every model parameter (not implemented yet).",
        "model": "Print the mechanism (not implemented yet).",
        "export": "Export the model, e.g. as SBML (not implemented yet).",
    }.items():
        app.command(name=name, context_settings={"ignore_unknown_options": True})(pending(name, doc))
