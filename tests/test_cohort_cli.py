"""`exoniche cohort`: tables the biomarker commands read, resume after a kill, worker-count independence."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

SCENARIO = """
name = "cohort-test"
seed = 11
duration_days = {days}
[host]
physiology = "human"
[tumour]
preset = "4175-LuT"
initial_g = 1.0
[cohort]
size = 12
tumours = {{"4175-LuT" = 0.5, "B16-F10" = 0.5}}
[cohort.parameters.tumour_initial_g]
cv = {cv}
[cohort.parameters.colonisation_potential]
cv = 1.0
[cohort.observe]
every_days = 14
"""
EXONICHE = Path(sys.executable).parent / "exoniche"


def _scenario(tmp_path: Path, days: int = 42, cv: float = 2.0, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(SCENARIO.format(days=days, cv=cv))
    return p


def _tables(out: Path):
    return (pd.read_parquet(out / "observe" / "measurements.parquet"),
            pd.read_parquet(out / "observe" / "outcomes.parquet"))


def _same(a: Path, b: Path):
    for x, y in zip(_tables(a), _tables(b)):
        pd.testing.assert_frame_equal(x, y, check_exact=True)


def test_cohort_writes_tables_the_biomarker_commands_read(cli, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = cli("cohort", _scenario(tmp_path), "--out", out, "--chunk-size", "5", "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["patients"] == 12 and doc["chunks"] == 3
    meas, outc = _tables(out)
    assert list(meas.columns) == ["patient", "time", "marker", "value"]
    assert sorted(outc["patient"]) == list(range(12))
    assert len(meas) == 12 * 4 * 9 and (meas["value"] > 0).all()
    import duckdb

    con = duckdb.connect(str(out / "catalogue.duckdb"), read_only=True)
    assert con.execute("SELECT sum(patients) FROM chunks").fetchone()[0] == 12
    assert con.execute("SELECT count(DISTINCT patient) FROM outcomes").fetchone()[0] == 12
    con.close()
    code, stdout, err = cli("biomarkers", "monitor", out / "observe" / "measurements.parquet", "--patient", "3",
                            "--json")
    assert code == 0, err
    code, stdout, err = cli("biomarkers", "roc", out / "observe" / "outcomes.parquet", "--outcome",
                            "metastasis_seeded", "--marker", "pdl1_baseline", "--json")
    assert code == 0 or "no controls" in err or "no cases" in err, err


def test_re_run_of_a_finished_run_computes_nothing(cli, tmp_path):
    s, out = _scenario(tmp_path), tmp_path / "run"
    assert cli("cohort", s, "--out", out, "--chunk-size", "6", "--json")[0] == 0
    code, stdout, _ = cli("cohort", s, "--out", out, "--chunk-size", "6", "--json")
    assert code == 0 and json.loads(stdout)["computed_patients"] == 0
    code, _, err = cli("cohort", s, "--out", out, "--chunk-size", "4", "--json")
    assert code == 2 and "different cohort run" in err and "chunk_size" in err


@pytest.mark.parametrize("args, needle", [
    (["--patients", "0"], "--patients"),
    (["--workers", "0"], "--workers"),
])
def test_bad_options_exit_2_with_a_named_message(cli, tmp_path, args, needle):
    code, _, err = cli("cohort", _scenario(tmp_path), "--out", tmp_path / "run", *args)
    assert code == 2 and needle in err


def test_negative_cv_and_unknown_parameter_exit_2_naming_the_field(cli, tmp_path):
    code, _, err = cli("cohort", _scenario(tmp_path, cv=-1.0), "--out", tmp_path / "a")
    assert code == 2 and "cohort.parameters.tumour_initial_g.cv" in err
    bad = tmp_path / "bad.toml"
    bad.write_text(SCENARIO.format(days=42, cv=1.0).replace("parameters.colonisation_potential",
                                                            "parameters.colonisation_potental"))
    code, _, err = cli("cohort", bad, "--out", tmp_path / "b")
    assert code == 2 and "cohort.parameters.colonisation_potental" in err and "did you mean" in err


def test_unwritable_output_folder_exits_2(cli, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    code, _, err = cli("cohort", _scenario(tmp_path), "--out", blocker / "run")
    assert code == 2 and "--out: cannot write" in err
    if os.geteuid() != 0:  # root ignores permission bits
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        code, _, err = cli("cohort", _scenario(tmp_path), "--out", ro / "run")
        assert code == 2 and "--out: cannot write" in err


def test_a_full_disk_never_corrupts_finished_chunks(tmp_path, monkeypatch):
    from exoniche.io import store

    out = tmp_path / "run"
    s = store.ChunkStore(out)
    s.open({"size": 4})
    df = pd.DataFrame({"patient": [0, 1], "time": [0.0, 0.0], "marker": ["a", "a"], "value": [1.0, 2.0]})
    s.write_chunk(0, 2, df, pd.DataFrame({"patient": [0, 1]}))
    before = {p.name: p.read_bytes() for p in s.chunks.iterdir()}
    real = store.pq.write_table

    def full(table, where, **kw):
        real(table, where, **kw)  # part of the bytes reach the disk, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.pq, "write_table", full)
    with pytest.raises(store.StoreError, match="No space left"):
        s.write_chunk(2, 4, df.assign(patient=[2, 3]), pd.DataFrame({"patient": [2, 3]}))
    monkeypatch.setattr(store.pq, "write_table", real)
    assert {p.name: p.read_bytes() for p in s.chunks.iterdir()} == before  # no temp file, nothing changed
    assert s.finished() == [(0, 2)]


@pytest.mark.slow
def test_killed_run_resumes_with_exactly_n_patients_and_identical_values(tmp_path):
    s = _scenario(tmp_path, days=60)
    ref, out = tmp_path / "ref", tmp_path / "killed"
    n = "30"
    subprocess.run([EXONICHE, "cohort", s, "--out", ref, "--patients", n, "--chunk-size", "2", "--json"], check=True,
                   capture_output=True)
    proc = subprocess.Popen([EXONICHE, "cohort", s, "--out", out, "--patients", n, "--chunk-size", "2", "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "chunks").glob("outcomes-*"))) < 3:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list((out / "chunks").glob("outcomes-*")))
    assert 0 < done < 15, "the kill must land mid-run"
    assert not (out / "observe" / "outcomes.parquet").exists()
    res = subprocess.run([EXONICHE, "cohort", s, "--out", out, "--patients", n, "--chunk-size", "2", "--json"],
                         check=True, capture_output=True, text=True)
    doc = json.loads(res.stdout)
    assert doc["patients"] == 30 and doc["resumed_patients"] == 2 * done
    meas, outc = _tables(out)
    assert sorted(outc["patient"]) == list(range(30))  # none lost, none duplicated
    assert not meas.duplicated(["patient", "time", "marker"]).any()
    _same(ref, out)


@pytest.mark.slow
def test_same_numbers_for_one_and_two_workers_and_a_dask_local_cluster(tmp_path):
    s = _scenario(tmp_path)
    runs = {"one": ["--workers", "1"], "two": ["--workers", "2"], "dask": ["--workers", "2", "--scheduler", "local"]}
    for name, extra in runs.items():
        if name == "dask":
            pytest.importorskip("dask.distributed")
        subprocess.run([EXONICHE, "cohort", s, "--out", tmp_path / name, "--chunk-size", "4", "--json", *extra],
                       check=True, capture_output=True)
    _same(tmp_path / "one", tmp_path / "two")
    _same(tmp_path / "one", tmp_path / "dask")


def test_the_example_cohort_runs_and_feeds_survival_and_monitoring(cli, tmp_path):
    example = Path(__file__).resolve().parents[1] / "examples" / "cohorts" / "liquid_biopsy.toml"
    out = tmp_path / "run"
    code, stdout, err = cli("cohort", example, "--patients", "24", "--out", out, "--json")
    assert code == 0, err
    assert json.loads(stdout)["patients"] == 24
    code, _, err = cli("biomarkers", "monitor", out / "observe" / "measurements.parquet", "--patient", "5", "--json")
    assert code == 0, err
