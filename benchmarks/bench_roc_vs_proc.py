"""Time ROC + DeLong CI + paired DeLong test against R's pROC, in the same session.

For n = 10^5 and 10^6 subjects (two correlated markers, 30 % cases, seeded), both sides do the same work on the
same CSV: two ROC curves (direction "auto", full curve), the DeLong 95 % CI of each AUC, and the paired DeLong
test of the two AUCs. Reading the CSV is not timed. Each side runs ``--repeats`` times and keeps its fastest run.
The values are cross-checked (AUC, CI, Z to 1e-6) so the timing compares equal results.

Prints one row per n, then ``ratio: X`` last, X = exoniche time / pROC time summed over both sizes
(the issue's target is <= 0.5).

    .venv/bin/python benchmarks/bench_roc_vs_proc.py [--sizes 100000 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from exoniche.biomarkers import roc, roc_test

R_SCRIPT = r"""
suppressMessages(library(pROC))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
repeats <- as.integer(args[2])
best <- Inf
for (i in seq_len(repeats)) {
  gc()
  t <- system.time({
    r1 <- roc(d$y, d$s1, levels = c(0, 1), direction = "auto", quiet = TRUE)
    r2 <- roc(d$y, d$s2, levels = c(0, 1), direction = "auto", quiet = TRUE)
    c1 <- ci.auc(r1, method = "delong")
    c2 <- ci.auc(r2, method = "delong")
    tt <- roc.test(r1, r2, method = "delong", paired = TRUE)
  })[["elapsed"]]
  best <- min(best, t)
}
cat(sprintf('{"seconds": %.6f, "auc1": %.15g, "auc2": %.15g, "ci1_low": %.15g, "ci2_high": %.15g, "z": %.15g}\n',
            best, as.numeric(r1$auc), as.numeric(r2$auc), c1[1], c2[3], tt$statistic))
"""


def simulate(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    shared = rng.normal(size=n)
    # rounded to 4 decimals: realistic assay resolution, and plenty of ties to exercise midranks
    s1 = np.round(0.9 * y + shared + rng.normal(size=n), 4)
    s2 = np.round(0.7 * y + shared + rng.normal(size=n), 4)
    return pd.DataFrame({"y": y, "s1": s1, "s2": s2})


def run_exoniche(df: pd.DataFrame, repeats: int) -> tuple[float, dict]:
    y, s1, s2 = df["y"].to_numpy(), df["s1"].to_numpy(), df["s2"].to_numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        r1, r2 = roc(y, s1), roc(y, s2)
        _ = r1.thresholds, r2.thresholds  # the full curve, as pROC's roc() builds it
        t = roc_test(r1, r2)
        best = min(best, time.perf_counter() - start)
    return best, {"auc1": r1.auc, "auc2": r2.auc, "ci1_low": r1.ci[0], "ci2_high": r2.ci[1], "z": t.statistic}


def run_proc(csv: Path, repeats: int) -> tuple[float, dict]:
    rscript = shutil.which("Rscript")
    if rscript is None:
        sys.exit("Rscript not found: install r-base-core and r-cran-proc (tests/reference/README.md)")
    script = csv.parent / "bench.R"
    script.write_text(R_SCRIPT)
    out = subprocess.run(
        [rscript, str(script), str(csv), str(repeats)], capture_output=True, text=True, check=True
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return res.pop("seconds"), res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    total_ex = total_r = 0.0
    print(f"{'n':>9}  {'exoniche s':>10}  {'pROC s':>8}  {'ratio':>6}  max |diff| of AUC, CI, Z")
    with tempfile.TemporaryDirectory() as tmp:
        for i, n in enumerate(args.sizes):
            df = simulate(n, args.seed + i)
            csv = Path(tmp) / f"bench_{n}.csv"
            df.to_csv(csv, index=False)
            t_ex, v_ex = run_exoniche(df, args.repeats)
            t_r, v_r = run_proc(csv, args.repeats)
            diff = max(abs(v_ex[k] - v_r[k]) for k in v_r)
            if diff > 1e-6:
                sys.exit(f"n={n}: exoniche and pROC disagree by {diff:.3g}: {v_ex} vs {v_r}")
            total_ex += t_ex
            total_r += t_r
            print(f"{n:>9}  {t_ex:>10.3f}  {t_r:>8.3f}  {t_ex / t_r:>6.3f}  {diff:.1e}")
    print(f"ratio: {total_ex / total_r:.3f}")


if __name__ == "__main__":
    main()
