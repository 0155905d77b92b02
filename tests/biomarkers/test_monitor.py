"""Monitoring: RCV formula, trend/doubling time, empirical-Bayes limits, change-point and alerts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exoniche.biomarkers import monitor as mon
from exoniche.biomarkers.data import read_table
from exoniche.errors import DataError

SERIES = Path(__file__).resolve().parent / "followup_data" / "monitor_series.csv"


def test_rcv_matches_fokkema_worked_values():
    # sigma = sqrt(ln(CV^2 + 1)); CV_A = 5 %, CV_I = 15 %: total sigma 0.15766, RCV +54.7 % / -35.3 %
    sa, si = math.sqrt(math.log(1.0025)), math.sqrt(math.log(1.0225))
    r = mon.reference_change_value(0.05, 0.15)
    assert r.sigma == pytest.approx(math.hypot(sa, si), rel=1e-12)
    assert r.up == pytest.approx(math.exp(1.959963984540054 * math.sqrt(2) * r.sigma) - 1, rel=1e-12)
    assert (1 + r.up) * (1 + r.down) == pytest.approx(1.0, rel=1e-12)  # log-symmetric
    assert r.up == pytest.approx(0.5470, abs=5e-4) and r.down == pytest.approx(-0.3536, abs=5e-4)
    # one-sided Z = 1.645 gives a smaller limit
    assert mon.reference_change_value(0.05, 0.15, z=1.645).up < r.up


def test_doubling_time_of_an_exact_exponential_and_its_ci():
    t = np.array([0.0, 30, 60, 90, 120])
    v = 10 * 2 ** (t / 45)
    tr = mon.log_linear_trend(t, v)
    assert tr.doubling_time == pytest.approx(45, rel=1e-10)
    assert tr.doubling_time_ci == pytest.approx((45, 45), rel=1e-6)  # no residual noise
    noisy = v * np.exp(np.array([0.05, -0.04, 0.02, -0.06, 0.03]))
    tr = mon.log_linear_trend(t, noisy)
    lo, hi = tr.doubling_time_ci
    assert lo < tr.doubling_time < hi
    # the CI comes from the slope's t-interval with n - 2 = 3 df
    b = np.polyfit(t, np.log(noisy), 1)[0]
    assert tr.log_slope == pytest.approx(b, rel=1e-10)
    falling = mon.log_linear_trend(t, 100 * 2 ** (-t / 30))
    assert falling.doubling_time == pytest.approx(-30, rel=1e-10)
    flat = mon.log_linear_trend(t, np.array([5, 5.2, 4.9, 5.1, 5.0]))
    assert all(np.isnan(flat.doubling_time_ci))


def test_population_prior_and_shrinkage():
    rng = np.random.default_rng(3)
    groups = [rng.normal(m, 0.2, 6) for m in rng.normal(1.0, 0.5, 40)]
    pop = mon.population_prior(groups)
    assert pop.within_var == pytest.approx(0.04, rel=0.3)
    assert pop.between_var == pytest.approx(0.25, rel=0.6)
    few = mon.personal_threshold(np.array([2.0]), pop)
    many = mon.personal_threshold(np.full(30, 2.0) + rng.normal(0, 0.2, 30), pop)
    assert few.shrinkage > many.shrinkage  # one sample leans on the population more than thirty
    assert abs(many.mean_log - 2.0) < abs(few.mean_log - 2.0)
    assert mon.population_prior(groups[:2]) is None  # too few patients


def test_change_point_finds_the_shift_and_not_noise():
    t = np.arange(8) * 30.0
    y = np.log(np.r_[np.full(4, 10.0), np.full(4, 30.0)]) + np.array(
        [0.05, -0.05, 0.02, 0, -0.03, 0.04, 0, -0.02]
    )
    cp = mon.change_point(t, y, sigma=0.15)
    assert cp.index == 4 and cp.time == 120 and cp.fold == pytest.approx(3, rel=0.1) and cp.p < 1e-6
    flat = mon.change_point(t, np.log(10) + np.array([0.05, -0.05, 0.02, 0, -0.03, 0.04, 0, -0.02]), 0.15)
    assert flat.p > 0.5
    assert mon.change_point(t[:3], y[:3], 0.15) is None


def test_monitor_patient_alerts_name_their_rules_and_are_reproducible():
    df = read_table(SERIES)
    r1 = mon.monitor_patient(df, "P03", analytical_cv=0.05)
    r2 = mon.monitor_patient(df, "P03", analytical_cv=0.05)
    assert json.dumps(r1.to_dict(), default=str) == json.dumps(r2.to_dict(), default=str)
    fired = {(a.marker, a.rule) for a in r1.alerts}
    assert {("PD-L1", "rcv_rise"), ("PD-L1", "change_point"), ("PD-L1", "personal_threshold")} <= fired
    assert all(a.rule in mon.RULES and a.message for a in r1.alerts)
    # P07's miR-21 response is a fall, reported as information, not a warning
    r7 = mon.monitor_patient(df, "P07", analytical_cv=0.05, within_cv=0.15)
    falls = [a for a in r7.alerts if a.marker == "miR-21" and a.rule in ("rcv_fall", "change_point")]
    assert falls and all(a.severity == "info" for a in falls)
    # a stable patient raises no RCV or change-point warning
    r5 = mon.monitor_patient(df, "P05", analytical_cv=0.05, within_cv=0.15)
    assert not [a for a in r5.alerts if a.rule in ("change_point", "rising_trend")]


def test_within_cv_estimated_from_other_patients_is_close_to_the_simulated_one():
    df = read_table(SERIES)
    r = mon.monitor_patient(df, "P05", analytical_cv=0.05, markers=["CRNDE-h"])
    m = r.markers["CRNDE-h"]
    assert "estimated" in m.cv_source
    assert 0.08 < m.rcv.within_cv < 0.25  # simulated with 15 %


def test_personal_limit_uses_only_earlier_samples():
    df = read_table(SERIES)
    r = mon.monitor_patient(df, "P03", analytical_cv=0.05, within_cv=0.15, markers=["PD-L1"])
    m = r.markers["PD-L1"]
    assert m.thresholds[0] is None
    pop = m.population
    again = mon.personal_threshold(np.log(m.value[:4]), pop)
    assert m.thresholds[4].upper == pytest.approx(again.upper, rel=1e-12)
    tl = m.timeline
    assert list(tl.columns) == ["marker", "time", "value", "change_pct", "personal_upper", "alerts", "row"]
    assert "rcv_rise" in tl.loc[tl.time == 240, "alerts"].iloc[0]


def test_report_is_one_html_page_with_the_png_inside(tmp_path):
    df = read_table(SERIES)
    from exoniche.io.monitor_report import write_monitor_report

    paths = write_monitor_report(mon.monitor_patient(df, "P03", analytical_cv=0.05), tmp_path)
    page = paths["html"].read_text()
    assert page.count("<img") == 1 and "base64," in page and "Patient P03" in page
    assert paths["png"].stat().st_size > 20_000


def test_errors_name_the_patient_marker_and_rows():
    df = read_table(SERIES)
    with pytest.raises(DataError, match=r"'P3'.*did you mean \"P03\""):
        mon.monitor_patient(df, "P3")
    with pytest.raises(DataError, match=r"no marker 'PDL1'.*PD-L1"):
        mon.monitor_patient(df, "P03", markers=["PDL1"])
    alone = pd.DataFrame({"patient": ["A", "A"], "time": [0, 30], "marker": ["m", "m"], "value": [1.0, 2.0]})
    with pytest.raises(DataError, match="within-person CV"):
        mon.monitor_patient(alone, "A")
    with pytest.raises(DataError, match="fraction"):
        mon.cv_to_sigma(-0.1)
