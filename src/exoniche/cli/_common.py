"""Shared CLI plumbing: JSON output, console, and error reporting."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.console import Console

# Piped or captured output has no terminal width; use a wide page rather than rich's 80 columns.
console = Console(width=None if sys.stdout.isatty() else 150)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 150)

JSON_OPTION_HELP = "Print exactly one JSON document on stdout instead of tables."
# Every result command's ``--json`` (typer reads the declaration; one object serves every command).
JSON_OPTION = typer.Option(False, "--json", help=JSON_OPTION_HELP)


def _clean(obj: Any) -> Any:
    """Make numpy scalars / NaN JSON-safe (see :func:`exoniche.io.jsondoc.clean`)."""
    from exoniche.io.jsondoc import clean

    return clean(obj)


def print_json(obj: Any) -> None:
    """Write one JSON document to stdout (never through rich, which would wrap lines)."""
    from exoniche.io.jsondoc import dumps

    sys.stdout.write(dumps(obj) + "\n")
    sys.stdout.flush()
