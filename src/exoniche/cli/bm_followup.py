"""`exoniche biomarkers survival|monitor`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the follow-up commands to the biomarkers group."""
