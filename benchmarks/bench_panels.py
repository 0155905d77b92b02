"""Time the panel search of the issue's target: 20 markers, all panels of size <= 4 (6195), 5-fold CV.

Prints one line per configuration and the seconds taken; the target is <= 30 s on this machine (2 cores).

    .venv/bin/python benchmarks/bench_panels.py [--n 300 1000] [--repeats 1 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from exoniche.biomarkers.panel import panels


def cohort(n: int, p: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    shared = rng.normal(size=n)
    X = pd.DataFrame({f"m{j:02d}": rng.normal(size=n) + 0.05 * j * y + 0.5 * shared for j in range(p)})
    return y, X


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--repeats", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--markers", type=int, default=20)
    parser.add_argument("--max-size", type=int, default=4)
    args = parser.parse_args()
    worst = 0.0
    for n in args.n:
        y, X = cohort(n, args.markers, seed=n)
        for repeats in args.repeats:
            start = time.perf_counter()
            res = panels(y, X, max_size=args.max_size, folds=5, repeats=repeats, seed=0)
            seconds = time.perf_counter() - start
            worst = max(worst, seconds)
            print(
                f"n={n:<5} markers={args.markers} panels={len(res.table)} folds=5 repeats={repeats}: "
                f"{seconds:.2f} s (best {res.best['panel']}, CV AUC {res.best['cv_auc']:.3f})"
            )
    print(f"seconds: {worst:.2f}")


if __name__ == "__main__":
    main()
