"""exoniche: in-silico research on the exosome-driven pre-metastatic niche.

Layers (DESIGN.md §5, docs/architecture.md), data flowing left to right only::

    evidence -> biology -> engines -> experiments -> observe -> biomarkers / io / cli

The main experiment API is importable from here; it is loaded on first use, so that ``import exoniche``
(and the command line's start) stays light:

>>> from exoniche import Experiment, Injection, load_scenario, run, simulate
>>> Experiment(physiology="mouse", tumour="B16-F10", duration_days=1.0).tumour
'B16-F10'
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("exoniche")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from exoniche.errors import DataError, ExonicheError, ModelError, NotFittedError, ScenarioError  # noqa: E402

# name -> subpackage that defines it (PEP 562 lazy attributes)
_LAZY = {name: "exoniche.experiments" for name in (
    "CellChallenge", "Experiment", "Injection", "Scenario", "compare", "load_scenario", "loads_scenario", "run",
    "simulate")}  # fmt: skip

__all__ = ["__version__", "ExonicheError", "ScenarioError", "DataError", "ModelError", "NotFittedError", *sorted(_LAZY)]


def __getattr__(name: str):
    """Load the experiment API on first access (``exoniche.simulate`` etc.)."""
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'exoniche' has no attribute {name!r}")


def __dir__() -> list[str]:
    """List the module's attributes including the lazily loaded ones."""
    return sorted(set(globals()) | set(_LAZY))
