"""`exoniche cohort ...`: virtual patient cohorts (filled by the cohort work)."""

from __future__ import annotations

import typer

from exoniche.cli._common import pending


def register(app: typer.Typer) -> None:
    app.command(name="cohort", context_settings={"ignore_unknown_options": True})(
        pending("cohort", "Simulate a virtual patient cohort (not implemented yet)."))
