"""Wall time and peak memory of a 10^6-patient cohort on this machine (issue 5 target: <= 10 min, <= 4 GB).

Runs the full ``exoniche cohort`` pipeline (patient sampling, batched integration over 365 days, stochastic
metastases, virtual blood draws every 28 days, chunked Parquet + DuckDB catalogue, final consolidation)
with ``--workers`` local processes. Peak memory is the largest sum of resident set sizes of this process
and its workers, sampled every 0.2 s from /proc.

``--patients`` smaller than 10^6 measures a prefix of the same cohort and prints the linear extrapolation
to 10^6 as well (chunks are independent and equal in size, so the cost per patient does not depend on N
beyond the fixed start-up and consolidation).

    .venv/bin/python benchmarks/bench_cohort_1e6.py [--patients 1000000] [--workers 2] [--chunk-size 1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from exoniche.experiments.cohort import parse_cohort
from exoniche.experiments.cohort_run import run_cohort
from exoniche.experiments.setup import Experiment
from exoniche.io.store import ChunkStore
from exoniche.observe import CohortJob, parse_observe

COHORT = {"seed": 2019, "tumours": {"4175-LuT": 0.5, "B16-F10": 0.3, "BxPC-3-LiT": 0.2},
          "parameters": {"tumour_initial_g": {"cv": 2.0}, "cargo_tum_pdl1": {"cv": 0.5},
                         "colonisation_potential": {"cv": 1.0},
                         "extraction_target_liver": {"distribution": "uniform", "low": 0.02, "high": 0.05}},
          "observe": {"every_days": 28}}


def _rss_tree_bytes() -> int:
    def rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def children(pid: int) -> list[int]:
        out = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                out += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
        return out

    total, stack = 0, [os.getpid()]
    while stack:
        pid = stack.pop()
        total += rss(pid)
        stack += children(pid)
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=1000)
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--out", type=Path, default=None, help="run folder (default: a temporary one, removed)")
    args = ap.parse_args()
    exp = Experiment(physiology="human", tumour="4175-LuT", tumour_initial_g=1.0, duration_days=args.days)
    cohort = parse_cohort(COHORT, "benchmark").with_size(args.patients)
    job = CohortJob(exp, cohort, parse_observe(cohort.observe, "benchmark"))
    out = args.out or Path(tempfile.mkdtemp(prefix="exoniche-cohort-"))
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_tree_bytes())
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    done = [0]

    def progress(n, total):
        if total is None:
            done[0] += n

    t0 = time.perf_counter()
    try:
        manifest = {"benchmark": True, "size": args.patients, "seed": cohort.seed, "chunk_size": args.chunk_size}
        summary = run_cohort(job, ChunkStore(out), manifest=manifest,
                             chunk_size=args.chunk_size, workers=args.workers, progress=progress)
        wall = time.perf_counter() - t0
    finally:
        stop.set()
        sampler.join()
    sizes = {k: os.path.getsize(v) for k, v in summary["files"].items()}
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    n = summary["patients"]
    print(f"patients: {n}, days: {args.days:g}, workers: {args.workers}, chunk size: {args.chunk_size}, "
          f"cores: {os.cpu_count()}")
    print(f"tables: measurements {sizes['measurements'] / 1e6:.1f} MB, outcomes {sizes['outcomes'] / 1e6:.1f} MB")
    print(f"throughput: {n / wall:.1f} patients/s ({1e3 * wall * args.workers / n:.2f} core-ms per patient)")
    if n < 1_000_000:
        print(f"extrapolated_wall_s_1e6: {wall * 1_000_000 / n:.0f}")
    print(f"wall_s: {wall:.1f}")
    print(f"peak_memory_gb: {peak[0] / 1e9:.2f}")


if __name__ == "__main__":
    main()
