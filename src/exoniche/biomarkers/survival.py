"""Survival statistics for prognostic biomarkers, equal to R's ``survival`` package.

Kaplan–Meier with Greenwood SE and log-type CIs (``survfit`` defaults), median survival with its CI,
log-rank test (``survdiff``), Cox proportional hazards with Efron or Breslow ties (``coxph``), the
proportional-hazards score test (``cox.zph``, transform ``"km"``), Harrell's C (``concordance``) and
cumulative/dynamic time-dependent AUC (Uno's IPCW estimator).

Why these are written here with numpy rather than taken from lifelines (checked against lifelines 0.30):

* lifelines' ``KaplanMeierFitter`` gives "exponential Greenwood" (log-log) CIs; R's default is ``log``.
* lifelines' ``CoxPHFitter`` stops on its own convergence rule, with a step-size heuristic, so the last
  digits differ from R's Newton–Raphson (start 0, stop when ``|1 - l_old/l_new| <= 1e-9``), which we copy.
* lifelines' ``proportional_hazard_test`` is the pre-3.0 ``cox.zph`` (Grambsch–Therneau approximation on
  scaled Schoenfeld residuals); survival >= 3.0 uses a proper score test, done here.
* lifelines has no IJ standard error for the C-index, nor R's median-CI rule.

Every estimate below is checked to 1e-6 against ``tests/reference/fixtures/surv_*.json`` (made by R).

Event coding (:func:`event_indicator`): 0/1 (1 = event), R's 1/2 (2 = event, as in ``lung$status``;
used when the largest code is 2, exactly as ``Surv()`` decides) or TRUE/FALSE. Anything else is an error
naming the column, row and value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from exoniche._ci import z_two_sided
from exoniche.biomarkers._estimator import Estimator
from exoniche.errors import DataError, check_choice, unknown

__all__ = [
    "Concordance",
    "CoxPH",
    "KaplanMeier",
    "LogRankTest",
    "PHTest",
    "SurvivalAnalysis",
    "analyze_survival",
    "concordance",
    "cox_zph",
    "event_indicator",
    "kaplan_meier",
    "logrank_test",
    "plot_km",
    "time_dependent_auc",
]



# --------------------------------------------------------------------------------------------------
# input checks shared by every estimator
# --------------------------------------------------------------------------------------------------
def _as_time_event(time, event) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(time, dtype=float)
    e = np.asarray(event)
    if t.ndim != 1 or e.shape != t.shape:
        raise DataError(f"time and event must be 1-d of the same length (got {t.shape} and {e.shape})")
    if t.size == 0:
        raise DataError("time: no observations")
    bad = np.flatnonzero(~np.isfinite(t) | (t < 0))
    if bad.size:
        raise DataError(f"time: value {t[bad[0]]!r} at position {bad[0]} is not a finite time >= 0")
    if e.dtype != bool:
        ef = e.astype(float)
        bad = np.flatnonzero(~np.isin(ef, (0.0, 1.0)))
        if bad.size:
            raise DataError(f"event: value {e[bad[0]]!r} at position {bad[0]}; allowed 0/1 or True/False")
        e = ef == 1.0
    return t, e


def event_indicator(
    values: Sequence[Any], column: str = "event", rows: Sequence[Any] | None = None, where: str = "row"
) -> np.ndarray:
    """Turn an event column into booleans (True = event), accepting the codings R's ``Surv()`` accepts.

    Parameters
    ----------
    values
        The column: 0/1 (1 = event), 1/2 (2 = event, R's convention, chosen when the largest code is 2),
        or TRUE/FALSE (booleans or the strings true/false, any case).
    column
        Column name used in error messages.
    rows, where
        Row labels for error messages and the word before them (default: positions 1, 2, ...; a table read
        by :func:`exoniche.biomarkers.data.read_table` passes its spreadsheet row numbers).

    Raises
    ------
    DataError
        On a missing value or any other code, naming the column, the row and the value.
    """
    s = pd.Series(list(values), dtype=object)
    labels = list(rows) if rows is not None else list(range(1, len(s) + 1))
    codes = np.full(len(s), np.nan)
    for i, v in enumerate(s):
        if isinstance(v, (bool, np.bool_)):
            codes[i] = float(v)
            continue
        if v is None or (isinstance(v, float) and np.isnan(v)):
            raise DataError(f"column {column!r}: missing event status at {where} {labels[i]}")
        txt = str(v).strip()
        if txt.lower() in ("true", "false"):
            codes[i] = 1.0 if txt.lower() == "true" else 0.0
            continue
        try:
            codes[i] = float(txt)
        except ValueError:
            raise DataError(
                f"column {column!r}: event value {txt!r} at {where} {labels[i]} is not an event code; "
                "allowed 0/1 (1 = event), 1/2 (2 = event, R's coding) or TRUE/FALSE"
            ) from None
    bad = np.flatnonzero(~np.isin(codes, (0.0, 1.0, 2.0)))
    if bad.size == 0 and 2.0 in codes and 0.0 in codes:
        bad = np.flatnonzero(codes == 2.0)  # 0/1/2 mixes two codings: report the first 2
    if bad.size:
        i = bad[0]
        raise DataError(
            f"column {column!r}: event value {s.iloc[i]!r} at {where} {labels[i]} is not an event code; "
            "allowed 0/1 (1 = event), 1/2 (2 = event, R's coding) or TRUE/FALSE, not a mix"
        )
    return codes == (2.0 if codes.max() == 2.0 else 1.0)


# --------------------------------------------------------------------------------------------------
# Kaplan–Meier
# --------------------------------------------------------------------------------------------------
def _median_rule(y: np.ndarray, x: np.ndarray) -> float:
    """R's ``survival:::minmin``: first x where y <= 0.5; the midpoint if y is 0.5 over an interval."""
    tol = np.sqrt(np.finfo(float).eps)
    keep = ~np.isnan(y) & (y < 0.5 + tol)
    if not keep.any():
        return float("nan")
    x, y = x[keep], y[keep]
    if abs(y[0] - 0.5) < tol and (y < y[0]).any():
        return float((x[0] + x[np.argmax(y < y[0])]) / 2)
    return float(x[0])


class KaplanMeier(Estimator):
    """Kaplan–Meier estimate, as ``survfit(Surv(time, event) ~ 1)`` with its defaults.

    Standard error is Greenwood's on the cumulative-hazard scale (R's ``std.err``); the CI is R's
    ``conf.type = "log"``: ``exp(log S ± z·se)``, upper capped at 1, undefined where S = 0.

    Attributes (after :meth:`fit`)
    ------------------------------
    time, n_risk, n_event, n_censor, survival, std_err, ci_low, ci_high, cumhaz, std_chaz : ndarray
        One entry per distinct observed time (events or censorings).
    median, median_ci : float, (float, float)
        Median survival and its CI (NaN when not reached), by R's rule.
    rmean, se_rmean : float
        Restricted mean survival up to ``rmean_endtime`` and its SE (R's ``print.rmean = TRUE``).
    """

    def __init__(self, conf_level: float = 0.95, label: str = "all") -> None:
        super().__init__(conf_level)
        self.label = label

    def _fitted_repr(self) -> dict:
        return {"n": self.n, "events": self.n_events_total}

    def fit(self, time, event, rmean_endtime: float | None = None) -> KaplanMeier:
        """Estimate the curve from follow-up ``time`` and ``event`` (1 = event); returns ``self``."""
        t, e = _as_time_event(time, event)
        self.n = t.size
        self.time, inv = np.unique(t, return_inverse=True)
        self.n_event = np.bincount(inv, weights=e, minlength=self.time.size)
        n_at = np.bincount(inv, minlength=self.time.size).astype(float)
        self.n_censor = n_at - self.n_event
        self.n_risk = self.n - np.concatenate(([0.0], np.cumsum(n_at)[:-1]))
        d, n = self.n_event, self.n_risk
        self.survival = np.cumprod(1.0 - d / n)
        with np.errstate(divide="ignore", invalid="ignore"):
            green = np.where(d > 0, d / (n * (n - d)), 0.0)
            self.std_err = np.sqrt(np.cumsum(green))
        self.cumhaz = np.cumsum(d / n)
        self.std_chaz = np.sqrt(np.cumsum(d / n**2))
        z = z_two_sided(self.conf_level)
        with np.errstate(divide="ignore", invalid="ignore"):
            ls = np.where(self.survival > 0, np.log(np.where(self.survival > 0, self.survival, 1.0)), np.nan)
            self.ci_low = np.exp(ls - z * self.std_err)
            self.ci_high = np.minimum(np.exp(ls + z * self.std_err), 1.0)
        self.median = _median_rule(self.survival, self.time)
        # the median's limits are where the CI bands cross 0.5 (the lower band crosses first)
        self.median_ci = (_median_rule(self.ci_low, self.time), _median_rule(self.ci_high, self.time))
        self.n_events_total = int(self.n_event.sum())
        self._rmean(self.time.max() if rmean_endtime is None else rmean_endtime)
        return self

    def _rmean(self, end: float) -> None:
        """Restricted mean (area under S up to ``end``) with R's ``survmean`` variance."""
        self.rmean_endtime = float(end)
        keep = self.time <= end
        tt, ss = self.time[keep], self.survival[keep]
        d, n = self.n_event[keep], self.n_risk[keep]
        knots = np.concatenate(([0.0], tt, [end]))
        heights = np.concatenate(([1.0], ss))
        area = np.diff(knots) * heights  # area of each step, from 0 and from each time on
        self.rmean = float(area.sum())
        # variance: sum over event times of (area after t_i)^2 * d/(n(n-d))
        with np.errstate(divide="ignore", invalid="ignore"):
            hh = np.where(n - d > 0, d / (n * (n - d)), 0.0)
        after = np.cumsum(area[::-1])[::-1][1:]  # area from time i onwards, for each time
        self.se_rmean = float(np.sqrt(np.sum(after**2 * hh)))

    def at(self, times: Sequence[float]) -> pd.DataFrame:
        """As ``summary(fit, times=)``: S, SE of S, CI and numbers at risk/events/censored at each time.

        ``n_event``/``n_censor`` count the interval since the previous listed time (from 0 for the
        first); times beyond the last observation are dropped, as R does with ``extend = FALSE``.
        """
        times = np.sort(np.asarray(times, dtype=float))
        times = times[times <= self.time.max()]
        rows, prev = [], -np.inf
        for t in times:
            k = np.searchsorted(self.time, t, side="right") - 1  # last observed time <= t
            window = (self.time > prev) & (self.time <= t)
            at_risk = int(np.sum(self.n_risk[self.time >= t][:1])) if (self.time >= t).any() else 0
            if k < 0:
                s, se, lo, hi = 1.0, 0.0, 1.0, 1.0
            else:
                s, se = self.survival[k], self.survival[k] * self.std_err[k]
                lo, hi = self.ci_low[k], self.ci_high[k]
            rows.append(
                {
                    "time": t,
                    "n_risk": at_risk,
                    "n_event": int(self.n_event[window].sum()),
                    "n_censor": int(self.n_censor[window].sum()),
                    "survival": s,
                    "std_err": se,
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
            prev = t
        return pd.DataFrame(
            rows,
            columns=["time", "n_risk", "n_event", "n_censor", "survival", "std_err", "ci_low", "ci_high"],
        )

    def n_at_risk(self, t: float) -> int:
        """Return the number still under observation at time t (time >= t)."""
        i = np.searchsorted(self.time, t, side="left")
        return int(self.n_risk[i]) if i < self.time.size else 0

    @property
    def summary(self) -> pd.DataFrame:
        """The curve, one row per distinct time (columns as R's ``survfit`` fields)."""
        return pd.DataFrame(
            {
                "time": self.time,
                "n_risk": self.n_risk.astype(int),
                "n_event": self.n_event.astype(int),
                "n_censor": self.n_censor.astype(int),
                "survival": self.survival,
                "std_err": self.std_err,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "cumhaz": self.cumhaz,
                "std_chaz": self.std_chaz,
            }
        )

    def plot(self, ax=None, at_risk_times: Sequence[float] | None = None):
        """Step plot with CI band and the numbers at risk underneath; returns the Axes."""
        return plot_km({self.label: self}, ax=ax, at_risk_times=at_risk_times)


def kaplan_meier(time, event, group=None, conf_level: float = 0.95) -> KaplanMeier | dict[str, KaplanMeier]:
    """Fit one Kaplan–Meier curve, or one per level of ``group`` (a dict keyed by level, in sorted order).

    As R does, restricted means of all strata end at the largest time over all strata.
    """
    t, e = _as_time_event(time, event)
    if group is None:
        return KaplanMeier(conf_level).fit(t, e)
    g = np.asarray(group)
    levels = _levels(g)
    return {
        str(lv): KaplanMeier(conf_level, label=str(lv)).fit(t[g == lv], e[g == lv], rmean_endtime=t.max())
        for lv in levels
    }


def _levels(g: np.ndarray) -> list:
    if g.shape[0] == 0:
        raise DataError("group: no observations")
    vals = pd.unique(pd.Series(g))
    try:
        return sorted(vals)
    except TypeError:
        return sorted(vals, key=str)


def plot_km(
    curves: dict[str, KaplanMeier],
    ax=None,
    at_risk_times: Sequence[float] | None = None,
    xlabel: str = "time",
    ci: bool = True,
):
    """Kaplan–Meier curves with CI bands, censoring ticks and a numbers-at-risk table below the x axis."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5))
    tmax = max(c.time.max() for c in curves.values())
    colors = []
    for label, km in curves.items():
        x = np.concatenate(([0.0], km.time))
        y = np.concatenate(([1.0], km.survival))
        (line,) = ax.step(x, y, where="post", label=f"{label} (n={km.n}, events={km.n_events_total})")
        colors.append(line.get_color())
        if ci:
            lo = np.concatenate(([1.0], km.ci_low))
            hi = np.concatenate(([1.0], km.ci_high))
            ax.fill_between(x, lo, hi, step="post", alpha=0.15, color=line.get_color(), linewidth=0)
        cens = km.n_censor > 0
        ax.plot(km.time[cens], km.survival[cens], "|", color=line.get_color(), markersize=7)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, tmax * 1.02)
    ax.set_ylabel("survival probability")
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3)
    ax.legend(
        loc="upper right", fontsize=8, frameon=False, title="+ censored, band = 95% CI", title_fontsize=7
    )
    ticks = np.asarray(
        at_risk_times if at_risk_times is not None else [t for t in ax.get_xticks() if 0 <= t <= tmax],
        dtype=float,
    )
    ax.set_xticks(ticks)
    # numbers at risk: a text table under the x axis, one row per curve, aligned with the ticks
    n_rows = len(curves)
    ax.text(0, -0.17, "Number at risk", transform=ax.transAxes, fontsize=8, fontweight="bold", va="top")
    for r, (label, km) in enumerate(curves.items()):
        y = -0.235 - 0.065 * r
        ax.text(
            -0.06, y, str(label), transform=ax.transAxes, ha="right", va="top", fontsize=8, color=colors[r]
        )
        for t in ticks:
            ax.text(
                t,
                y,
                str(km.n_at_risk(t)),
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=8,
                color=colors[r],
            )
    ax.figure.subplots_adjust(bottom=0.18 + 0.045 * n_rows, left=0.16, top=0.92)
    return ax


# --------------------------------------------------------------------------------------------------
# log-rank
# --------------------------------------------------------------------------------------------------
@dataclass
class LogRankTest:
    """Log-rank test, as ``survdiff(Surv(time, event) ~ group)`` (rho = 0)."""

    groups: list[str]
    n: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    var: np.ndarray
    chisq: float
    df: int
    p: float

    @property
    def summary(self) -> pd.DataFrame:
        """Observed and expected events per group (as R's ``survdiff`` table)."""
        return pd.DataFrame(
            {
                "group": self.groups,
                "n": self.n,
                "observed": self.observed,
                "expected": self.expected,
                "o_minus_e_sq_over_e": (self.observed - self.expected) ** 2 / self.expected,
            }
        )

    def to_dict(self) -> dict:
        """Return the test as a JSON record: chisq, df, p."""
        return {"chisq": self.chisq, "df": self.df, "p": self.p}


def logrank_test(time, event, group) -> LogRankTest:
    """Log-rank (Mantel–Haenszel) test across two or more groups, as R's ``survdiff``."""
    t, e = _as_time_event(time, event)
    g = np.asarray(group)
    levels = _levels(g)
    if len(levels) < 2:
        raise DataError(f"group: the log-rank test needs at least two groups, found {levels}")
    gi = pd.Categorical(g, categories=levels).codes
    k = len(levels)
    ut, inv = np.unique(t, return_inverse=True)
    m = ut.size
    deaths = np.zeros((m, k))
    np.add.at(deaths, (inv, gi), e.astype(float))
    leaving = np.zeros((m, k))
    np.add.at(leaving, (inv, gi), 1.0)
    at_risk = leaving[::-1].cumsum(axis=0)[::-1]
    n_t = at_risk.sum(axis=1)
    d_t = deaths.sum(axis=1)
    use = d_t > 0
    at_risk, n_t, d_t, deaths = at_risk[use], n_t[use], d_t[use], deaths[use]
    expected = (at_risk * (d_t / n_t)[:, None]).sum(axis=0)
    observed = deaths.sum(axis=0)
    # hypergeometric variance of O - E
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(n_t > 1, d_t * (n_t - d_t) / (n_t**2 * (n_t - 1)), 0.0)
    var = np.einsum("t,ti,ij->ij", f * n_t, at_risk, np.eye(k)) - np.einsum(
        "t,ti,tj->ij", f, at_risk, at_risk
    )
    oe = observed - expected
    # R drops the last group (the variance matrix has rank k - 1)
    chisq = float(oe[:-1] @ np.linalg.solve(var[:-1, :-1], oe[:-1]))
    df = k - 1
    return LogRankTest(
        [str(v) for v in levels],
        np.bincount(gi, minlength=k),
        observed,
        expected,
        var,
        chisq,
        df,
        float(stats.chi2.sf(chisq, df)),
    )


# --------------------------------------------------------------------------------------------------
# Cox proportional hazards
# --------------------------------------------------------------------------------------------------
class _RiskSets:
    """Sorted data and tie groups of death times, shared by the Cox fit, its tests and cox.zph."""

    def __init__(self, t: np.ndarray, e: np.ndarray, X: np.ndarray, strata: np.ndarray | None = None):
        n = t.size
        if strata is None:
            order = np.lexsort((~e, t))  # ascending time, deaths before censorings at the same time
            self.t, self.e, self.X = t[order], e[order], X[order]
            self.order = order
            dt = np.unique(self.t[self.e])
            self.death_times = dt
            # index of the first subject at risk at each death time (time >= t): sorted ascending
            self.risk_start = np.searchsorted(self.t, dt, side="left")
            self.risk_stop = np.full(dt.size, n)
            self.death_idx = [np.flatnonzero(self.e & (self.t == s)) for s in dt]
        else:
            # strata: sorted by stratum, then time; a risk set is {same stratum, time >= t}
            _, code = np.unique(np.asarray(strata).astype(str), return_inverse=True)
            order = np.lexsort((~e, t, code))
            self.t, self.e, self.X = t[order], e[order], X[order]
            self.order = order
            sc = code[order]
            starts, stops, deaths, idx = [], [], [], []
            for k in np.unique(sc):
                lo, hi = np.searchsorted(sc, k, side="left"), np.searchsorted(sc, k, side="right")
                tt, ee = self.t[lo:hi], self.e[lo:hi]
                for s_ in np.unique(tt[ee]):
                    starts.append(lo + int(np.searchsorted(tt, s_, side="left")))
                    stops.append(hi)
                    deaths.append(s_)
                    idx.append(lo + np.flatnonzero(ee & (tt == s_)))
            self.death_times = np.array(deaths)
            self.risk_start, self.risk_stop = np.array(starts, dtype=int), np.array(stops, dtype=int)
            self.death_idx = idx
        self.n_deaths = np.array([len(i) for i in self.death_idx])


def _cox_terms(rs: _RiskSets, beta: np.ndarray, efron: bool):
    """Partial log-likelihood, score and information (Efron or Breslow) at ``beta``.

    :func:`cox_zph` computes its own time-transformed score terms; this is the plain Cox fit's.
    """
    X = rs.X
    eta = X @ beta
    w = np.exp(eta)
    p = X.shape[1]
    # reverse cumulative sums: sums over {time >= t} start at risk_start (and, with strata, stop at the
    # stratum's end: a zero row is appended so that an unstratified stop at n subtracts exactly 0)
    s0 = np.r_[np.cumsum(w[::-1])[::-1], 0.0]
    s1 = np.vstack([np.cumsum((w[:, None] * X)[::-1], axis=0)[::-1], np.zeros((1, p))])
    s2 = np.concatenate(
        [np.cumsum((w[:, None, None] * X[:, :, None] * X[:, None, :])[::-1], axis=0)[::-1], np.zeros((1, p, p))]
    )
    ll, u, imat = 0.0, np.zeros(p), np.zeros((p, p))
    for j, idx in enumerate(rs.death_idx):
        r, stop = rs.risk_start[j], rs.risk_stop[j]
        d = idx.size
        wd, xd = w[idx], X[idx]
        d0, d1 = wd.sum(), wd @ xd
        d2 = np.einsum("i,ij,ik->jk", wd, xd, xd)
        ll += eta[idx].sum()
        u += xd.sum(axis=0)
        r0, r1, r2 = s0[r] - s0[stop], s1[r] - s1[stop], s2[r] - s2[stop]
        for k in range(d):
            frac = k / d if efron else 0.0
            den = r0 - frac * d0
            a = (r1 - frac * d1) / den
            ll -= np.log(den)
            u -= a
            imat += (r2 - frac * d2) / den - np.outer(a, a)
    return ll, u, imat


@dataclass
class _Test:
    statistic: float
    df: int
    p: float

    def to_dict(self) -> dict:
        return {"statistic": self.statistic, "df": self.df, "p": self.p}


COX_COLUMNS = ("coef", "se", "z", "p", "hr", "hr_ci_low", "hr_ci_high")  # one row of ``summary(coxph)``


class CoxPH(Estimator):
    """Cox proportional-hazards model, as R's ``coxph`` (Newton–Raphson from 0, eps 1e-9, 20 iterations).

    Parameters
    ----------
    ties : {"efron", "breslow"}
        Handling of tied death times; R's default is Efron.

    Attributes (after :meth:`fit`)
    ------------------------------
    coef, se, z, p, hr, hr_ci_low, hr_ci_high : ndarray
    var : ndarray, the covariance of ``coef`` (inverse information)
    loglik : (float, float), partial log-likelihood at 0 and at the estimate
    lr_test, wald_test, score_test : tests with ``statistic``, ``df``, ``p``
    concordance : :class:`Concordance` of the linear predictor (as ``fit$concordance``)
    n, n_events, iterations : int
    """

    def __init__(self, ties: str = "efron", conf_level: float = 0.95, eps: float = 1e-9, max_iter: int = 20):
        super().__init__(conf_level)
        self.ties = check_choice("ties", ties, ("efron", "breslow"), DataError)
        self.eps, self.max_iter = eps, max_iter

    def fit(self, X, time, event, names: Sequence[str] | None = None, strata=None) -> CoxPH:
        """Fit; ``strata`` (one label per row) gives each stratum its own baseline hazard (R's ``strata()``)."""
        if isinstance(X, pd.DataFrame):
            names = list(X.columns) if names is None else list(names)
            X = X.to_numpy(dtype=float)
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[:, None]
        t, e = _as_time_event(time, event)
        if X.shape[0] != t.size:
            raise DataError(f"covariates have {X.shape[0]} rows but time has {t.size}")
        if not np.isfinite(X).all():
            raise DataError("covariates: missing or non-finite values; drop or impute them first")
        self.names = list(names) if names is not None else [f"x{i + 1}" for i in range(X.shape[1])]
        if e.sum() == 0:
            raise DataError("event: no events, a Cox model cannot be fitted")
        const = [n for n, col in zip(self.names, X.T) if np.ptp(col) == 0]
        if const:
            raise DataError(f"covariate {const[0]!r} is constant; it has no effect to estimate")
        self.n, self.n_events = t.size, int(e.sum())
        # centring changes no estimate but keeps exp(eta) well scaled (R centres too)
        self._means = X.mean(axis=0)
        self.strata = None if strata is None else np.asarray(strata).astype(str)
        if self.strata is not None and self.strata.shape != t.shape:
            raise DataError(f"strata: {self.strata.size} labels but time has {t.size} rows")
        rs = _RiskSets(t, e, X - self._means, self.strata)
        efron = self.ties == "efron"
        p = X.shape[1]
        beta = np.zeros(p)
        ll0, u0, i0 = _cox_terms(rs, beta, efron)
        score = float(u0 @ np.linalg.solve(i0, u0))
        old_ll, newbeta, halving = ll0, beta + np.linalg.solve(i0, u0), 0
        imat, it = i0, 0
        for it in range(1, self.max_iter + 1):
            ll, u, imat = _cox_terms(rs, newbeta, efron)
            if abs(1 - old_ll / ll) <= self.eps and halving == 0:
                break
            if it == self.max_iter:
                break
            if ll < old_ll:  # step halving, as coxfit6
                halving += 1
                newbeta = (newbeta + beta) / 2
            else:
                halving = 0
                old_ll, beta = ll, newbeta
                newbeta = newbeta + np.linalg.solve(imat, u)
        self.converged = it < self.max_iter or abs(1 - old_ll / ll) <= self.eps
        self.iterations = it
        self.coef = newbeta
        self.var = np.linalg.inv(imat)
        self.se = np.sqrt(np.diag(self.var))
        self.z = self.coef / self.se
        self.p = 2 * stats.norm.sf(np.abs(self.z))
        zq = z_two_sided(self.conf_level)
        self.hr = np.exp(self.coef)
        self.hr_ci_low = np.exp(self.coef - zq * self.se)
        self.hr_ci_high = np.exp(self.coef + zq * self.se)
        self.loglik = (float(ll0), float(ll))
        self.lr_test = _Test(2 * (ll - ll0), p, float(stats.chi2.sf(2 * (ll - ll0), p)))
        wald = float(self.coef @ imat @ self.coef)
        self.wald_test = _Test(wald, p, float(stats.chi2.sf(wald, p)))
        self.score_test = _Test(score, p, float(stats.chi2.sf(score, p)))
        self._rs, self._imat = rs, imat
        self._time, self._event, self._X = t, e, X
        self.linear_predictor = self.predict_risk(X)
        if self.strata is None:
            self.concordance = concordance(t, e, self.linear_predictor)
        else:
            self.concordance = _stratified_concordance(t, e, self.linear_predictor, self.strata)
        return self

    def predict_risk(self, X) -> np.ndarray:
        """Linear predictor (centred as R's ``predict(fit, type="lp")``)."""
        X = X.to_numpy(dtype=float) if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=float)
        X = X.reshape(len(X), -1)
        # column by column, not a BLAS product: identical rows must give bit-identical scores, or
        # the C-index counts a tie in risk as concordant/discordant (R's tied_x)
        lp = np.zeros(len(X))
        for j in range(X.shape[1]):
            lp += X[:, j] * self.coef[j]
        return lp - float(self._means @ self.coef)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per covariate: coef, HR, SE, z, p and the HR's CI (as ``summary(coxph)``)."""
        return pd.DataFrame({"covariate": self.names, **{k: getattr(self, k) for k in COX_COLUMNS}}).set_index(
            "covariate")

    def row(self, i: int) -> dict[str, float]:
        """Return covariate ``i``'s estimates as a JSON record (the :data:`COX_COLUMNS`)."""
        return {k: float(getattr(self, k)[i]) for k in COX_COLUMNS}

    def check_assumptions(self) -> PHTest:
        """Proportional-hazards score test per covariate and global, as ``cox.zph(fit)``."""
        return cox_zph(self)

    def plot(self, ax=None):
        """Forest plot of hazard ratios with CIs (log scale); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 0.5 * len(self.names) + 1.4))
        y = np.arange(len(self.names))[::-1]
        ax.errorbar(
            self.hr,
            y,
            xerr=[self.hr - self.hr_ci_low, self.hr_ci_high - self.hr],
            fmt="s",
            color="k",
            capsize=3,
        )
        ax.axvline(1.0, color="grey", linestyle="--")
        ax.set_xscale("log")
        from matplotlib.ticker import FuncFormatter

        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(
            FuncFormatter(lambda v, _: f"{v:g}" if round(v / 10 ** np.floor(np.log10(v))) in (2, 5) else "")
        )
        ax.set_yticks(y, self.names)
        ax.set_ylim(-0.6, len(self.names) - 0.4)
        for yi, h, lo, hi, p in zip(y, self.hr, self.hr_ci_low, self.hr_ci_high, self.p):
            ax.annotate(
                f"{h:.2f} ({lo:.2f}-{hi:.2f}), p={p:.2g}",
                (1.02, yi),
                xycoords=("axes fraction", "data"),
                va="center",
                fontsize=8,
            )
        ax.set_xlabel(
            f"hazard ratio (95% CI); Cox PH, {self.ties} ties, n={self.n}, events={self.n_events}", fontsize=9
        )
        ax.figure.subplots_adjust(right=0.62, bottom=0.3, left=0.15)
        return ax


# --------------------------------------------------------------------------------------------------
# concordance
# --------------------------------------------------------------------------------------------------
@dataclass
class Concordance:
    """Harrell's C as R's ``concordance``: a higher score with a shorter time is concordant.

    Comparable pairs: the shorter time is an event; an event and a censoring at the same time count
    (the censored one outlived it); two events at the same time are ``tied_y`` and not comparable.
    ``std`` is R's infinitesimal-jackknife standard error.
    """

    concordant: int
    discordant: int
    tied_x: int
    tied_y: int
    tied_xy: int
    c: float
    std: float

    def to_dict(self) -> dict:
        """Return the concordance counts, C and its standard error as a JSON record."""
        return {
            "concordant": self.concordant,
            "discordant": self.discordant,
            "tied_x": self.tied_x,
            "tied_y": self.tied_y,
            "tied_xy": self.tied_xy,
            "c": self.c,
            "std": self.std,
        }


def concordance(time, event, score) -> Concordance:
    """Harrell's C-index of ``score`` (higher = higher risk) against survival time, with its IJ SE."""
    t, e = _as_time_event(time, event)
    x = np.asarray(score, dtype=float)
    if x.shape != t.shape or not np.isfinite(x).all():
        raise DataError("score: must be finite and as long as time")
    n = t.size
    conc = disc = tx = ty = txy = 0
    infl_c = np.zeros(n)  # per-observation counts for the jackknife: concordant, discordant, tied_x
    infl_d = np.zeros(n)
    infl_t = np.zeros(n)
    for i in np.flatnonzero(e):
        later = (t > t[i]) | ((t == t[i]) & ~e)
        same = (t == t[i]) & e
        same[i] = False
        xi, xl = x[i], x[later]
        c_ = xl < xi
        d_ = xl > xi
        t_ = xl == xi
        conc += int(c_.sum())
        disc += int(d_.sum())
        tx += int(t_.sum())
        infl_c[i] += c_.sum()
        infl_d[i] += d_.sum()
        infl_t[i] += t_.sum()
        li = np.flatnonzero(later)
        infl_c[li[c_]] += 1
        infl_d[li[d_]] += 1
        infl_t[li[t_]] += 1
        # pairs of deaths at the same time are counted once (j > i)
        sj = np.flatnonzero(same)
        sj = sj[sj > i]
        ty += int((x[sj] != xi).sum())
        txy += int((x[sj] == xi).sum())
    npair = conc + disc + tx
    if npair == 0:
        raise DataError("concordance: no comparable pairs (no event before another observation)")
    c = (conc + tx / 2) / npair
    # infinitesimal jackknife: derivative of C with respect to each observation's weight
    infl = ((infl_c + infl_t / 2) - c * (infl_c + infl_d + infl_t)) / npair
    return Concordance(conc, disc, tx, ty, txy, float(c), float(np.sqrt(np.sum(infl**2))))


def _stratified_concordance(t, e, score, strata) -> Concordance:
    """Pairs within strata only (as R's concordance of a stratified fit); counts summed over strata.

    ``std`` is NaN: the combined infinitesimal-jackknife SE is not implemented (the counts and C are).
    """
    parts = []
    for k in np.unique(strata):
        sel = strata == k
        if e[sel].any() and sel.sum() > 1:
            parts.append(concordance(t[sel], e[sel], score[sel]))
    if not parts:
        raise DataError("concordance: no comparable pairs within strata")
    tot = {f: sum(getattr(p, f) for p in parts) for f in ("concordant", "discordant", "tied_x", "tied_y", "tied_xy")}
    c = (tot["concordant"] + tot["tied_x"] / 2) / (tot["concordant"] + tot["discordant"] + tot["tied_x"])
    return Concordance(**tot, c=float(c), std=float("nan"))


# --------------------------------------------------------------------------------------------------
# cox.zph
# --------------------------------------------------------------------------------------------------
@dataclass
class PHTest:
    """Proportional-hazards test, as ``cox.zph(fit, transform="km")`` in survival >= 3.0."""

    table: pd.DataFrame  # index: covariates then GLOBAL; columns chisq, df, p
    transform: str = "km"
    gtime: np.ndarray = field(default=None, repr=False)

    @property
    def summary(self) -> pd.DataFrame:
        """The per-covariate and global test table (as ``cox.zph``)."""
        return self.table

    def to_dict(self) -> dict:
        """Return the tests as JSON: covariate (and ``GLOBAL``) -> chisq, df, p."""
        return {
            k: {"chisq": float(r.chisq), "df": int(r.df), "p": float(r.p)} for k, r in self.table.iterrows()
        }


def cox_zph(model: CoxPH) -> PHTest:
    """Score test of ``beta(t) = beta + gamma * g(t)``, g = 1 - KM(t-) centred at the death times.

    survival >= 3.0 computes, at (beta_hat, gamma = 0), the score and information of the model with
    the extra covariates ``X * g(t)``; the test for a term uses the beta-score 0 and the gamma-score,
    with the 2x2 (per term) or 2p x 2p (global) block of the information matrix.
    """
    rs = model._rs
    if getattr(model, "strata", None) is not None:
        raise DataError("cox.zph: the proportional-hazards test is not implemented for stratified models")
    t, e = model._time, model._event
    km = KaplanMeier().fit(t, e)
    # left-continuous KM at each subject's own time (R: findInterval(left.open=TRUE))
    idx = np.searchsorted(km.time, rs.t, side="left")
    ttimes = 1.0 - np.concatenate(([1.0], km.survival))[idx]
    gtime = ttimes - ttimes[rs.e].mean()
    efron = model.ties == "efron"
    X = rs.X
    w = np.exp(X @ model.coef)
    p = X.shape[1]
    s0 = np.cumsum(w[::-1])[::-1]
    s1 = np.cumsum((w[:, None] * X)[::-1], axis=0)[::-1]
    s2 = np.cumsum((w[:, None, None] * X[:, :, None] * X[:, None, :])[::-1], axis=0)[::-1]
    u = np.zeros(2 * p)
    imat = np.zeros((2 * p, 2 * p))
    for j, idx_d in enumerate(rs.death_idx):
        r, d = rs.risk_start[j], idx_d.size
        g = gtime[idx_d[0]]
        wd, xd = w[idx_d], X[idx_d]
        d0, d1 = wd.sum(), wd @ xd
        d2 = np.einsum("i,ij,ik->jk", wd, xd, xd)
        for k in range(d):
            frac = k / d if efron else 0.0
            den = s0[r] - frac * d0
            a = (s1[r] - frac * d1) / den
            v = (s2[r] - frac * d2) / den - np.outer(a, a)
            res = xd[k] - a
            u[:p] += res
            u[p:] += g * res
            imat[:p, :p] += v
            imat[:p, p:] += g * v
            imat[p:, p:] += g * g * v
    imat[p:, :p] = imat[:p, p:].T
    u[:p] = 0.0  # beta_hat solves the beta-score equations
    rows = {}
    for i, name in enumerate(model.names):
        jj = list(range(p)) + [i + p]  # all betas free, this term's gamma
        stat = float(u[jj] @ np.linalg.solve(imat[np.ix_(jj, jj)], u[jj]))
        rows[name] = (stat, 1, float(stats.chi2.sf(stat, 1)))
    stat = float(u @ np.linalg.solve(imat, u))
    rows["GLOBAL"] = (stat, p, float(stats.chi2.sf(stat, p)))
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["chisq", "df", "p"])
    return PHTest(table, "km", gtime)


# --------------------------------------------------------------------------------------------------
# time-dependent AUC
# --------------------------------------------------------------------------------------------------
def time_dependent_auc(time, event, marker, times: Sequence[float]) -> pd.DataFrame:
    """Cumulative/dynamic AUC(t) with Uno's inverse-probability-of-censoring weights.

    Cases at t: an event at or before t; controls: still event-free after t. Each case is weighted by
    1 / G(T_i-), G the Kaplan–Meier estimate of the censoring distribution (controls all share the weight
    1 / G(t), which cancels); marker ties count 1/2. This is the estimator of Uno et al. (2007) and
    ``timeROC(..., weighting = "marginal")``'s AUC_2 / scikit-survival's ``cumulative_dynamic_auc``.
    Times with no case or no control give NaN.
    """
    t, e = _as_time_event(time, event)
    m = np.asarray(marker, dtype=float)
    if m.shape != t.shape or not np.isfinite(m).all():
        raise DataError("marker: must be finite and as long as time")
    cens = KaplanMeier().fit(t, ~e)
    idx = np.searchsorted(cens.time, t, side="left")  # G(T_i-)
    g_minus = np.concatenate(([1.0], cens.survival))[idx]
    rows = []
    for s in np.asarray(times, dtype=float):
        case = e & (t <= s) & (g_minus > 0)
        ctrl = t > s
        if not case.any() or not ctrl.any():
            rows.append({"time": s, "auc": np.nan, "n_cases": int(case.sum()), "n_controls": int(ctrl.sum())})
            continue
        wc = 1.0 / g_minus[case]
        mc, mk = m[case][:, None], m[ctrl][None, :]
        win = ((mc > mk) + 0.5 * (mc == mk)).mean(axis=1)
        rows.append(
            {
                "time": s,
                "auc": float(np.sum(wc * win) / wc.sum()),
                "n_cases": int(case.sum()),
                "n_controls": int(ctrl.sum()),
            }
        )
    return pd.DataFrame(rows, columns=["time", "auc", "n_cases", "n_controls"])


# --------------------------------------------------------------------------------------------------
# one call on a measurement table: what `exoniche biomarkers survival` prints
# --------------------------------------------------------------------------------------------------
@dataclass(repr=False)
class SurvivalAnalysis:
    """KM (overall or by group), log-rank, Cox PH (multivariable and univariable), cox.zph, C and AUC(t).

    Built by :func:`analyze_survival`. With ``missing="drop"`` each part uses the complete cases of the
    columns it needs, as R does per model (e.g. R's ``lung``: KM on 228 rows, Cox on 227); ``n`` of each
    part is reported.
    """

    source: str
    time_col: str
    event_col: str
    group_col: str | None
    covariates: list[str]
    at: list[float]
    n: int
    events: int
    event_coding: str
    followup_median: float
    km: KaplanMeier | dict[str, KaplanMeier]
    logrank: LogRankTest | None
    cox: CoxPH | None
    cox_univariable: dict[str, CoxPH]
    cox_dropped: int
    ph_test: PHTest | None
    td_auc: pd.DataFrame | None
    strata_col: str | None = None

    def __repr__(self) -> str:
        """Short: the table, its size and which parts were computed."""
        parts = [p for p, v in (("km by " + str(self.group_col), self.group_col), ("logrank", self.logrank),
                                ("cox", self.cox), ("cox.zph", self.ph_test)) if v is not None]
        return (f"SurvivalAnalysis(source={self.source!r}, n={self.n}, events={self.events}, "
                f"covariates={self.covariates}, parts={parts or ['km']})")

    def km_table(self, km: KaplanMeier) -> list[dict]:
        """Return the curve at each observed time, plus the requested ``at`` times (flagged ``requested``)."""
        rows = {
            float(t): {
                "time": float(t),
                "survival": float(s),
                "ci_low": float(lo),
                "ci_high": float(hi),
                "at_risk": int(n),
                "n_event": int(d),
                "requested": False,
            }
            for t, s, lo, hi, n, d in zip(km.time, km.survival, km.ci_low, km.ci_high, km.n_risk, km.n_event)
        }
        for r in km.at(self.at).itertuples():
            rows[float(r.time)] = {
                "time": float(r.time),
                "survival": float(r.survival),
                "ci_low": float(r.ci_low),
                "ci_high": float(r.ci_high),
                "at_risk": int(r.n_risk),
                "n_event": int(rows.get(float(r.time), {}).get("n_event", 0)),
                "requested": True,
            }
        return [rows[t] for t in sorted(rows)]

    def _km_dict(self, km: KaplanMeier) -> dict:
        return {"n": km.n, "events": km.n_events_total, "median": km.median, "median_ci_low": km.median_ci[0],
                "median_ci_high": km.median_ci[1], "rmean": km.rmean, "se_rmean": km.se_rmean,
                "rmean_endtime": km.rmean_endtime, "table": self.km_table(km)}  # fmt: skip

    def to_dict(self) -> dict:
        """Return the JSON document of ``exoniche biomarkers survival --json``."""
        cox = self.cox
        out: dict[str, Any] = {
            "n": self.n,
            "events": self.events,
            "event_coding": self.event_coding,
            "followup_median": self.followup_median,
            "cox": [] if cox is None else [{"covariate": n, **cox.row(i)} for i, n in enumerate(cox.names)],
            "logrank": None if self.logrank is None else self.logrank.to_dict(),
            "c_index": None if cox is None else cox.concordance.c,
        }
        if isinstance(self.km, dict):
            out["km"] = {lv: self._km_dict(k) for lv, k in self.km.items()}
        else:
            out["km"] = self._km_dict(self.km)
        if cox is not None:
            out["cox_model"] = {
                "ties": cox.ties,
                "n": cox.n,
                "events": cox.n_events,
                "n_dropped_missing": self.cox_dropped,
                "loglik": list(cox.loglik),
                "lr_test": cox.lr_test.to_dict(),
                "wald_test": cox.wald_test.to_dict(),
                "score_test": cox.score_test.to_dict(),
                "iterations": cox.iterations,
            }
            out["cox_univariable"] = [
                {"covariate": n, "n": m.n, "events": m.n_events, **{k: v for k, v in m.row(0).items() if k != "z"}}
                for n, m in self.cox_univariable.items()
            ]
            out["concordance"] = cox.concordance.to_dict()
            out["ph_test"] = None if self.ph_test is None else self.ph_test.to_dict()
            out["cox_model"]["strata"] = self.strata_col
            out["td_auc"] = self.td_auc.to_dict(orient="records")
        if self.logrank is not None:
            lr = self.logrank
            out["logrank"].update(
                groups=lr.groups,
                n=lr.n.tolist(),
                observed=lr.observed.tolist(),
                expected=lr.expected.tolist(),
            )
        return out

    def plot(self, ax=None, xlabel: str | None = None):
        """Kaplan–Meier plot (by group when grouped) with numbers at risk; returns the Axes."""
        curves = (
            {f"{self.group_col}={lv}": k for lv, k in self.km.items()}
            if isinstance(self.km, dict)
            else {"all": self.km}
        )
        ax = plot_km(curves, ax=ax, xlabel=xlabel or self.time_col)
        if self.logrank is not None:
            ax.set_title(f"log-rank p = {self.logrank.p:.3g}", fontsize=9, loc="left")
        return ax


def _complete(df: pd.DataFrame, cols: Sequence[str], src: str, missing: str) -> pd.Index:
    """Rows of ``df`` with every column in ``cols`` present (raises on a missing cell unless ``drop``)."""
    from exoniche.biomarkers.data import describe_rows

    keep = df.index
    for col in cols:
        miss = df[col].isna() | df[col].astype(str).str.strip().eq("")
        if miss.any() and missing == "error":
            raise DataError(
                f"{src}: column {col!r} has missing values at {describe_rows(df, df.index[miss])}; "
                "fill them or choose --missing drop"
            )
        keep = keep[~miss.loc[keep].to_numpy()]
    return keep


def followup_rows(df: pd.DataFrame, time: str, event: str, extra: Sequence[str], src: str, missing: str):
    """(row labels, sub-table, times) of the rows with time, event and ``extra`` present; times >= 0."""
    from exoniche.biomarkers.data import describe_rows, numeric_column

    base = _complete(df, [time, event, *extra], src, missing)
    if len(base) == 0:
        raise DataError(f"{src}: no row has {time!r}, {event!r}" + (f" and {', '.join(map(repr, extra))}" if extra
                                                                      else ""))  # fmt: skip
    sub = df.loc[base]
    t = numeric_column(sub, time, src).to_numpy()
    neg = np.flatnonzero(t < 0)
    if neg.size:
        raise DataError(
            f"{src}: column {time!r} has negative times at {describe_rows(df, base[neg])}: "
            f"{t[neg[0]]!r}; follow-up time must be >= 0"
        )
    return base, sub, t


def analyze_survival(
    df: pd.DataFrame,
    time: str,
    event: str,
    covariates: Sequence[str] = (),
    group: str | None = None,
    at: Sequence[float] = (),
    ties: str = "efron",
    missing: str = "error",
    source: str | None = None,
    strata: str | None = None,
) -> SurvivalAnalysis:
    """Run the whole prognostic analysis on a table; see :class:`SurvivalAnalysis`.

    Parameters
    ----------
    df
        One row per patient (e.g. from :func:`exoniche.biomarkers.data.read_table`).
    time, event
        Follow-up time (>= 0, any unit) and event status (0/1, R's 1/2, or TRUE/FALSE).
    covariates
        Numeric columns for the Cox model (e.g. an exosomal marker, age, stage).
    group
        Column whose levels get one KM curve each and a log-rank test.
    at
        Times to add to the KM tables (e.g. 180 and 365 days); also where the time-dependent AUC of the
        Cox linear predictor is computed (default: the quartiles of the event times).
    missing
        ``"error"`` (default) or ``"drop"`` (complete cases per analysis).
    strata
        Column whose levels get their own baseline hazard in the Cox models (R's ``+ strata(col)``); the
        PH test (cox.zph) is then not computed and the C-index counts pairs within strata.
    """
    from exoniche.biomarkers.data import numeric_column, require_columns

    src = source or df.attrs.get("source") or "table"
    if missing not in ("error", "drop"):
        raise unknown("missing", missing, ("drop", "error"), DataError)
    covariates = list(covariates)
    dup = sorted({c for c in covariates if covariates.count(c) > 1})
    if dup:
        raise DataError(f"{src}: covariate {dup[0]!r} is given more than once")
    require_columns(df, [time, event, *covariates] + ([group] if group else []) + ([strata] if strata else []), src)
    if strata and not covariates:
        raise DataError("--strata stratifies the Cox model; give at least one --covariate")
    for c in covariates:
        if c in (time, event):
            raise DataError(
                f"{src}: column {c!r} is both a covariate and the {'time' if c == time else 'event'}"
            )
    where = "row" if df.attrs.get("rows_numbered") else "index"
    base, sub, t = followup_rows(df, time, event, [c for c in (group, strata) if c], src, missing)
    ev_raw = sub[event]
    e = event_indicator(ev_raw.tolist(), event, rows=list(base), where=where)
    codes = {_code_text(v) for v in ev_raw}
    coding = (
        "TRUE/FALSE"
        if codes <= {"true", "false"}
        else ("1/2 (2 = event)" if "2" in codes else "0/1 (1 = event)")
    )
    if e.sum() == 0:
        raise DataError(f"{src}: column {event!r} has no events ({coding} coding); nothing to estimate")
    followup = KaplanMeier().fit(t, ~e).median  # reverse Kaplan–Meier: median potential follow-up
    if group:
        g = sub[group].map(
            lambda v: str(int(v)) if isinstance(v, float) and float(v).is_integer() else str(v)
        )
        km = kaplan_meier(t, e, g.to_numpy())
        levels = list(km)
        if len(levels) < 2:
            raise DataError(
                f"{src}: group column {group!r} has a single level {levels[0]!r}; need two or more"
            )
        for lv, k in km.items():
            if k.n_events_total == 0:
                raise DataError(f"{src}: group {group}={lv!r} has no events; the log-rank test needs events")
        logrank = logrank_test(t, e, g.to_numpy())
    else:
        km, logrank = kaplan_meier(t, e), None
    at = sorted(float(a) for a in at)
    if any(a < 0 for a in at):
        raise DataError(f"--at: times must be >= 0, got {at}")
    cox = ph = tdauc = None
    uni: dict[str, CoxPH] = {}
    dropped = 0
    if covariates:
        keep = _complete(sub, covariates, src, missing)
        dropped = len(base) - len(keep)
        pos = base.get_indexer(keep)
        X = pd.DataFrame({c: numeric_column(sub.loc[keep], c, src).to_numpy() for c in covariates})
        st = None if not strata else sub[strata].astype(str).to_numpy()
        cox = CoxPH(ties).fit(X, t[pos], e[pos], strata=None if st is None else st[pos])
        ph = cox_zph(cox) if st is None else None
        ev_times = t[pos][e[pos]]
        auc_times = at or [float(q) for q in np.quantile(ev_times, [0.25, 0.5, 0.75])]
        tdauc = time_dependent_auc(t[pos], e[pos], cox.linear_predictor, auc_times)
        for c in covariates:
            uk = _complete(sub, [c], src, "drop")
            up = base.get_indexer(uk)
            uni[c] = CoxPH(ties).fit(
                numeric_column(sub.loc[uk], c, src).to_numpy(), t[up], e[up], names=[c],
                strata=None if st is None else st[up],
            )  # fmt: skip
    return SurvivalAnalysis(
        source=src, time_col=time, event_col=event, group_col=group, covariates=covariates, at=at, n=int(t.size),
        events=int(e.sum()), event_coding=coding, followup_median=followup, km=km, logrank=logrank, cox=cox,
        cox_univariable=uni, cox_dropped=dropped, ph_test=ph, td_auc=tdauc, strata_col=strata,
    )  # fmt: skip


def _code_text(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    try:
        f = float(str(v).strip())
        return str(int(f)) if f.is_integer() else str(f)
    except ValueError:
        return str(v).strip().lower()
