"""Competing risks equal to R's cmprsk: cumulative incidence (``cuminc``), Gray's test and Fine–Gray (``crr``).

Metastasis and death before metastasis compete: the Kaplan–Meier complement of "time to metastasis" with deaths
censored overstates the metastasis risk. This module gives

* the Aalen–Johansen cumulative incidence function (CIF) of each cause in each group, with the variance of
  Gray's cmprsk (a delta-method estimator with a correction for tied failures, Gray 1988 / cmprsk ``cinc``);
* Gray's (1988, Ann. Stat. 16: 1141) K-sample test that a cause's CIF is the same in all groups, with the
  weight ``(1 - F(t-))^rho``;
* the Fine & Gray (1999, JASA 94: 496) proportional subdistribution-hazards regression with
  inverse-probability-of-censoring weights from the Kaplan–Meier estimate of the censoring distribution and
  the robust (sandwich) variance that accounts for estimating those weights.

The numbers agree with cmprsk 2.2-11 (``tests/reference/fixtures/cmprsk_competing.json``). The code is
written from the published estimators, vectorised over subjects; it follows cmprsk's conventions where the
papers leave a choice (ties: Breslow-type in Fine–Gray; the Newton iteration and its stopping rule of
``crr``; CIF step functions that end at the group's largest follow-up time).

Event coding: 0 = censored, 1 = event of interest, 2, 3, ... = competing events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from exoniche.errors import DataError, unknown


def competing_codes(
    values, column: str = "event", rows: Sequence | None = None, where: str = "row"
) -> np.ndarray:
    """Event codes 0 (censored), 1 (event of interest), 2.. (competing) as integers; others are an error."""
    s = pd.Series(list(values), dtype=object)
    labels = list(rows) if rows is not None else list(range(1, len(s) + 1))
    out = np.empty(len(s), dtype=np.int64)
    for i, v in enumerate(s):
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = float("nan")
        if not np.isfinite(f) or f != int(f) or f < 0:
            raise DataError(
                f"column {column!r}: event value {v!r} at {where} {labels[i]} is not a competing-risk code; "
                "allowed 0 (censored), 1 (event of interest), 2, 3, ... (competing events)"
            )
        out[i] = int(f)
    if not (out == 1).any():
        raise DataError(f"column {column!r}: no event of interest (code 1)")
    present = sorted(set(out.tolist()) - {0})
    if present != list(range(1, present[-1] + 1)):
        missing = sorted(set(range(1, present[-1] + 1)) - set(present))
        raise DataError(
            f"column {column!r}: causes must be coded 1..k without gaps; codes {present} are used but "
            f"{missing} never occur"
        )
    return out


def _times(time) -> np.ndarray:
    t = np.asarray(time, dtype=float)
    bad = np.flatnonzero(~np.isfinite(t) | (t < 0))
    if bad.size:
        raise DataError(f"time: value {t[bad[0]]!r} at position {bad[0]} is not a finite time >= 0")
    return t


# --------------------------------------------------------------------------------------------- CIF
@dataclass
class CIFCurve:
    """A CIF step function in cmprsk's corner form: (0, 0), then two points per failure time of the cause."""

    group: str
    cause: int
    time: np.ndarray
    estimate: np.ndarray
    variance: np.ndarray

    def at(self, times: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """Estimate and variance at ``times`` (right-continuous; NaN beyond the group's last follow-up)."""
        t = np.asarray(times, dtype=float)
        idx = np.searchsorted(self.time, t, side="right") - 1
        est = np.where(t <= self.time[-1], self.estimate[np.maximum(idx, 0)], np.nan)
        var = np.where(t <= self.time[-1], self.variance[np.maximum(idx, 0)], np.nan)
        return est, var

    def jumps(self) -> pd.DataFrame:
        """One row per corner time (0, each failure time of the cause, the last follow-up), after the jump."""
        t = np.unique(self.time)
        idx = np.searchsorted(self.time, t, side="right") - 1
        return pd.DataFrame({"time": t, "estimate": self.estimate[idx], "variance": self.variance[idx]})


def _cif_one(t: np.ndarray, code: np.ndarray, cause: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aalen–Johansen CIF of ``cause`` and Gray's variance for one group (times in any order)."""
    order = np.argsort(t, kind="stable")
    t, code = t[order], code[order]
    n = t.size
    uniq, first = np.unique(t, return_index=True)
    last = np.r_[first[1:], n]
    xs, fs, vs = [0.0], [0.0], [0.0]
    surv, F = 1.0, 0.0
    v1 = v2 = v3 = 0.0
    for u, a, b in zip(uniq, first, last, strict=True):
        at_risk = n - a
        block = code[a:b]
        d1 = int((block == cause).sum())
        d2 = int(((block != 0) & (block != cause)).sum())
        if d1 + d2 == 0:
            continue
        surv_next = surv * (at_risk - d1 - d2) / at_risk
        if d1 > 0:
            F_new = F + surv * d1 / at_risk
            xs += [u, u]
            fs += [F, F_new]
            F = F_new
        for d, own in ((d2, False), (d1, True)):
            if d <= 0 or (not own and surv_next <= 0):
                continue
            tie = 1.0 if d == 1 else 1 - (d - 1.0) / (at_risk - 1.0)
            w = surv * surv * tie * d / (at_risk * at_risk)
            inv = 1.0 / surv_next if surv_next > 0 else 0.0
            h = 1 + inv * F if own else F * inv
            v1 += h * h * w
            v2 += inv * h * w
            v3 += inv * inv * w
        if d1 > 0:
            vs += [vs[-1], v1 + F * F * v3 - 2 * F * v2]
        surv = surv_next
    xs.append(t[-1])
    fs.append(fs[-1])
    vs.append(vs[-1])
    return np.array(xs), np.array(fs), np.array(vs)


# --------------------------------------------------------------------------------------------- Gray's test
def gray_test(time, code, group, cause: int = 1, rho: float = 0.0) -> tuple[float, float, int]:
    """Gray's K-sample test of the CIF of ``cause``: (statistic, p, df); statistic NaN when singular."""
    t = _times(time)
    code = np.asarray(code)
    levels, g = np.unique(np.asarray(group).astype(str), return_inverse=True)
    G = levels.size
    if G < 2:
        raise DataError("Gray's test needs at least two groups")
    order = np.argsort(t, kind="stable")
    t, g = t[order], g[order]
    m = np.where(code[order] == cause, 1, np.where(code[order] == 0, 0, 2))
    n = t.size
    at_risk = np.bincount(g, minlength=G).astype(float)
    f1m, skmm = np.zeros(G), np.ones(G)
    fm = 0.0
    s = np.zeros(G - 1)
    V = np.zeros((G - 1, G - 1))
    c = np.zeros((G, G))
    v2 = np.zeros((G - 1, G))
    v3 = np.zeros(G)
    uniq, first = np.unique(t, return_index=True)
    last = np.r_[first[1:], n]
    for a, b in zip(first, last, strict=True):
        d = np.zeros((3, G))
        np.add.at(d, (m[a:b], g[a:b]), 1.0)
        nd1, nd2 = d[1].sum(), d[2].sum()
        if nd1 + nd2 > 0:
            live = at_risk > 0
            rs = np.where(live, at_risk, 1.0)
            skm = np.where(live, skmm * (rs - d[1] - d[2]) / rs, skmm)
            f1 = np.where(live, f1m + skmm * d[1] / rs, f1m)
            hr = np.where(live, at_risk / skmm, 0.0)
            tr = hr.sum()
            tq = np.sum(np.where(live, at_risk * (1 - f1m) / skmm, 0.0))
            f = fm + nd1 / tr
            fb = (1 - fm) ** rho
            A = -fb * np.outer(hr, hr) / tr
            A[np.diag_indices(G)] = fb * hr * (1 - hr / tr)
            A[~live, :] = 0.0
            A[:, ~live] = 0.0
            c += A * nd1 / (tr * (1 - fm))
            s += np.where(live, fb * (d[1] - nd1 * at_risk * (1 - f1m) / (skmm * tq)), 0.0)[: G - 1]
            if nd1 > 0:
                t4 = np.where(skm > 0, 1 - (1 - f) / np.where(skm > 0, skm, 1.0), 1.0)
                t5 = 1 - (nd1 - 1) / (tr * skmm - 1) if nd1 > 1 else np.ones(G)
                t3 = np.where(live, t5 * skmm * nd1 / (tr * rs), 0.0)
                v3 += t4 * t4 * t3
                T1 = A[: G - 1] - t4 * c[: G - 1]  # (G-1, G)
                v2 += T1 * (t4 * t3)
                V += (T1 * t3) @ T1.T
            if nd2 > 0:
                ok = (skm > 0) & (d[2] > 0)
                t4 = np.where(ok, (1 - f) / np.where(skm > 0, skm, 1.0), 0.0)
                t5 = np.where(d[2] > 1, 1 - (d[2] - 1) / np.where(rs > 1, rs - 1, 1.0), 1.0)
                t3 = np.where(ok, t5 * skmm**2 * d[2] / rs**2, 0.0)
                v3 += t4 * t4 * t3
                T1 = t4 * c[: G - 1]
                v2 -= T1 * (t4 * t3)
                V += (T1 * t3) @ T1.T
        if b >= n:
            break
        at_risk -= np.bincount(g[a:b], minlength=G)
        fm, f1m, skmm = (f, f1, skm) if nd1 + nd2 > 0 else (fm, f1m, skmm)
    C = c[: G - 1]
    V += (C * v3) @ C.T + C @ v2.T + v2 @ C.T
    if np.linalg.matrix_rank(V) < G - 1:
        return float("nan"), float("nan"), G - 1
    stat = float(s @ np.linalg.solve(V, s))
    return stat, float(stats.chi2.sf(stat, G - 1)), G - 1


# --------------------------------------------------------------------------------------------- Fine-Gray
def _censoring_km_left(t: np.ndarray, cens: np.ndarray) -> np.ndarray:
    """Kaplan–Meier of the censoring distribution just before each t (censorings are its events)."""
    uniq, inv = np.unique(t, return_inverse=True)
    at_risk = t.size - np.searchsorted(np.sort(t), uniq, side="left")
    c = np.bincount(inv, weights=cens.astype(float), minlength=uniq.size)
    step = 1 - c / at_risk
    left = np.r_[1.0, np.cumprod(step)[:-1]]
    return left[inv]


@dataclass
class FineGray:
    """Fine–Gray fit: ``coef``, ``se``, ``z``, ``p``, ``var`` (robust), ``loglik``, ``converged``."""

    names: list[str]
    coef: np.ndarray
    var: np.ndarray
    loglik: float
    converged: bool
    iterations: int
    failcode: int
    n: int

    @property
    def se(self) -> np.ndarray:
        """Robust standard errors of the coefficients."""
        return np.sqrt(np.diag(self.var))

    @property
    def z(self) -> np.ndarray:
        """Wald statistics ``coef / se``."""
        return self.coef / self.se

    @property
    def p(self) -> np.ndarray:
        """Two-sided Wald p-values."""
        return 2 * stats.norm.sf(np.abs(self.z))

    def to_records(self) -> list[dict]:
        """Return one JSON record per covariate: coef, se, z, p and the subdistribution hazard ratio."""
        return [
            {"covariate": n, "coef": float(b), "se": float(s), "z": float(z), "p": float(p),
             "shr": float(np.exp(b))}
            for n, b, s, z, p in zip(self.names, self.coef, self.se, self.z, self.p, strict=True)
        ]  # fmt: skip


class _FGData:
    """Sorted data, censoring weights and the weight matrix W[i, k] of subject i at failure time k."""

    def __init__(self, t, code, X, failcode):
        order = np.argsort(t, kind="stable")
        self.t, self.X = t[order], X[order]
        status = np.where(code[order] == failcode, 1, np.where(code[order] == 0, 0, 2))
        self.status = status
        G = _censoring_km_left(self.t, status == 0)
        self.ft, self.d = np.unique(self.t[status == 1], return_counts=True)
        Gf = G[np.searchsorted(self.t, self.ft, side="left")]  # G(t_k-) at each failure time
        later = self.t[:, None] >= self.ft[None, :]
        other = (self.t[:, None] < self.ft[None, :]) & (status[:, None] == 2)
        self.W = np.where(later, 1.0, np.where(other, Gf[None, :] / G[:, None], 0.0))
        self.fail = status == 1
        self.fail_k = np.searchsorted(self.ft, self.t)  # failure-time index of each subject's own time
        self.G, self.Gf = G, Gf

    def terms(self, b):
        X = self.X
        r = np.exp(X @ b)
        Wr = self.W * r[:, None]  # (n, K)
        S0 = Wr.sum(axis=0)
        S1 = Wr.T @ X  # (K, p)
        E = S1 / S0[:, None]
        ll = float((X[self.fail] @ b).sum() - self.d @ np.log(S0))
        U = X[self.fail].sum(axis=0) - self.d @ E
        S2 = np.einsum("ik,ij,il->kjl", Wr, X, X)
        info = np.einsum("k,kjl->jl", self.d / S0, S2) - np.einsum("k,kj,kl->jl", self.d, E, E)
        return ll, U, info, r, S0, E


def fine_gray(time, code, X: pd.DataFrame, failcode: int = 1, gtol: float = 1e-6, max_iter: int = 10) -> FineGray:
    """Fine–Gray regression as ``cmprsk::crr`` (one censoring group, Newton from 0 with backtracking)."""
    t = _times(time)
    code = np.asarray(code)
    names = [str(c) for c in X.columns]
    Z = X.to_numpy(dtype=float)
    if not np.isfinite(Z).all():
        raise DataError("covariates: missing or non-finite values; drop or impute them first")
    if not (code == failcode).any():
        raise DataError(f"Fine-Gray: no event of cause {failcode}")
    const = [n for n, col in zip(names, Z.T, strict=True) if np.ptp(col) == 0]
    if const:
        raise DataError(f"covariate {const[0]!r} is constant; it has no effect to estimate")
    fg = _FGData(t, code, Z, failcode)
    b = np.zeros(Z.shape[1])
    converged, it = False, 0
    for it in range(max_iter + 1):
        ll, U, info, *_ = fg.terms(b)
        lik, score = -ll, -U
        if np.max(np.abs(score) * np.maximum(np.abs(b), 1)) < max(abs(lik), 1) * gtol:
            converged = True
            break
        if it == max_iter:
            break
        step = np.linalg.solve(info, U)
        bn = b + step
        fbn = -fg.terms(bn)[0]
        halvings = 0
        while not np.isfinite(fbn) or fbn > lik + 1e-4 * float(step @ score):
            halvings += 1
            step = step * 0.5
            bn = b + step
            fbn = -fg.terms(bn)[0]
            if halvings > 20:
                break
        if halvings > 20:
            break
        b = bn
    ll, U, info, r, S0, E = fg.terms(b)
    var = _fg_sandwich(fg, info, r, S0, E)
    return FineGray(names, b, var, ll, converged, it, failcode, t.size)


def _fg_sandwich(fg: _FGData, info, r, S0, E) -> np.ndarray:
    """Robust variance inv(I) Σ (η_i + ψ_i)^⊗2 inv(I) (Fine & Gray 1999, section 3)."""
    X, W, d = fg.X, fg.W, fg.d
    n = X.shape[0]
    # eta: score residual of each subject (dN part minus the compensator part)
    eta = np.zeros_like(X)
    eta[fg.fail] = X[fg.fail] - E[fg.fail_k[fg.fail]]
    wk = W * r[:, None] * (d / S0)[None, :]  # (n, K)
    eta -= wk.sum(axis=1)[:, None] * X - wk @ E
    # psi: effect of estimating the censoring distribution, through q(u) at each censoring time u
    t, status = fg.t, fg.status
    cens_times = np.unique(t[status == 0])
    psi = np.zeros_like(X)
    if cens_times.size:
        Y = n - np.searchsorted(t, cens_times, side="left")  # t is sorted
        other = status == 2
        q = np.zeros((cens_times.size, X.shape[1]))
        for j, u in enumerate(cens_times):
            src = other & (t < u)
            ks = fg.ft >= u
            if not src.any() or not ks.any():
                continue
            Wsub = W[np.ix_(src, ks)] * r[src][:, None]  # (m, K')
            coefk = d[ks] / S0[ks]
            q[j] = np.einsum("ik,k,ij->j", Wsub, coefk, X[src]) - (Wsub.sum(axis=0) * coefk) @ E[ks]
        n_cens = np.bincount(np.searchsorted(cens_times, t[status == 0]), minlength=cens_times.size)
        jump = q * (n_cens / Y.astype(float) ** 2)[:, None]
        cum = np.cumsum(jump, axis=0)  # sum over censoring times <= u
        idx = np.searchsorted(cens_times, t, side="right") - 1
        psi -= np.where(idx[:, None] >= 0, cum[np.maximum(idx, 0)], 0.0)
        own = status == 0
        pos = np.searchsorted(cens_times, t[own])
        psi[own] += q[pos] / Y[pos][:, None]
    resid = eta + psi
    h = np.linalg.inv(info)
    return h @ (resid.T @ resid) @ h.T


# --------------------------------------------------------------------------------------------- result
@dataclass
class CompetingRisks:
    """Everything ``biomarkers survival --competing`` reports."""

    curves: list[CIFCurve]
    gray: list[dict]
    finegray: FineGray | None
    at: list[float]
    group: str | None
    n: int
    counts: dict[int, int]

    def cif_rows(self) -> list[dict]:
        """Return the cumulative incidence per cause (and group) at the requested times, or at every event time."""
        rows = []
        for c in self.curves:
            if self.at:
                est, var = c.at(self.at)
                pts = zip(self.at, est, var, strict=True)
            else:
                j = c.jumps()
                pts = zip(j["time"], j["estimate"], j["variance"], strict=True)
            for t, e, v in pts:
                rows.append({"group": c.group, "cause": c.cause, "time": float(t),
                             "estimate": None if np.isnan(e) else float(e),
                             "variance": None if np.isnan(v) else float(v)})  # fmt: skip
        return rows

    def to_dict(self) -> dict:
        """Return the JSON document of ``exoniche biomarkers survival --competing --json``."""
        return {
            "n": self.n,
            "event_coding": "0 = censored, 1 = event of interest, 2.. = competing",
            "events": {str(k): v for k, v in sorted(self.counts.items())},
            "group": self.group,
            "at": self.at,
            "cif": self.cif_rows(),
            "gray": self.gray,
            "finegray": self.finegray.to_records() if self.finegray is not None else [],
        }

    def plot(self, ax=None, cause_labels: dict[int, str] | None = None):
        """Stacked CIFs per group: cause 1 at the bottom, then each competing cause, then event-free."""
        import matplotlib.pyplot as plt

        groups = list(dict.fromkeys(c.group for c in self.curves))
        if ax is None:
            _, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), dpi=150, squeeze=False,
                                   sharey=True)  # fmt: skip
            axes = axes[0]
        else:
            axes = [ax]
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for a, grp in zip(axes, groups, strict=False):
            mine = sorted((c for c in self.curves if c.group == grp), key=lambda c: c.cause)
            tmax = max(c.time[-1] for c in mine)
            grid = np.unique(np.r_[0.0, np.concatenate([c.time for c in mine]), tmax])
            base = np.zeros_like(grid)
            for c in mine:
                est, _ = c.at(grid)
                est = np.nan_to_num(est, nan=float(c.estimate[-1]))
                label = (cause_labels or {}).get(c.cause, f"cause {c.cause}")
                a.fill_between(grid, base, base + est, step="post", alpha=0.75,
                               color=colours[(c.cause - 1) % len(colours)], label=label, lw=0)  # fmt: skip
                base = base + est
            a.fill_between(grid, base, 1.0, step="post", color="0.93", label="event-free", lw=0)
            a.set_xlim(0, tmax)
            a.set_ylim(0, 1)
            a.set_title(grp if self.group is None else f"{self.group} = {grp}", fontsize=9)
            a.set_xlabel("time")
            a.spines[["top", "right"]].set_visible(False)
        axes[0].set_ylabel("cumulative incidence (stacked)")
        axes[-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
        axes[0].figure.tight_layout()
        return axes[0]


def competing_risks(
    time, code, group=None, covariates: pd.DataFrame | None = None, at: Sequence[float] = (), rho: float = 0.0,
    group_name: str | None = None,
) -> CompetingRisks:  # fmt: skip
    """CIF per group and cause (``cuminc``), Gray's test per cause and Fine–Gray for cause 1 (``crr``)."""
    t = _times(time)
    code = np.asarray(code, dtype=np.int64)
    if code.shape != t.shape:
        raise DataError("time and event must have the same length")
    causes = sorted(set(code.tolist()) - {0})
    if group is None:
        gl = np.array(["all"] * t.size)
    else:
        gl = np.asarray(group).astype(str)
    levels = sorted(set(gl.tolist()))
    curves = []
    for cause in causes:
        for lev in levels:
            sel = gl == lev
            x, f, v = _cif_one(t[sel], code[sel], cause)
            curves.append(CIFCurve(lev, cause, x, f, v))
    gray = []
    if group is not None:
        if len(levels) < 2:
            raise DataError(f"group column {group_name!r} has a single level; Gray's test needs two or more")
        for cause in causes:
            stat, p, df = gray_test(t, code, gl, cause, rho)
            gray.append({"cause": cause, "stat": stat, "p": p, "df": df})
    fg = fine_gray(t, code, covariates, 1) if covariates is not None and covariates.shape[1] else None
    counts = {int(k): int(v) for k, v in zip(*np.unique(code, return_counts=True), strict=True)}
    return CompetingRisks(curves, gray, fg, [float(a) for a in at], group_name, int(t.size), counts)


def analyze_competing(df: pd.DataFrame, time: str, event: str, covariates: Sequence[str] = (), group: str | None = None,
                      at: Sequence[float] = (), missing: str = "error", source: str | None = None,
                      rho: float = 0.0) -> CompetingRisks:  # the arguments of analyze_survival, plus rho
    """:func:`competing_risks` on a table, with the table's row numbers in every error message.

    The CIFs and Gray's tests use every row with time, event (and group); Fine–Gray uses the rows whose
    covariates are complete too (``missing="drop"``), or reports the missing cells (``"error"``).
    """
    from exoniche.biomarkers.data import numeric_column, require_columns
    from exoniche.biomarkers.survival import _complete, followup_rows

    src = source or df.attrs.get("source") or "table"
    if missing not in ("error", "drop"):
        raise unknown("missing", missing, ("drop", "error"), DataError)
    covariates = list(covariates)
    require_columns(df, [time, event, *covariates] + ([group] if group else []), src)
    where = "row" if df.attrs.get("rows_numbered") else "index"
    base, sub, t = followup_rows(df, time, event, [group] if group else [], src, missing)
    code = competing_codes(sub[event].tolist(), event, rows=list(base), where=where)
    g = None
    if group:
        g = sub[group].map(lambda v: str(int(v)) if isinstance(v, float) and float(v).is_integer() else str(v))
        if g.nunique() < 2:
            raise DataError(
                f"{src}: group column {group!r} has a single level {g.iloc[0]!r}; need two or more"
            )
        g = g.to_numpy()
    if any(a < 0 for a in at):
        raise DataError(f"--at: times must be >= 0, got {list(at)}")
    res = competing_risks(t, code, g, None, sorted(float(a) for a in at), rho, group)
    if covariates:
        keep = _complete(sub, covariates, src, missing)
        pos = base.get_indexer(keep)
        X = pd.DataFrame({c: numeric_column(sub.loc[keep], c, src).to_numpy() for c in covariates})
        res.finegray = fine_gray(t[pos], code[pos], X, 1)
    return res


__all__ = [
    "CIFCurve", "CompetingRisks", "FineGray", "analyze_competing", "competing_codes", "competing_risks",
    "fine_gray", "gray_test",
]  # fmt: skip
