"""Fixtures for the web app: an app over a temporary runs folder, a tiny scenario, a tiny cohort."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# Short on purpose: 4 days, 3 replicates, two arms (a few seconds).
SMALL_TOML = """name = "web test"
duration_days = 4
output_step_days = 1
replicates = 3
seed = 5

[host]
physiology = "human"

[tumour]
preset = "4175-LuT"
initial_g = 1.0

[arms.control]

[arms.anti_pd1]
interventions = [{ type = "anti_pd1", start_day = 1 }]
"""


@pytest.fixture(scope="session")
def small_toml() -> str:
    return SMALL_TOML


def _wait_done(client, run_id: str, timeout_s: float = 600) -> dict:
    """Poll a run until it is done or failed (a generous guard against a hang, not a speed limit)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        state = client.get(f"/api/runs/{run_id}").json()
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish")


@pytest.fixture(scope="session")
def wait_done():
    return _wait_done


def _make_cohort(folder: Path, n: int = 80, seed: int = 1) -> Path:
    """A small cohort run folder written through the real ChunkStore (files + DuckDB catalogue)."""
    from exoniche.io.store import ChunkStore

    rng = np.random.default_rng(seed)
    seeded = rng.random(n) < 0.4
    outcomes = pd.DataFrame({"patient": np.arange(n), "metastasis_seeded": seeded.astype(int),
                             "pdl1_baseline": np.exp(rng.normal(0, 1, n) + 0.8 * seeded),
                             "ctc_per_7_5ml_baseline": rng.poisson(3 + 4 * seeded).astype(float)})
    meas = pd.DataFrame({"patient": np.repeat(np.arange(n), 2), "time": np.tile([0.0, 28.0], n),
                         "marker": "pdl1", "value": np.exp(rng.normal(0, 1, 2 * n))})
    manifest = {"name": "test-cohort", "scenario_sha256": "x", "cohort": {}, "size": n, "seed": seed,
                "chunk_size": n, "rtol": 1e-6, "engine": "compiled"}
    store = ChunkStore(folder)
    store.open(manifest)
    store.write_chunk(0, n, meas, outcomes)
    store.catalogue(manifest)
    store.consolidate()
    return folder


@pytest.fixture(scope="session")
def make_cohort():
    return _make_cohort


@pytest.fixture
def runs_dir(tmp_path) -> Path:
    d = tmp_path / "runs"
    d.mkdir()
    return d


@pytest.fixture
def client(runs_dir):
    from fastapi.testclient import TestClient

    from exoniche.web import create_app

    with TestClient(create_app(runs_dir, workers=1, queue_size=2)) as c:
        yield c
