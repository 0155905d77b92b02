"""Shared fixtures: run the CLI in-process exactly as the console script does."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "tests" / "reference"


@pytest.fixture
def cli(capsys, monkeypatch):
    """Call ``exoniche ARGS``; returns (exit_code, stdout, stderr)."""
    from exoniche.cli import main

    def run(*args: str):
        monkeypatch.setattr(sys, "argv", ["exoniche", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def cli_json(cli):
    """Call ``exoniche ARGS --json`` and parse stdout as exactly one JSON document."""

    def run(*args: str):
        code, out, err = cli(*args, "--json")
        assert code == 0, err
        return json.loads(out)

    return run
