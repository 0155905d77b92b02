"""Cohort results on disk: chunked Parquet files plus an embedded DuckDB catalogue.

Layout of a run folder::

    run.json                      what was run (scenario text, cohort, seed, size, chunk size, version)
    chunks/measurements-<start>-<stop>.parquet    long table (patient, time, marker, value)
    chunks/outcomes-<start>-<stop>.parquet        one row per patient
    catalogue.duckdb              tables runs, chunks; views measurements, outcomes over the chunk files
    observe/measurements.parquet  all chunks, long (what ``exoniche biomarkers monitor`` reads)
    observe/outcomes.parquet      all chunks, one row per patient (``roc``/``cutpoint``/``survival``)

Safety: each chunk file is written to a temporary name in the same folder, flushed to disk, and renamed
(atomic on POSIX); the outcomes file is renamed last, so a chunk is finished exactly when its outcomes
file exists. A killed process or a full disk leaves at most a temporary file, which is removed on the
next run; finished chunks are never rewritten. The files are the truth; the DuckDB catalogue is rebuilt
from them, so it can never disagree with them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from exoniche.errors import ExonicheError, ScenarioError

_CHUNK = re.compile(r"^outcomes-(\d{12})-(\d{12})\.parquet$")


class StoreError(ExonicheError):
    """The output folder cannot be used (unwritable, full, or holds a different run)."""


def _name(kind: str, start: int, stop: int) -> str:
    return f"{kind}-{start:012d}-{stop:012d}.parquet"


class ChunkStore:
    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.chunks = self.out / "chunks"

    # ------------------------------------------------------------------ set-up and resume
    def open(self, manifest: dict) -> list[tuple[int, int]]:
        """Create or reopen the run folder; returns the finished chunks (start, stop).

        A folder holding a different run (other scenario, seed, size or chunk size) is refused rather than
        mixed with this one.
        """
        try:
            self.chunks.mkdir(parents=True, exist_ok=True)
            probe = self.out / ".write-test"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            raise StoreError(f"--out: cannot write to {str(self.out)!r}: {exc.strerror or exc}") from None
        for tmp in self.chunks.glob(".tmp-*"):
            tmp.unlink(missing_ok=True)
        path = self.out / "run.json"
        if path.exists():
            old = json.loads(path.read_text(encoding="utf-8"))
            keys = ("scenario_sha256", "cohort", "size", "seed", "chunk_size", "rtol", "engine")
            diff = [k for k in keys if old.get(k) != manifest.get(k)]
            if diff:
                raise StoreError(f"--out: {str(self.out)!r} holds a different cohort run (differs in "
                                 f"{', '.join(diff)}); choose a new folder or delete it")
        else:
            self._atomic_bytes(path, json.dumps(manifest, indent=2, default=str).encode())
        done = self.finished()
        self.catalogue(manifest)
        return done

    def finished(self) -> list[tuple[int, int]]:
        out = []
        for f in self.chunks.iterdir():
            m = _CHUNK.match(f.name)
            if m and (self.chunks / _name("measurements", int(m[1]), int(m[2]))).exists():
                out.append((int(m[1]), int(m[2])))
        return sorted(out)

    # ------------------------------------------------------------------ writing
    @staticmethod
    def _atomic(path: Path, write) -> None:
        """``write(tmp)`` to a temporary name in the same folder, fsync, then rename over ``path``."""
        tmp = path.parent / f".tmp-{path.name}"
        try:
            write(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot write {str(path)!r}: {exc.strerror or exc}; finished chunks are intact, "
                             "re-run the same command to resume") from None

    def _atomic_bytes(self, path: Path, data: bytes) -> None:
        self._atomic(path, lambda tmp: tmp.write_bytes(data))

    def _atomic_table(self, path: Path, df: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(df, preserve_index=False)
        self._atomic(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))

    def write_chunk(self, start: int, stop: int, measurements: pd.DataFrame, outcomes: pd.DataFrame) -> None:
        if len(outcomes) != stop - start or outcomes["patient"].iloc[0] != start:
            raise ScenarioError(f"internal: chunk {start}-{stop} holds {len(outcomes)} patients")
        self._atomic_table(self.chunks / _name("measurements", start, stop), measurements)
        self._atomic_table(self.chunks / _name("outcomes", start, stop), outcomes)  # last: marks it finished

    # ------------------------------------------------------------------ catalogue and final tables
    def catalogue(self, manifest: dict | None = None) -> Path:
        """(Re)build ``catalogue.duckdb`` from the chunk files on disk."""
        import duckdb

        db = self.out / "catalogue.duckdb"
        con = duckdb.connect(str(db))
        try:
            con.execute("CREATE TABLE IF NOT EXISTS runs (key VARCHAR, value VARCHAR)")
            if manifest is not None:
                con.execute("DELETE FROM runs")
                con.executemany("INSERT INTO runs VALUES (?, ?)",
                                [(k, json.dumps(v, default=str)) for k, v in manifest.items()])
            con.execute("CREATE OR REPLACE TABLE chunks (start BIGINT, stop BIGINT, patients BIGINT, "
                        "outcomes VARCHAR, measurements VARCHAR)")
            rows = [(a, b, b - a, str(self.chunks / _name("outcomes", a, b)),
                     str(self.chunks / _name("measurements", a, b))) for a, b in self.finished()]
            if rows:
                con.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?)", rows)
                glob_o = str(self.chunks / "outcomes-*.parquet")
                glob_m = str(self.chunks / "measurements-*.parquet")
                con.execute(f"CREATE OR REPLACE VIEW outcomes AS SELECT * FROM read_parquet('{glob_o}')")
                con.execute(f"CREATE OR REPLACE VIEW measurements AS SELECT * FROM read_parquet('{glob_m}')")
        finally:
            con.close()
        return db

    def patients_done(self) -> int:
        return sum(b - a for a, b in self.finished())

    def consolidate(self) -> dict[str, str]:
        """Write ``observe/measurements.parquet`` and ``observe/outcomes.parquet`` from all chunks (streamed by
        DuckDB, in patient order), atomically."""
        import duckdb

        obs = self.out / "observe"
        obs.mkdir(exist_ok=True)
        files = {}
        con = duckdb.connect()
        try:
            con.execute("SET preserve_insertion_order = true")
            for kind in ("outcomes", "measurements"):
                target = obs / f"{kind}.parquet"
                tmp = obs / f".tmp-{kind}.parquet"
                glob = str(self.chunks / f"{kind}-*.parquet")
                try:
                    con.execute(f"COPY (SELECT * FROM read_parquet('{glob}') ORDER BY patient) TO '{tmp}' "
                                "(FORMAT parquet, COMPRESSION zstd)" if kind == "outcomes" else
                                f"COPY (SELECT * FROM read_parquet('{glob}')) TO '{tmp}' "
                                "(FORMAT parquet, COMPRESSION zstd)")
                    os.replace(tmp, target)
                except (OSError, duckdb.IOException) as exc:
                    tmp.unlink(missing_ok=True)
                    raise StoreError(f"cannot write {str(target)!r}: {exc}; the chunks are intact") from None
                files[kind] = str(target)
        finally:
            con.close()
        return files


__all__ = ["ChunkStore", "StoreError"]


# ---------------------------------------------------------------------------------------------- running
def plan_chunks(size: int, chunk_size: int, done: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Chunks still to compute. Boundaries depend only on (size, chunk_size), never on the worker count."""
    finished = set(done)
    return [(a, min(a + chunk_size, size)) for a in range(0, size, chunk_size)
            if (a, min(a + chunk_size, size)) not in finished]


def run_cohort(job, out: str | Path, *, manifest: dict, chunk_size: int = 500, workers: int = 1,
               scheduler: str | None = None, progress=None) -> dict:
    """Simulate ``job.cohort.size`` patients into the run folder ``out``, resuming from finished chunks.

    ``workers`` local processes (1: in this process), or ``scheduler``: ``"local"`` for a Dask
    ``LocalCluster`` with ``workers`` processes, or the address of an existing Dask scheduler. Workers only
    compute; this process writes every file, so the store has one writer.
    """
    from exoniche.observe.virtual import simulate_chunk

    if chunk_size < 1:
        raise ScenarioError(f"--chunk-size: {chunk_size} must be at least 1")
    if workers < 1:
        raise ScenarioError(f"--workers: {workers} must be at least 1")
    store = ChunkStore(out)
    done = store.open(manifest)
    todo = plan_chunks(job.cohort.size, chunk_size, done)
    resumed = sum(b - a for a, b in done)
    if progress:
        progress(resumed, job.cohort.size)

    def finish(a, b, result):
        store.write_chunk(a, b, *result)
        if progress:
            progress(b - a, None)

    if scheduler:
        try:
            from dask.distributed import Client, LocalCluster, as_completed
        except ImportError:
            raise ScenarioError("--scheduler: needs dask[distributed] (pip install 'dask[distributed]')") from None
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None) if scheduler == "local" else None
        try:
            client = Client(cluster if cluster is not None else scheduler)
        except OSError as exc:
            raise ScenarioError(f"--scheduler: cannot reach {scheduler!r}: {exc}") from None
        try:
            futures = {client.submit(simulate_chunk, job, a, b, pure=False): (a, b) for a, b in todo}
            for fut in as_completed(futures):
                finish(*futures[fut], fut.result())
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    elif workers == 1:
        for a, b in todo:
            finish(a, b, simulate_chunk(job, a, b))
    else:
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            pending, queue = {}, list(todo)
            try:
                while queue or pending:
                    while queue and len(pending) < 2 * workers:  # bounded memory: a few chunks in flight
                        a, b = queue.pop(0)
                        pending[pool.submit(simulate_chunk, job, a, b)] = (a, b)
                    ready, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in ready:
                        finish(*pending.pop(fut), fut.result())
            except BaseException:
                for fut in pending:
                    fut.cancel()
                raise
    store.catalogue(manifest)
    files = store.consolidate()
    n = store.patients_done()
    return {"patients": n, "resumed_patients": resumed, "computed_patients": n - resumed,
            "chunks": len(store.finished()), "out": str(store.out), "files": files,
            "catalogue": str(store.out / "catalogue.duckdb")}
