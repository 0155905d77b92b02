"""Generate monitor_series.csv: a synthetic cohort of exosomal marker series (seeded, deterministic).

12 patients, visits every ~60 days for a year, three markers, log-normal noise with analytical CV 5 %
and within-person CV 15 %. Patient P03's exosomal PD-L1 rises from day 240 on (relapse); P07's
miR-21 falls after day 120 (response). Run: python make_series.py > monitor_series.csv
"""

import sys

import numpy as np

rng = np.random.default_rng(20240601)
markers = {"PD-L1": 40.0, "miR-21": 2.5, "CRNDE-h": 120.0}  # typical levels (pg/mL, rel. units, copies/uL)
sa, si = np.sqrt(np.log(0.05**2 + 1)), np.sqrt(np.log(0.15**2 + 1))
days = [0, 60, 120, 180, 240, 300, 360]
print("patient,time,marker,value")
for p in range(1, 13):
    pid = f"P{p:02d}"
    for marker, level in markers.items():
        base = np.log(level) + rng.normal(0, 0.35)
        for d in days:
            mu = base
            if pid == "P03" and marker == "PD-L1" and d >= 240:
                mu += 0.9 + 0.006 * (d - 240)
            if pid == "P07" and marker == "miR-21" and d >= 120:
                mu -= 0.8
            v = np.exp(mu + rng.normal(0, si) + rng.normal(0, sa))
            sys.stdout.write(f"{pid},{d},{marker},{v:.4f}\n")
