"""The browser interface (``exoniche serve``): a FastAPI JSON API and pages served from the package.

The interfaces layer, like :mod:`exoniche.cli`: it calls the same public functions the commands call and
nothing in the package imports it (``exoniche serve`` loads it only when run). Local-first: it binds
loopback by default, ships every script and style (plotly.js comes from the installed plotly package),
and patient tables never leave the machine.
"""

from exoniche.web.app import create_app

__all__ = ["create_app"]
