"""Virtual assays: from model state to what a lab reports (noise, detection limits, schedules, outcomes)."""

from exoniche.observe.assays import (
    ASSAYS,
    Assay,
    Schedule,
    assay_catalogue,
    measure,
    parse_observe,
    true_levels,
)
from exoniche.observe.virtual import CohortJob, simulate_chunk

__all__ = ["ASSAYS", "Assay", "CohortJob", "Schedule", "assay_catalogue", "measure", "parse_observe",
           "simulate_chunk", "true_levels"]
