"""`exoniche export sbml OUT.xml [--preset NAME] [--verify] [--json]`."""

from __future__ import annotations

from pathlib import Path

import typer

from exoniche.cli._common import JSON_OPTION_HELP, console, print_json

app = typer.Typer(help="Export the model (SBML Level 3 Version 2).", no_args_is_help=True)
