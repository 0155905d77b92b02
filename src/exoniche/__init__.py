"""exoniche: in-silico research on the exosome-driven pre-metastatic niche.

Layers (DESIGN.md §5), data flowing left to right only::

    evidence -> biology -> engines -> experiments -> observe -> biomarkers / io / cli
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("exoniche")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from exoniche.errors import DataError, ExonicheError, ModelError, ScenarioError  # noqa: E402

__all__ = ["__version__", "ExonicheError", "ScenarioError", "DataError", "ModelError"]
