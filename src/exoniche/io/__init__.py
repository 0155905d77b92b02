"""Getting models and results out of exoniche: SBML export (:mod:`exoniche.io.sbml`), run folders and reports.

Submodules are imported on demand so that, e.g., writing a report does not load libSBML.
"""

# Submodules, imported on demand (``from exoniche.io import sbml``).
__all__ = [
    "calibration_plots", "compare_report", "jsondoc", "model_figure", "petab_export", "report", "sbml", "store",
    "study_report", "tissue_report",
]  # fmt: skip
