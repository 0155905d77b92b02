"""The tissue model on tiny grids: integrin-matched uptake (V6), early leakage (V11), no niche without
exosomes (V16), reproducibility and counter-based randomness."""

import numpy as np
import pytest

from exoniche.engines.tissue import cells as ck
from exoniche.engines.tissue import verify
from exoniche.engines.tissue.model import Arrivals, TissueSetup, run_tissue
from exoniche.errors import ScenarioError

LUNG_CARGO = {"itga6b4": 1.0, "itga6b1": 0.3, "pdl1": 0.3}


def _arr(exo=1.2e11, ctc=0.0):
    return Arrivals(np.array([0.0, 5.0]), np.full(2, exo), np.zeros(2), np.full(2, ctc))


@pytest.fixture(scope="module")
def lung_day():
    return run_tissue(TissueSetup(organ="lung", size_um=(300.0, 300.0), days=1.0, cargo_tumour=LUNG_CARGO,
                                  arrivals=_arr(), seed=4, save_every_days=0.5))


def test_v6_lung_exosomes_mostly_in_fibroblasts(lung_day):
    last = lung_day.daily.iloc[-1]
    shares = {c[len("uptake_share_"):]: last[c] for c in lung_day.daily if c.startswith("uptake_share_")}
    assert shares["fibroblast"] > 0.5 and shares["fibroblast"] == max(shares.values())


def test_v11_leakage_within_24_h(lung_day):
    assert lung_day.daily["Perm"].iloc[-1] > 1.5


def test_v16_no_exosomes_no_niche():
    res = run_tissue(TissueSetup(organ="lung", size_um=(200.0, 200.0), days=0.5, cargo_tumour=LUNG_CARGO,
                                 arrivals=_arr(exo=0.0), seed=4))
    last = res.daily.iloc[-1]
    assert last["S100"] == 1.0 and last["Perm"] == 1.0 and last["FN"] == 1.0


def test_without_zip_code_fibroblasts_lose_their_lead():
    res = run_tissue(TissueSetup(organ="lung", size_um=(200.0, 200.0), days=0.25, cargo_tumour={},
                                 arrivals=_arr(), seed=4))
    assert res.daily["uptake_share_fibroblast"].iloc[-1] < 0.3


def test_same_seed_same_numbers_and_threads_identical():
    a, b = verify._tissue_run(), verify._tissue_run()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert verify.threads_identical(verify._tissue_run)


def test_counter_random_numbers_uniform_and_order_free():
    u = ck.uniforms(3, np.arange(20000), 5, 1)
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert ck.uniform(3, 17, 5, 1) == u[17]


@pytest.mark.parametrize("kw, field", [({"voxel_um": 500.0, "size_um": (200.0, 200.0)}, "tissue.voxel_um"),
                                       ({"organ": "lungs"}, "tissue.organ"),
                                       ({"cells": {"tcell": 3}}, "tissue.cells.tcell"),
                                       ({"diffusion": {"exo_tumour": -1.0}}, "tissue.diffusion_um2_per_min")])
def test_bad_setup_names_field(kw, field):
    with pytest.raises(ScenarioError, match=field.replace(".", r"\.")):
        TissueSetup(**kw).validate()
