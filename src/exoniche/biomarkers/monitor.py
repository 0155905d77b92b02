"""Monitoring one patient's exosomal biomarkers over time, "like a blood-glucose meter".

From a long table (patient, time, marker, value), for each marker of one patient:

* **Reference change value** (log-normal, Fokkema et al. 2006, Clin Chem 52:1602):
  ``sigma = sqrt(ln(CV^2 + 1))`` for the analytical (A) and within-person biological (I) CV,
  ``RCV_up = exp(Z * sqrt(2) * sqrt(sA^2 + sI^2)) - 1`` and ``RCV_down = exp(-Z * ...) - 1``, Z = 1.96
  (two-sided 95 %). A change between consecutive samples beyond these limits is a real change.
* **Doubling time / velocity**: least-squares fit of ln(value) on time; slope with its t-based CI,
  doubling time ``ln 2 / slope`` (negative = halving time) with the CI mapped from the slope's CI; the
  velocity in value units per time unit from the same fit on the linear scale.
* **Personal threshold** (empirical Bayes): the other patients in the table give the population mean and
  between-patient variance of log values (method of moments) and a scaled-inverse-chi-square prior for
  each patient's log-variance (fitted as limma's ``fitFDist``, Smyth 2004). The patient's mean and
  variance are shrunk towards them; the upper limit is the 97.5 % point of the predictive distribution of
  the next log value. Each sample is judged against the limit computed from the samples *before* it.
* **Change-point**: a two-segment search for one shift in the mean log level (each segment >= 2 samples),
  with the noise SD known from the RCV components: ``z_k = (mean2 - mean1) / (sigma * sqrt(1/n1 + 1/n2))``,
  the split with the largest |z| and a Bonferroni p-value over the splits tried.
* **Alerts**: each one names the rule that fired (``rcv_rise``, ``rcv_fall``, ``personal_threshold``,
  ``rising_trend``, ``change_point``).

When a CV is not given, the within-person variation is estimated from the cohort: the pooled
within-patient variance of log values of the *other* patients, minus the analytical part.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from exoniche._ci import z_two_sided
from exoniche.errors import DataError, suggest

Z95 = z_two_sided(0.95)

__all__ = [
    "RCV",
    "MarkerMonitor",
    "PatientMonitor",
    "Trend",
    "change_point",
    "cv_to_sigma",
    "log_linear_trend",
    "monitor_patient",
    "personal_threshold",
    "reference_change_value",
]

RULES = {
    "rcv_rise": "rise from the previous sample larger than the reference change value",
    "rcv_fall": "fall from the previous sample larger than the reference change value",
    "personal_threshold": "value above the patient's empirical-Bayes upper limit from earlier samples",
    "rising_trend": "log-linear trend rising (whole 95% CI of the slope above 0)",
    "change_point": "shift in the mean log level (two-segment search, Bonferroni p < alpha)",
}


# --------------------------------------------------------------------------------------------------
# the statistics, on arrays
# --------------------------------------------------------------------------------------------------
def cv_to_sigma(cv: float) -> float:
    """SD on the natural-log scale of a log-normal quantity with coefficient of variation ``cv`` (a fraction)."""
    if not (cv >= 0 and math.isfinite(cv)):
        raise DataError(f"CV must be a finite fraction >= 0 (e.g. 0.05 for 5 %), got {cv!r}")
    return math.sqrt(math.log(cv**2 + 1.0))


@dataclass(frozen=True)
class RCV:
    """Log-normal reference change value: fractions, e.g. up = 0.52 means a rise of more than +52 %."""

    up: float
    down: float
    sigma: float  # total log-scale SD of one measurement, sqrt(sA^2 + sI^2)
    analytical_cv: float
    within_cv: float
    z: float


def reference_change_value(analytical_cv: float, within_cv: float, z: float = Z95) -> RCV:
    """Fokkema's asymmetric RCV for log-normal data; ``z = 1.96`` for two-sided 95 %."""
    s = math.hypot(cv_to_sigma(analytical_cv), cv_to_sigma(within_cv))
    return RCV(
        math.expm1(z * math.sqrt(2) * s), math.expm1(-z * math.sqrt(2) * s), s, analytical_cv, within_cv, z
    )


@dataclass(frozen=True)
class Trend:
    """Log-linear trend of one series; times in the table's unit (e.g. days)."""

    n: int
    log_slope: float  # per time unit
    log_slope_ci: tuple[float, float]
    p: float
    doubling_time: float  # ln2 / slope; negative = halving time
    doubling_time_ci: tuple[float, float]  # NaN when the slope's CI contains 0
    velocity: float  # value units per time unit (linear fit)
    velocity_ci: tuple[float, float]
    percent_per_30: float  # exp(30 * slope) - 1, as a fraction


def _ols(x: np.ndarray, y: np.ndarray, conf_level: float) -> tuple[float, tuple[float, float], float]:
    n = x.size
    xc = x - x.mean()
    sxx = float(xc @ xc)
    b = float(xc @ (y - y.mean())) / sxx
    if n < 3:
        return b, (math.nan, math.nan), math.nan
    resid = y - y.mean() - b * xc
    se = math.sqrt(float(resid @ resid) / (n - 2) / sxx)
    q = stats.t.ppf(0.5 + conf_level / 2, n - 2)
    p = 2 * stats.t.sf(abs(b / se), n - 2) if se > 0 else 0.0
    return b, (b - q * se, b + q * se), float(p)


def log_linear_trend(time, value, conf_level: float = 0.95) -> Trend:
    """Fit ln(value) = a + b * time; doubling time ln2/b with the CI from b's t-interval (n - 2 df)."""
    t, v = np.asarray(time, dtype=float), np.asarray(value, dtype=float)
    if t.size < 2 or np.ptp(t) == 0:
        raise DataError("a trend needs at least two samples at different times")
    if (v <= 0).any():
        raise DataError("a log-linear trend needs values > 0")
    b, (lo, hi), p = _ols(t, np.log(v), conf_level)
    vel, vci, _ = _ols(t, v, conf_level)
    ln2 = math.log(2)
    dt = ln2 / b if b != 0 else math.inf
    dci = (ln2 / hi, ln2 / lo) if (lo > 0 or hi < 0) else (math.nan, math.nan)
    return Trend(int(t.size), b, (lo, hi), p, dt, dci, vel, vci, math.expm1(30 * b))


def _trigamma_inverse(x: float) -> float:
    """Solve trigamma(y) = x by Newton's method (limma's trigammaInverse)."""
    if x > 1e7:
        return 1 / math.sqrt(x)
    if x < 1e-6:
        return 1 / x
    y = 0.5 + 1 / x
    for _ in range(50):
        tri = special.polygamma(1, y)
        dif = tri * (1 - tri / x) / special.polygamma(2, y)
        y += dif
        if -dif / y < 1e-8:
            break
    return float(y)


@dataclass(frozen=True)
class Population:
    """What the other patients say about one marker, on the log scale."""

    n_patients: int
    mean: float  # population mean of patient means
    between_var: float  # tau^2, variance of true patient means (>= 0)
    within_var: float  # pooled within-patient variance
    prior_var: float  # s0^2 of the prior for a patient's variance
    prior_df: float  # d0 (inf: every patient has the pooled variance)


def population_prior(groups: Sequence[np.ndarray]) -> Population | None:
    """Method-of-moments population parameters from other patients' log values (None if too few)."""
    groups = [np.asarray(g, dtype=float) for g in groups if len(g) > 0]
    multi = [g for g in groups if g.size >= 2]
    if len(groups) < 3 or sum(g.size - 1 for g in multi) < 2:
        return None
    d = np.array([g.size - 1 for g in multi], dtype=float)
    s2 = np.array([g.var(ddof=1) for g in multi])
    within = float((d * s2).sum() / d.sum())
    means = np.array([g.mean() for g in groups])
    n = np.array([g.size for g in groups], dtype=float)
    between = max(float(means.var(ddof=1) - within * np.mean(1 / n)), 0.0)
    prior_var, prior_df = within, math.inf
    pos = s2 > 0
    if pos.sum() >= 3:  # limma's fitFDist by moments of log s^2
        z = np.log(s2[pos]) - special.digamma(d[pos] / 2) + np.log(d[pos] / 2)
        evar = float(z.var(ddof=1) - np.mean(special.polygamma(1, d[pos] / 2)))
        if evar > 0:
            prior_df = 2 * _trigamma_inverse(evar)
            prior_var = float(np.exp(z.mean() + special.digamma(prior_df / 2) - math.log(prior_df / 2)))
        else:
            prior_var = float(np.exp(z.mean()))
    return Population(len(groups), float(means.mean()), between, within, prior_var, prior_df)


@dataclass(frozen=True)
class Threshold:
    """A patient's personal limits for the next value (value scale) and the shrinkage behind them."""

    upper: float
    lower: float
    mean_log: float  # posterior mean of the patient's log level
    sd_log: float  # SD of the predictive distribution of the next log value
    shrinkage: float  # weight of the population mean (0: own data only, 1: population only)
    n: int


def personal_threshold(log_values, pop: Population, quantile: float = 0.975) -> Threshold:
    """Empirical-Bayes predictive limits for the next value, from the patient's earlier log values."""
    y = np.asarray(log_values, dtype=float)
    n = y.size
    d = n - 1
    s2 = float(y.var(ddof=1)) if n >= 2 else 0.0
    if math.isinf(pop.prior_df):
        var = pop.prior_var
    else:
        var = (pop.prior_df * pop.prior_var + d * s2) / (pop.prior_df + d)
    if pop.between_var > 0:
        b = (var / n) / (var / n + pop.between_var)
        post_var = 1 / (n / var + 1 / pop.between_var)
    else:
        b, post_var = 1.0, 0.0
    mean = b * pop.mean + (1 - b) * float(y.mean())
    sd = math.sqrt(var + post_var)
    z = stats.norm.ppf(quantile)
    return Threshold(math.exp(mean + z * sd), math.exp(mean - z * sd), mean, sd, b, n)


@dataclass(frozen=True)
class ChangePoint:
    """Best single shift in mean log level; ``index`` is the first sample after the shift."""

    index: int
    time: float
    fold: float  # exp(mean after - mean before)
    z: float
    p: float  # Bonferroni over the splits tried
    n_splits: int
    method: str = "two-segment mean-shift search on log values, known noise SD, Bonferroni"


def change_point(time, log_values, sigma: float, min_segment: int = 2) -> ChangePoint | None:
    """Search every split with >= ``min_segment`` samples per side; None when the series is too short."""
    t, y = np.asarray(time, dtype=float), np.asarray(log_values, dtype=float)
    n = y.size
    splits = range(min_segment, n - min_segment + 1)
    if len(splits) == 0 or not sigma > 0:
        return None
    best = None
    for k in splits:
        z = (y[k:].mean() - y[:k].mean()) / (sigma * math.sqrt(1 / k + 1 / (n - k)))
        if best is None or abs(z) > abs(best[1]):
            best = (k, z)
    k, z = best
    p = min(1.0, len(splits) * 2 * stats.norm.sf(abs(z)))
    return ChangePoint(k, float(t[k]), math.exp(y[k:].mean() - y[:k].mean()), float(z), float(p), len(splits))


# --------------------------------------------------------------------------------------------------
# one patient
# --------------------------------------------------------------------------------------------------
@dataclass
class Alert:
    patient: str
    marker: str
    time: float
    rule: str
    severity: str  # "warning" or "info"
    value: float
    message: str


@dataclass
class MarkerMonitor:
    """Everything computed for one marker of one patient."""

    marker: str
    time: np.ndarray
    value: np.ndarray
    rows: list
    rcv: RCV
    cv_source: str
    trend: Trend | None
    population: Population | None
    thresholds: list  # Threshold | None per sample: the limit that sample was judged against
    next_threshold: Threshold | None
    change: ChangePoint | None
    alerts: list[Alert] = field(default_factory=list)

    @property
    def timeline(self) -> pd.DataFrame:
        """Return one row per sample: value, change from the previous one, personal limit and the alerts it fired."""
        prev = np.concatenate(([np.nan], self.value[:-1]))
        fired = {i: [] for i in range(self.time.size)}
        for a in self.alerts:
            if a.rule != "rising_trend":
                fired[int(np.flatnonzero(self.time == a.time)[0])].append(a.rule)
        return pd.DataFrame(
            {
                "marker": self.marker,
                "time": self.time,
                "value": self.value,
                "change_pct": 100 * (self.value / prev - 1),
                "personal_upper": [th.upper if th else np.nan for th in self.thresholds],
                "alerts": [",".join(fired[i]) for i in range(self.time.size)],
                "row": self.rows,
            }
        )

    def to_dict(self) -> dict:
        """Return this marker's part of the monitoring JSON document."""
        out: dict[str, Any] = {
            "marker": self.marker,
            "n_samples": int(self.time.size),
            "latest": {"time": float(self.time[-1]), "value": float(self.value[-1])},
            "rcv": {**asdict(self.rcv), "source": self.cv_source},
            "trend": None if self.trend is None else asdict(self.trend),
            "personal_threshold": None if self.next_threshold is None else asdict(self.next_threshold),
            "population": None if self.population is None else asdict(self.population),
            "change_point": None if self.change is None else asdict(self.change),
            "timeline": self.timeline.to_dict(orient="records"),
        }
        if len(self.value) >= 2:
            out["latest"]["change_pct"] = float(100 * (self.value[-1] / self.value[-2] - 1))
        return out


@dataclass
class PatientMonitor:
    """One patient's monitoring result: per-marker results, alerts, report."""

    patient: str
    markers: dict[str, MarkerMonitor]
    time_unit: str = "days"
    source: str = "table"

    @property
    def alerts(self) -> list[Alert]:
        """Every marker's alerts, in marker order."""
        return [a for m in self.markers.values() for a in m.alerts]

    @property
    def summary(self) -> pd.DataFrame:
        """One row per marker: latest value, change, RCV, doubling time, personal limit, alerts."""
        rows = []
        for m in self.markers.values():
            tr, th = m.trend, m.next_threshold
            rows.append(
                {
                    "marker": m.marker,
                    "n": int(m.time.size),
                    "latest_time": float(m.time[-1]),
                    "latest_value": float(m.value[-1]),
                    "change_pct": float(100 * (m.value[-1] / m.value[-2] - 1))
                    if m.value.size > 1
                    else np.nan,
                    "rcv_up_pct": 100 * m.rcv.up,
                    "rcv_down_pct": 100 * m.rcv.down,
                    "doubling_time": tr.doubling_time if tr else np.nan,
                    "doubling_ci_low": tr.doubling_time_ci[0] if tr else np.nan,
                    "doubling_ci_high": tr.doubling_time_ci[1] if tr else np.nan,
                    "personal_upper": th.upper if th else np.nan,
                    "alerts": ",".join(sorted({a.rule for a in m.alerts})),
                }
            )
        return pd.DataFrame(rows).set_index("marker")

    def to_dict(self) -> dict:
        """Return the JSON document of ``exoniche biomarkers monitor --json``."""
        return {
            "patient": self.patient,
            "source": self.source,
            "markers": [m.to_dict() for m in self.markers.values()],
            "alerts": [asdict(a) for a in self.alerts],
            "rules": RULES,
        }

    def plot(self, fig=None):
        """One panel per marker (log scale): samples, personal limit, RCV band, trend, alerts. Returns axes."""
        return plot_patient(self, fig=fig)


def _alerts_for(patient: str, m: MarkerMonitor, alpha: float, unit: str = "days") -> list[Alert]:
    out = []
    up, down = m.rcv.up, m.rcv.down
    for i in range(1, m.time.size):
        ch = m.value[i] / m.value[i - 1] - 1
        t, v = float(m.time[i]), float(m.value[i])
        if ch > up:
            out.append(
                Alert(
                    patient,
                    m.marker,
                    t,
                    "rcv_rise",
                    "warning",
                    v,
                    f"{m.marker} rose {100 * ch:+.0f}% since t={m.time[i - 1]:g} (RCV +{100 * up:.0f}%)",
                )
            )
        elif ch < down:
            out.append(
                Alert(
                    patient,
                    m.marker,
                    t,
                    "rcv_fall",
                    "info",
                    v,
                    f"{m.marker} fell {100 * ch:+.0f}% since t={m.time[i - 1]:g} (RCV {100 * down:.0f}%)",
                )
            )
        th = m.thresholds[i]
        if th is not None and v > th.upper:
            out.append(
                Alert(
                    patient,
                    m.marker,
                    t,
                    "personal_threshold",
                    "warning",
                    v,
                    f"{m.marker} {v:.4g} above the personal upper limit {th.upper:.4g} "
                    f"(from the {i} earlier samples)",
                )
            )
    tr = m.trend
    if tr is not None and tr.n >= 3 and tr.log_slope_ci[0] > 0:
        lo, hi = tr.doubling_time_ci
        out.append(
            Alert(
                patient,
                m.marker,
                float(m.time[-1]),
                "rising_trend",
                "warning",
                float(m.value[-1]),
                f"{m.marker} doubling every {tr.doubling_time:.3g} {unit} (95% CI {lo:.3g} to {hi:.3g})",
            )
        )
    cp = m.change
    if cp is not None and cp.p < alpha:
        kind = "rise" if cp.fold > 1 else "fall"
        out.append(
            Alert(
                patient,
                m.marker,
                cp.time,
                "change_point",
                "warning" if cp.fold > 1 else "info",
                float(m.value[cp.index]),
                f"{m.marker} level {kind} x{cp.fold:.2f} from t={cp.time:g} (p={cp.p:.2g})",
            )
        )
    return sorted(out, key=lambda a: (a.time, a.rule))


def _cv_for(spec: float | Mapping[str, float] | None, marker: str) -> float | None:
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        if marker in spec:
            return float(spec[marker])
        return float(spec["*"]) if "*" in spec else None
    return float(spec)


def _id_text(v: Any) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def monitor_patient(
    df: pd.DataFrame,
    patient: str,
    analytical_cv: float | Mapping[str, float] | None = None,
    within_cv: float | Mapping[str, float] | None = None,
    markers: Sequence[str] | None = None,
    patient_col: str = "patient",
    time_col: str = "time",
    marker_col: str = "marker",
    value_col: str = "value",
    alpha: float = 0.05,
    conf_level: float = 0.95,
    time_unit: str = "days",
    source: str | None = None,
) -> PatientMonitor:
    """Monitor one patient's markers from a long table; see the module docstring for each method.

    Parameters
    ----------
    df
        Long table: one row per patient, time and marker (e.g. from ``read_table``).
    patient
        The patient id (compared as text, so ``7`` matches ``"7"``).
    analytical_cv, within_cv
        Coefficients of variation as fractions (0.05 = 5 %): one number for all markers, or a mapping
        marker -> CV (``"*"`` for the rest). When ``within_cv`` is missing it is estimated from the other
        patients (pooled within-patient variance of log values, minus the analytical variance).
    markers
        Markers to monitor (default: all the patient has).

    Raises
    ------
    DataError
        Unknown patient (with the closest id), non-numeric or missing time/value cells, values <= 0,
        duplicated (patient, time, marker) rows, or a patient with a single time point.
    """
    from exoniche.biomarkers.data import check_unique_ids, describe_rows, numeric_column, require_columns

    src = source or df.attrs.get("source") or "table"
    require_columns(df, [patient_col, time_col, marker_col, value_col], src)
    times = numeric_column(df, time_col, src)
    values = numeric_column(df, value_col, src)
    bad = values.index[values <= 0]
    if len(bad):
        raise DataError(
            f"{src}: column {value_col!r} has values <= 0 at {describe_rows(df, bad)} "
            f"({values[bad[0]]!r}); the log-normal model needs positive values (replace a result below the "
            "detection limit by the limit)"
        )
    for col in (patient_col, marker_col):
        miss = df[col].isna() | df[col].astype(str).str.strip().eq("")
        if miss.any():
            raise DataError(
                f"{src}: column {col!r} has missing values at {describe_rows(df, df.index[miss])}"
            )
    check_unique_ids(df, [patient_col, time_col, marker_col], src)
    ids = df[patient_col].map(_id_text)
    pid = _id_text(patient)
    if not (ids == pid).any():
        known = sorted(pd.unique(ids))
        listing = ", ".join(known[:10]) + (" ..." if len(known) > 10 else "")
        raise DataError(
            f"{src}: patient {patient!r} not found in column {patient_col!r}"
            f"{suggest(pid, known)}; patients: {listing}"
        )
    mk = df[marker_col].astype(str).str.strip()
    mine = ids == pid
    own_markers = list(dict.fromkeys(mk[mine].sort_values(kind="stable")))
    if markers:
        for m in markers:
            if m not in own_markers:
                raise DataError(
                    f"{src}: patient {pid!r} has no marker {m!r}{suggest(m, own_markers)}; "
                    f"markers: {', '.join(own_markers)}"
                )
        own_markers = list(markers)
    if times[mine].nunique() < 2:
        rows = df.index[mine]
        raise DataError(
            f"{src}: patient {pid!r} has a single time point ({time_col}={times[mine].iloc[0]:g}, "
            f"{describe_rows(df, rows)}); monitoring needs at least two"
        )
    z_rcv = z_two_sided(conf_level)
    results: dict[str, MarkerMonitor] = {}
    for marker in own_markers:
        sel = mine & (mk == marker)
        order = np.argsort(times[sel].to_numpy(), kind="stable")
        t = times[sel].to_numpy()[order]
        v = values[sel].to_numpy()[order]
        rows = list(df.index[sel][order])
        others = (~mine) & (mk == marker)
        groups = [np.log(values[others & (ids == o)].to_numpy()) for o in pd.unique(ids[others])]
        pop = population_prior(groups)
        a_cv = _cv_for(analytical_cv, marker)
        w_cv = _cv_for(within_cv, marker)
        if w_cv is None:
            if pop is None:
                raise DataError(
                    f"{src}: marker {marker!r}: no within-person CV given and too few other patients "
                    "(need 3, with repeated samples) to estimate it; pass --within-cv"
                )
            sa2 = cv_to_sigma(a_cv or 0.0) ** 2
            si2 = max(pop.within_var - sa2, 0.0)
            w_cv = math.sqrt(math.expm1(si2))
            cv_source = f"within-person CV estimated from {pop.n_patients} other patients"
        else:
            cv_source = "given"
        rcv = reference_change_value(a_cv or 0.0, w_cv, z_rcv)
        trend = log_linear_trend(t, v, conf_level) if np.ptp(t) > 0 else None
        logs = np.log(v)
        thresholds = [None] + [personal_threshold(logs[:i], pop) if pop else None for i in range(1, v.size)]
        nxt = personal_threshold(logs, pop) if pop else None
        cp = change_point(t, logs, rcv.sigma)
        m = MarkerMonitor(marker, t, v, rows, rcv, cv_source, trend, pop, thresholds, nxt, cp)
        m.alerts = _alerts_for(pid, m, alpha, time_unit)
        results[marker] = m
    return PatientMonitor(pid, results, time_unit, src)


# --------------------------------------------------------------------------------------------------
# the one-page report
# --------------------------------------------------------------------------------------------------
def plot_patient(res: PatientMonitor, fig=None):
    """Timeline per marker on a log axis, with what a clinician needs to read it; returns the axes."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    n = len(res.markers)
    if fig is None:
        fig = plt.figure(figsize=(8.0, 1.0 + 2.6 * n))
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, m in zip(axes, res.markers.values()):
        t, v = m.time, m.value
        ax.plot(t, v, "-o", color="#1f4e79", markersize=5, zorder=3, label="measured")
        lim = [th.upper if th else np.nan for th in m.thresholds]
        if m.next_threshold is not None:
            ax.step(
                t,
                lim,
                where="pre",
                color="#c0392b",
                linestyle="--",
                linewidth=1,
                label="personal upper limit (from earlier samples)",
            )
            ax.plot(
                [t[-1], t[-1] + 0.12 * np.ptp(t)],
                [m.next_threshold.upper] * 2,
                color="#c0392b",
                linestyle=":",
                linewidth=1,
            )
        # the band the next sample has to leave to be a real change (RCV around the latest value)
        x_next = [t[-1], t[-1] + 0.12 * np.ptp(t)]
        ax.fill_between(
            x_next,
            v[-1] * (1 + m.rcv.down),
            v[-1] * (1 + m.rcv.up),
            color="#7f8c8d",
            alpha=0.2,
            label=f"RCV band for the next sample ({100 * m.rcv.down:.0f}% to +{100 * m.rcv.up:.0f}%)",
        )
        tr = m.trend
        if tr is not None and tr.n >= 3:
            a = np.log(v).mean() - tr.log_slope * t.mean()
            tt = np.linspace(t[0], t[-1], 50)
            ax.plot(
                tt,
                np.exp(a + tr.log_slope * tt),
                color="#7f8c8d",
                linestyle="-.",
                linewidth=1,
                label="log-linear trend",
            )
        if m.change is not None and m.change.p < 0.05:
            ax.axvline(m.change.time, color="#e67e22", linewidth=1.2, label="change-point")
        warn = [a for a in m.alerts if a.severity == "warning" and a.rule != "rising_trend"]
        for a in warn:
            ax.plot(a.time, a.value, "v", color="#c0392b", markersize=10, zorder=4)
        for tx in sorted({a.time for a in warn}):
            rules = "\n".join(_SHORT[r] for r in sorted({a.rule for a in warn if a.time == tx}))
            ax.annotate(
                rules,
                (tx, v[t == tx][0]),
                textcoords="offset points",
                xytext=(0, 9),
                ha="center",
                va="bottom",
                fontsize=7,
                color="#c0392b",
                linespacing=1.0,
            )
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel(m.marker)
        ax.grid(alpha=0.3, which="both")
        ax.set_title(_headline(m, res.time_unit), fontsize=9, loc="left")
        ymin = min(v.min(), v[-1] * (1 + m.rcv.down)) / 1.3
        ymax = max(np.nanmax([v.max(), *lim, v[-1] * (1 + m.rcv.up)]), 0) * 2.2
        ax.set_ylim(ymin, ymax)
    axes[-1].set_xlabel(f"time ({res.time_unit})")
    handles, labels = {}, {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab.split(" (")[0] if lab.startswith("RCV") else lab, h)
            labels.setdefault(lab.split(" (")[0] if lab.startswith("RCV") else lab, lab.split(" (")[0])
    fig.legend(
        list(handles.values()), list(labels.values()), loc="lower center", ncol=3, fontsize=7, frameon=False
    )
    fig.suptitle(f"Patient {res.patient}: exosomal biomarker monitoring", fontsize=11, x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0.1 / n, 1, 1))
    return axes


_SHORT = {
    "rcv_rise": "RCV rise",
    "rcv_fall": "RCV fall",
    "personal_threshold": ">limit",
    "change_point": "shift",
}


def _pct(x: float) -> str:
    return f"{x:+.1f}%" if abs(x) < 10 else f"{x:+.0f}%"


def _headline(m: MarkerMonitor, unit: str) -> str:
    """'miR-21: latest 2.34 at t=360, -27% vs previous; no significant trend (+0.4%/30 days)'."""
    t, v = m.time, m.value
    text = f"{m.marker}: latest {v[-1]:.4g} at t={t[-1]:g}"
    if v.size > 1:
        text += f", {_pct(100 * (v[-1] / v[-2] - 1))} vs previous"
    tr = m.trend
    if tr is not None and tr.n >= 3:
        lo, hi = tr.doubling_time_ci
        if np.isfinite(lo):
            word = "doubling" if tr.doubling_time > 0 else "halving"
            a, b = sorted((abs(lo), abs(hi)))
            text += f"; {word} time {abs(tr.doubling_time):.3g} {unit} (95% CI {a:.3g}-{b:.3g})"
        else:
            text += f"; no significant trend ({_pct(100 * tr.percent_per_30)}/30 {unit})"
    return text
