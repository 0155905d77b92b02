"""`exoniche serve`: the browser interface (scenario builder, runs, cohorts, biomarkers, monitoring)."""

from __future__ import annotations

from pathlib import Path

import typer


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; non-loopback needs --token."),
    port: int = typer.Option(8765, "--port", help="Port."),
    runs: Path = typer.Option(Path("runs"), "--runs", help="Runs folder: browsed, and where new runs go."),
    token: str = typer.Option(None, "--token", help="Require this token on every request (>= 8 chars)."),
    max_upload_mb: float = typer.Option(50, "--max-upload-mb", help="Largest upload accepted (413 above)."),
    workers: int = typer.Option(1, "--workers", help="Runs computed at once."),
    queue: int = typer.Option(4, "--queue", help="Runs waiting at most (429 when full)."),
) -> None:
    """Start the web app (FastAPI + uvicorn); open http://127.0.0.1:8765 in a browser."""
    # The interfaces layer is loaded only here, so nothing else in the package imports exoniche.web.
    from exoniche.web.server import serve as run_server

    run_server(host, port, runs, token, max_upload_mb, workers, queue)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(serve)
