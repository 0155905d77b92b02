"""`exoniche biomarkers ...`: statistics on real or virtual liquid-biopsy tables."""

from __future__ import annotations

import typer

app = typer.Typer(help="Exosomal biomarker statistics: ROC, cut-points, panels, survival, monitoring.",
                  no_args_is_help=True)
