"""The runs folder as the web app sees it: scenario runs (``summary.json``) and cohort runs (DuckDB catalogue).

Every id that comes from a URL goes through :func:`folder`, which accepts a plain folder name only and
checks that the resolved path lies directly inside the runs folder, so no request reaches a file outside it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from exoniche.errors import DataError, unknown

FOLDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
FIGURES = ("trajectories.png", "metastasis.png", "metastasis_free.png", "uptake.png")


class NotFound(DataError):
    """No such run (the API answers 404)."""


def folder(runs_dir: Path, run_id: str) -> Path:
    """Return the run folder ``runs_dir/run_id``; DataError (400) for an unsafe id, NotFound (404) for a missing one."""
    if not FOLDER_NAME.match(run_id) or ".." in run_id:
        raise DataError(f"run id {run_id!r}: allowed are letters, digits, '_', '-' and '.' (a folder name)")
    root = runs_dir.resolve()
    path = (root / run_id).resolve()
    if path.parent != root:
        raise DataError(f"run id {run_id!r}: not a folder of the runs folder")
    if not path.is_dir():
        raise NotFound(f"run {run_id!r}: no such run in {runs_dir}")
    return path


def kind(path: Path) -> str | None:
    """Return ``"run"``, ``"cohort"`` or None for the run folder ``path``."""
    if (path / "summary.json").is_file():
        return "run"
    if (path / "catalogue.duckdb").is_file():
        return "cohort"
    return None


def run_document(path: Path) -> dict:
    """Return what ``exoniche run --json`` printed for a finished run folder (read back from its files)."""
    summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    for arm in summary.get("arms", []):
        arm.pop("first_detectable_any", None)
    return {**summary, "run": {"folder": str(path), "report": str(path / "report.html"),
                               "figures": [str(path / f) for f in FIGURES if (path / f).exists()],
                               "trajectories": str(path / "trajectories.parquet"),
                               "replicates": str(path / "replicates.parquet")}}


def cohort_manifest(path: Path) -> dict:
    """Return the ``runs`` table of a cohort's DuckDB catalogue (key -> value) and its patient count."""
    import duckdb

    con = duckdb.connect(str(path / "catalogue.duckdb"), read_only=True)
    try:
        manifest = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM runs").fetchall()}
        patients = con.execute("SELECT coalesce(sum(patients), 0) FROM chunks").fetchone()[0]
    finally:
        con.close()
    return {**manifest, "patients_done": int(patients)}


def list_runs(runs_dir: Path) -> list[dict]:
    """Every run folder, newest first: id, kind, name, and a few facts for the run browser."""
    out = []
    if not runs_dir.is_dir():
        return out
    for path in runs_dir.iterdir():
        if not path.is_dir() or not FOLDER_NAME.match(path.name):
            continue
        k = kind(path)
        if k is None:
            continue
        row = {"id": path.name, "kind": k, "modified": path.stat().st_mtime}
        try:
            if k == "run":
                s = json.loads((path / "summary.json").read_text(encoding="utf-8"))
                arms = s.get("arms", [])
                row |= {"name": s.get("name"), "arms": [a["name"] for a in arms], "replicates": s.get("replicates"),
                        "seed": s.get("seed"), "days": arms[0].get("days") if arms else None,
                        "report": (path / "report.html").exists()}
            else:
                m = cohort_manifest(path)
                row |= {"name": m.get("name", path.name), "patients": m["patients_done"], "seed": m.get("seed"),
                        "outcomes": (path / "observe" / "outcomes.parquet").exists()}
        except (OSError, ValueError, KeyError) as exc:
            row |= {"name": path.name, "error": f"unreadable: {exc}"}
        except Exception as exc:  # a damaged DuckDB file must not break the listing
            row |= {"name": path.name, "error": f"unreadable: {type(exc).__name__}"}
        out.append(row)
    return sorted(out, key=lambda r: -r["modified"])


def trajectories(path: Path, variables: list[str]) -> dict:
    """Time courses of ``variables`` per arm from ``trajectories.parquet``: {var: {arm: {time, value}}}."""
    df = pd.read_parquet(path / "trajectories.parquet")
    missing = [v for v in variables if v not in df.columns]
    if missing:
        raise unknown("var", missing[0], [c for c in df.columns if c not in ("arm", "time")], DataError,
                      what="variable")
    out = {}
    for v in variables:
        out[v] = {arm: {"time": g["time"].tolist(), "value": g[v].tolist()} for arm, g in df.groupby("arm", sort=False)}
    return out


def cohort_table(path: Path) -> tuple[pd.DataFrame, Path]:
    """Return the cohort's one-row-per-patient outcomes table (what ``exoniche biomarkers roc`` reads)."""
    file = path / "observe" / "outcomes.parquet"
    if not file.is_file():
        raise NotFound(f"cohort {path.name!r}: no observe/outcomes.parquet yet (is the run finished?)")
    from exoniche.biomarkers.data import read_table

    return read_table(file), file


def column_kinds(df: pd.DataFrame) -> dict:
    """Numeric columns (markers) and two-level columns (outcomes) of a table, for the pickers."""
    numeric = [str(c) for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not
               pd.api.types.is_bool_dtype(df[c])]
    binary = [str(c) for c in df.columns if df[c].dropna().nunique() == 2]
    levels = {c: sorted(map(str, df[c].dropna().unique())) for c in binary}
    out = {"columns": [str(c) for c in df.columns], "numeric": numeric, "binary": binary, "levels": levels,
           "rows": int(len(df))}
    if "patient" in df.columns:  # a long monitoring table: the patients to pick from
        out["patients"] = sorted(map(str, df["patient"].dropna().unique()))[:5000]
    if "marker" in df.columns:
        out["markers"] = sorted(map(str, df["marker"].dropna().unique()))[:500]
    return out
