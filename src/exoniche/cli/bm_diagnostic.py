"""`exoniche biomarkers roc|cutpoint|panel|response`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the diagnostic commands to the biomarkers group."""
