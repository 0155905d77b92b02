"""Statistics on real or virtual liquid-biopsy biomarker tables (DESIGN.md §4)."""

from exoniche._ci import check_conf_level, z_two_sided
from exoniche.biomarkers._cutpoint import Cutpoint, clopper_pearson, cutpoint, stard_table
from exoniche.biomarkers._estimator import Estimator
from exoniche.biomarkers._roc import ROC, ROCTest, compare_all, delong_cov, placements, plot_rocs, roc, roc_test
from exoniche.biomarkers.analyses import ROCAnalysis, analyze_response, analyze_roc
from exoniche.biomarkers.data import (
    binary_outcome,
    check_not_constant,
    check_unique_ids,
    long_to_wide,
    numeric_column,
    outcome_and_markers,
    read_table,
    require_columns,
    wide_to_long,
)
from exoniche.biomarkers.monitor import (
    PatientMonitor,
    log_linear_trend,
    monitor_patient,
    reference_change_value,
)
from exoniche.biomarkers.panel import PanelResult, fit_panel, panels
from exoniche.biomarkers.response import ResponseResult, response_from_long, treatment_response
from exoniche.biomarkers.survival import (
    Concordance,
    CoxPH,
    KaplanMeier,
    analyze_survival,
    concordance,
    cox_zph,
    kaplan_meier,
    logrank_test,
    time_dependent_auc,
)

__all__ = [
    "ROC", "ROCAnalysis", "Concordance", "CoxPH", "Cutpoint", "Estimator", "KaplanMeier", "PanelResult",
    "PatientMonitor", "ROCTest", "ResponseResult", "analyze_response", "analyze_roc", "analyze_survival",
    "binary_outcome", "check_not_constant", "check_unique_ids", "check_conf_level", "clopper_pearson",
    "compare_all", "concordance", "cox_zph", "cutpoint", "delong_cov", "fit_panel", "kaplan_meier",
    "log_linear_trend", "logrank_test", "long_to_wide", "monitor_patient", "numeric_column", "outcome_and_markers",
    "panels", "placements", "plot_rocs", "read_table", "reference_change_value", "require_columns",
    "response_from_long", "roc", "roc_test", "stard_table", "time_dependent_auc", "treatment_response",
    "wide_to_long", "z_two_sided",
]  # fmt: skip
