"""Statistics on real or virtual liquid-biopsy biomarker tables (DESIGN.md §4)."""

from exoniche.biomarkers.cutpoint import Cutpoint, clopper_pearson, cutpoint, stard_table  # noqa: F401
from exoniche.biomarkers.data import (  # noqa: F401
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
from exoniche.biomarkers.monitor import (  # noqa: F401
    PatientMonitor,
    log_linear_trend,
    monitor_patient,
    reference_change_value,
)
from exoniche.biomarkers.panel import PanelResult, fit_panel, panels  # noqa: F401
from exoniche.biomarkers.response import ResponseResult, response_from_long, treatment_response  # noqa: F401
from exoniche.biomarkers.roc import ROC, ROCTest, compare_all, plot_rocs, roc, roc_test  # noqa: F401
from exoniche.biomarkers.survival import (  # noqa: F401
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
