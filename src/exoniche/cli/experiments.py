"""Scenario-level commands: run, compare, cohort, study (filled by the experiments and cohort work)."""

from __future__ import annotations

import typer

from exoniche.cli._common import pending

_PENDING = {
    "run": "Run one scenario file (not implemented yet).",
    "compare": "Compare scenario files as arms (not implemented yet).",
    "study": "Run a built-in study of the review's open questions (not implemented yet).",
}


def register(app: typer.Typer) -> None:
    for name, doc in _PENDING.items():
        app.command(name=name, context_settings={"ignore_unknown_options": True})(pending(name, doc))
    from exoniche.cli import cohort

    cohort.register(app)
