"""Start the web app with uvicorn (``exoniche serve``), refusing unsafe settings before binding."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from exoniche.errors import ExonicheError

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """Return True for a loopback host name or address."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_settings(host: str, port: int, token: str | None, max_upload_mb: float, workers: int,
                   queue_size: int) -> None:
    """Raise ExonicheError (exit 2) for settings the server must not start with, saying why."""
    if not is_loopback(host) and not token:
        raise ExonicheError(f"--host {host}: binding a non-loopback address exposes patient data to the network; "
                            "give --token TOKEN (every request must then carry it), or keep --host 127.0.0.1")
    if token is not None and len(token) < 8:
        raise ExonicheError("--token: use at least 8 characters")
    if not 0 < port < 65536:
        raise ExonicheError(f"--port: {port} is not a port; allowed: 1..65535")
    if not max_upload_mb > 0:
        raise ExonicheError(f"--max-upload-mb: {max_upload_mb:g} must be > 0")
    if workers < 1 or queue_size < 0:
        raise ExonicheError("--workers must be >= 1 and --queue >= 0")


def serve(host: str = "127.0.0.1", port: int = 8765, runs: str | Path = "runs", token: str | None = None,
          max_upload_mb: float = 50, workers: int = 1, queue_size: int = 4) -> None:
    """Serve the web app with uvicorn; a non-loopback ``host`` needs a ``token``."""
    import uvicorn

    from exoniche.web.app import create_app

    check_settings(host, port, token, max_upload_mb, workers, queue_size)
    app = create_app(runs, token=token, max_upload_mb=max_upload_mb, workers=workers, queue_size=queue_size)
    uvicorn.run(app, host=host, port=port, log_level="info")
