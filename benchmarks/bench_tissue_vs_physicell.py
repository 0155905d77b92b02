"""Tissue engine vs PhysiCell 1.14.2 on PhysiCell's virus-macrophage sample, 2 threads each, in one run.

Builds PhysiCell from the shared source into a temporary folder (``make virus-macrophage-sample && make``),
runs it (1 mm x 1 mm, 20 µm voxels, virus + interferon, 1010 epithelial cells + 50 macrophages, 2880 min,
dt 0.01 / 0.1 / 6 min), then exoniche's equivalent case built from the same kernels as the tissue engine
(LOD diffusion, PhysiCell mechanics, counter-based motility), with the sample's parameters read from its
config. Prints both wall times, the total virion of each at the end (extracellular + internalised) and
their ratio as the same-problem check (within 10 %), and ``ratio:`` last (ours / PhysiCell).

    python benchmarks/bench_tissue_vs_physicell.py [--physicell-source DIR] [--minutes 2880]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

THREADS = 2
os.environ.setdefault("NUMBA_NUM_THREADS", str(THREADS))

import numba  # noqa: E402
import numpy as np  # noqa: E402

from exoniche.engines.tissue import cells as ck  # noqa: E402
from exoniche.engines.tissue.diffusion import Solver, run_steps  # noqa: E402

DEFAULT_SOURCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "anchors" / "PhysiCell-1.14.2"


def build_physicell(source: Path, where: Path) -> Path:
    dst = where / "PhysiCell"
    shutil.copytree(source, dst)
    for p in dst.rglob("*"):
        p.chmod(p.stat().st_mode | 0o200)
    subprocess.run(["make", "virus-macrophage-sample"], cwd=dst, check=True, capture_output=True)
    subprocess.run(["make", f"-j{THREADS}"], cwd=dst, check=True, capture_output=True)
    cfg = dst / "config" / "PhysiCell_settings.xml"
    text = re.sub(r"<omp_num_threads>\d+</omp_num_threads>", f"<omp_num_threads>{THREADS}</omp_num_threads>",
                  cfg.read_text())
    cfg.write_text(text)
    return dst


def run_physicell(folder: Path, minutes: float) -> tuple[float, float]:
    cfg = folder / "config" / "PhysiCell_settings.xml"
    text = re.sub(r'<max_time units="min">[\d.]+</max_time>', f'<max_time units="min">{minutes:g}</max_time>',
                  cfg.read_text())
    # SVG snapshots every 10 min are output, not simulation: keep full data, drop SVGs for both tools
    text = re.sub(r"(<SVG>\s*<interval units=\"min\">)\d+(</interval>\s*<enable>)true", r"\g<1>10\g<2>false", text)
    cfg.write_text(text)
    t0 = time.perf_counter()
    out = subprocess.run(["./virus-sample"], cwd=folder, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t0
    totals = re.findall(r"Total virion ([-+0-9.eE]+)", out)
    return wall, float(totals[-1])


# --------------------------------------------------------------------------- exoniche's equivalent case
P = {"virus_D": 1e3, "virus_decay": 0.0, "ifn_D": 1e4, "ifn_decay": 1.0, "uptake_virus": 10.0, "replication": 0.15,
     "min_virion": 1.0, "burst": 100.0, "ifn_threshold": 10.0, "ifn_secretion": 1.0, "digestion": 0.01,
     "detect": 1.0, "mac_speed": 0.5, "mac_persistence": 15.0, "mac_bias": 0.4, "mac_adhesion_rel": 0.05,
     "n_infected": 10, "n_uninfected": 1000, "n_mac": 50, "volume": 2494.0, "repulsion": 10.0, "adhesion": 0.4,
     "rel_adh": 1.25}


def run_exoniche(minutes: float, seed: int = 0, dt_diff=0.01, dt_mech=0.1, dt_phen=6.0) -> tuple[float, float]:
    t0 = time.perf_counter()
    dx, n = 20.0, 50
    shape = (1, n, n)
    lo, hi = np.array([0.0, 0.0, 0.0]), np.array([n * dx, n * dx, dx])
    vvox = dx**3
    solver = Solver(shape, dx, [P["virus_D"], P["ifn_D"]], [P["virus_decay"], P["ifn_decay"]])
    fields = np.zeros((2, *shape))
    rng = np.random.default_rng(seed)
    n_epi = P["n_infected"] + P["n_uninfected"]
    ncell = n_epi + P["n_mac"]
    pos = np.column_stack([rng.random(ncell) * hi[0], rng.random(ncell) * hi[1], np.full(ncell, dx / 2)])
    is_mac = np.zeros(ncell, dtype=np.bool_)
    is_mac[n_epi:] = True
    virus = np.zeros(ncell)
    virus[: P["n_infected"]] = 1.0
    uid = np.arange(ncell, dtype=np.int64)
    radius = np.full(ncell, (3 * P["volume"] / (4 * np.pi)) ** (1 / 3))
    vprev = np.zeros((ncell, 3))
    mot = np.zeros((ncell, 3))
    rep = np.full(ncell, P["repulsion"])
    adh = np.where(is_mac, P["adhesion"] * P["mac_adhesion_rel"], P["adhesion"])
    n_mech = int(round(dt_phen / dt_mech))
    n_diff = int(round(dt_mech / dt_diff))
    step = 0
    for _k in range(int(round(minutes / dt_phen))):
        # phenotype (PhysiCell's epithelial_function / macrophage_function, every dt_phen)
        epi = ~is_mac
        burst = epi & (virus >= P["burst"])
        vox = ck.voxel_index(pos, lo, dx, np.array(shape))
        flat = fields.reshape(2, -1)
        np.add.at(flat[0], vox[burst], virus[burst] / vvox)  # lysis releases every virion
        grow = epi & ~burst & (virus >= P["min_virion"])
        virus[grow] += P["replication"] * dt_phen
        ifn = epi & ~burst & (virus >= P["ifn_threshold"])
        virus[is_mac] /= 1 + dt_phen * P["digestion"]
        keep = ~burst
        # macrophages ingest touching cells with a viral load (nearest macrophage wins, in cell order)
        mac_idx = np.flatnonzero(is_mac & keep)
        cand = np.flatnonzero(epi & keep & (virus > P["detect"]))
        if cand.size and mac_idx.size:
            d = np.linalg.norm(pos[cand][:, None, :2] - pos[mac_idx][None, :, :2], axis=2)
            near = d < 1.1 * (radius[cand][:, None] + radius[mac_idx][None, :])
            for ci, row in zip(cand, near):
                if row.any():
                    m = mac_idx[np.argmax(row)]
                    virus[m] += virus[ci]
                    keep[ci] = False
        sel = np.flatnonzero(keep)
        pos, vprev, mot, is_mac, virus, uid, radius, rep, adh, ifn = (
            a[sel] for a in (pos, vprev, mot, is_mac, virus, uid, radius, rep, adh, ifn))
        epi = ~is_mac
        speed = np.where(is_mac, P["mac_speed"], 0.0)
        bias = np.where(is_mac, P["mac_bias"], 0.0)
        persistence = np.full(speed.size, P["mac_persistence"])
        chem = np.where(is_mac, 1, -1).astype(np.int64)
        vcell = 4 / 3 * np.pi * radius**3
        up = np.zeros((speed.size, 2))
        up[epi, 0] = P["uptake_virus"] * vcell[epi]
        sec = np.zeros((speed.size, 2))
        sec[ifn, 1] = P["ifn_secretion"] * vcell[ifn]
        pressure = np.zeros(speed.size)
        contact = np.zeros(speed.size, dtype=np.int64)
        movable = np.ones(speed.size, dtype=np.bool_)
        internal = virus[:, None].copy()
        for _m in range(n_mech):
            ck.update_motility_serial(mot, pos, uid, speed, bias, persistence, chem, fields, lo, dx,
                                        np.array(shape), seed, step, dt_mech, False)
            ck.mechanics_serial(pos, vprev, mot, radius, rep, adh, movable, lo, hi, P["rel_adh"], dt_mech,
                                  pressure, contact, np.zeros(speed.size, dtype=np.bool_))
            vox = ck.voxel_index(pos, lo, dx, np.array(shape))
            U = ck.accumulate(vox, up / vvox, n * n).reshape(2, *shape)
            S = ck.accumulate(vox, sec / vvox, n * n).reshape(2, *shape)
            T = np.ones_like(S)
            Q = np.zeros_like(S)
            run_steps(solver, fields, n_diff, dt_diff, S, T, U, Q, internal, vox, up[:, :1], np.array([0]))
            step += 1
        virus = internal[:, 0]
    total = float(fields[0].sum() * vvox + virus.sum())
    return time.perf_counter() - t0, total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--physicell-source", type=Path, default=DEFAULT_SOURCE.resolve())
    ap.add_argument("--minutes", type=float, default=2880.0, help="simulated minutes (the sample's 2880)")
    ap.add_argument("--reuse-build", type=Path, default=None,
                    help="development only: a folder where `make virus-macrophage-sample && make` already ran")
    args = ap.parse_args()
    if not (args.physicell_source / "Makefile").exists():
        print(f"PhysiCell source not found at {args.physicell_source}", file=sys.stderr)
        return 2
    numba.set_num_threads(THREADS)
    run_exoniche(12.0)  # compile the kernels (cached on disk) before timing
    with tempfile.TemporaryDirectory() as tmp:
        if args.reuse_build:
            folder = args.reuse_build
        else:
            t_build = time.perf_counter()
            folder = build_physicell(args.physicell_source, Path(tmp))
            print(f"PhysiCell built in {time.perf_counter() - t_build:.0f} s", flush=True)
        pc_wall, pc_total = run_physicell(folder, args.minutes)
        print(f"PhysiCell ran in {pc_wall:.1f} s", flush=True)
    ours_wall, ours_total = run_exoniche(args.minutes)
    print(f"PhysiCell 1.14.2 virus-macrophage, {args.minutes:g} min, {THREADS} threads: {pc_wall:.1f} s, "
          f"total virion {pc_total:.1f}")
    print(f"exoniche tissue kernels, same case, {THREADS} threads: {ours_wall:.1f} s, total virion {ours_total:.1f}")
    rel = abs(ours_total - pc_total) / pc_total
    print(f"same problem: total virion differs by {100 * rel:.1f} % ({'within' if rel <= 0.1 else 'NOT within'} 10 %)")
    print(f"ratio: {ours_wall / pc_wall:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
