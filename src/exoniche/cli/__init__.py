"""Command-line interface: one thin typer layer over the public Python API.

Exit codes: 0 success, 2 bad input (any :class:`exoniche.ExonicheError`), 1 a failed check
(for example a validation target that did not pass).
"""

from __future__ import annotations

import sys

import typer

from exoniche import __version__
from exoniche.cli._common import err_console
from exoniche.errors import ExonicheError

__all__ = ["app", "main"]

app = typer.Typer(
    name="exoniche",
    help="In-silico research on the exosome-driven pre-metastatic niche.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"exoniche {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """exoniche: simulate the exosome-driven pre-metastatic niche and analyse exosomal biomarkers."""


def _register() -> None:
    """Every command module has one ``register(app)``: top-level commands, or its group under a name."""
    from exoniche.cli import biomarkers, evidence, experiments, export, fit, model, sensitivity, serve, tissue

    for module in (evidence, export, biomarkers, fit, model, experiments, serve, sensitivity, tissue):
        module.register(app)


_register()


def main() -> None:
    """Entry point: usage errors exit 2 (typer), user errors print one line and exit 2."""
    try:
        app()  # standalone mode: typer handles --help, usage errors and exit codes
    except ExonicheError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
