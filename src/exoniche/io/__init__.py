"""Getting models and results out of exoniche: SBML export (:mod:`exoniche.io.sbml`), run folders and reports.

Submodules are imported on demand so that, e.g., writing a report does not load libSBML.
"""
