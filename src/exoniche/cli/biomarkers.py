"""`exoniche biomarkers ...`: statistics on real or virtual liquid-biopsy tables.

Commands are defined in two modules so that diagnostic statistics (roc, cutpoint, panel, response)
and follow-up statistics (survival, monitor) can grow independently.
"""

from __future__ import annotations

import typer

from exoniche.cli import bm_diagnostic, bm_followup

app = typer.Typer(
    help="Exosomal biomarker statistics: ROC, cut-points, panels, survival, monitoring.", no_args_is_help=True
)
bm_diagnostic.register(app)
bm_followup.register(app)


def register(parent: typer.Typer) -> None:
    """Add the ``biomarkers`` command group to ``parent``."""
    parent.add_typer(app, name="biomarkers")
