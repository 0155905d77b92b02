"""The FastAPI application: a JSON API over the public Python API, and the browser pages.

Every result endpoint calls the same function the matching command calls and serialises through
:func:`exoniche.io.jsondoc.dumps`, so ``POST /api/biomarkers/roc`` returns the text
``exoniche biomarkers roc --json`` prints for the same table and options. Errors are one JSON object
``{"error": message}`` (the CLI's message); no response ever carries a traceback.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from exoniche import __version__
from exoniche.errors import DataError, ExonicheError, ScenarioError
from exoniche.io.jsondoc import dumps
from exoniche.web import runs as runs_mod
from exoniche.web.jobs import QueueFull, RunQueue
from exoniche.web.security import SecurityMiddleware

STATIC = Path(str(files("exoniche.web").joinpath("static")))
PAGES = {"/": "index.html", "/builder": "builder.html", "/runs": "runs.html", "/compare": "compare.html",
         "/cohorts": "cohorts.html", "/biomarkers": "biomarkers.html", "/monitor": "monitor.html"}
UPLOAD_NAME = re.compile(r"^[\w .()+-]{1,120}$")


def plotly_js() -> Path:
    """plotly.min.js as shipped inside the installed plotly package (no CDN)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def doc_response(doc, status_code: int = 200) -> Response:
    """Return a JSON response serialised exactly as the CLI's ``--json`` serialises it."""
    return Response(dumps(doc), status_code=status_code, media_type="application/json")


def error(message: str, status_code: int) -> JSONResponse:
    """Return a JSON error ``{"error": message}`` with ``status_code``."""
    return JSONResponse({"error": message}, status_code=status_code)


class BadRequest(ExonicheError):
    """A request the API refuses with 400 (an unsafe run id or file name)."""


def _source_name(filename: str | None, default: str) -> str:
    name = Path(filename or default).name
    if not UPLOAD_NAME.match(name) or name.startswith("."):
        raise BadRequest(f"file name {name!r}: allowed are letters, digits, space and ._-()+ (no folders)")
    return name


async def _read_upload(upload: UploadFile, limit: int) -> tuple[bytes, str]:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(limit)
    return data, _source_name(upload.filename, "table.csv")


class TooLarge(ExonicheError):
    """An upload larger than the server's limit (HTTP 413)."""

    def __init__(self, limit: int):
        super().__init__(f"upload is larger than the limit of {limit / 2**20:g} MB (--max-upload-mb)")


def _table(data: bytes, name: str, sheet: str | None = None):
    """Read an uploaded table exactly as the CLI reads a file of that name (same checks, same messages)."""
    from exoniche.biomarkers.data import read_table

    tmp = Path(tempfile.mkdtemp(prefix="exoniche-upload-"))
    try:
        path = tmp / name
        path.write_bytes(data)
        sheet_arg = int(sheet) if sheet is not None and sheet.isdigit() else sheet
        return read_table(path, sheet=sheet_arg)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _scenario(text: str, filename: str):
    from exoniche.experiments.scenario import loads_scenario

    return loads_scenario(text, filename, default_name=Path(filename).stem)


def create_app(runs_dir: str | Path = "runs", token: str | None = None, max_upload_mb: float = 50,  # noqa: C901  route closures share the app state; the count sums them
               workers: int = 1, queue_size: int = 4) -> FastAPI:
    """Build the app. ``runs_dir`` holds the run folders; ``token`` (if given) is required on every request."""
    from exoniche.biomarkers import analyses

    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    limit = int(max_upload_mb * 2**20)
    queue = RunQueue(runs_dir, workers=workers, queue_size=queue_size)
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        queue.shutdown()

    app = FastAPI(title="exoniche", version=__version__, lifespan=lifespan,
                  description="Scenario runs, cohorts and liquid-biopsy biomarker statistics (local-first).")
    app.state.queue = queue
    app.state.runs_dir = runs_dir
    app.add_middleware(SecurityMiddleware, token=token, max_body=limit + 64 * 1024)

    @app.exception_handler(ExonicheError)
    async def _exonerr(_request: Request, exc: ExonicheError):
        if isinstance(exc, runs_mod.NotFound):
            return error(str(exc), 404)
        if isinstance(exc, BadRequest) or (isinstance(exc, DataError) and str(exc).startswith("run id ")):
            return error(str(exc), 400)
        if isinstance(exc, TooLarge):
            return error(str(exc), 413)
        if isinstance(exc, QueueFull):
            return error(str(exc), 429)
        return error(str(exc), 422)

    @app.exception_handler(RequestValidationError)
    async def _badform(_request: Request, exc: RequestValidationError):
        msgs = [f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()]
        return error("; ".join(msgs), 422)

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception):
        return error(f"internal error ({type(exc).__name__}); see the server log", 500)

    # ------------------------------------------------------------------ pages and assets
    for route, page in PAGES.items():
        def _page(page=page) -> FileResponse:
            return FileResponse(STATIC / page, media_type="text/html")

        app.add_api_route(route, _page, methods=["GET"], include_in_schema=False)

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def _plotly() -> FileResponse:
        return FileResponse(plotly_js(), media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ------------------------------------------------------------------ API: basics and scenarios
    @app.get("/api/health")
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    @app.get("/api/schema")
    def schema() -> dict:
        """Return what the scenario builder offers: presets, physiologies, interventions and their fields."""
        from exoniche.web.schema import scenario_schema

        return scenario_schema()

    async def _toml(request: Request) -> str:
        body = await request.body()
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise ScenarioError("the scenario is not valid UTF-8; save the file as UTF-8") from None

    @app.post("/api/scenarios/validate")
    async def validate(request: Request, filename: str = Query("scenario.toml")):
        """TOML body -> ``{"valid": true}``, or 422 ``{"valid": false, "error"}`` with the CLI's field path."""
        name = _source_name(filename, "scenario.toml")
        try:
            _scenario(await _toml(request), name)
        except ScenarioError as exc:
            return JSONResponse({"valid": False, "error": str(exc)}, status_code=422)
        return {"valid": True}

    @app.post("/api/scenarios/parse")
    async def parse(request: Request, filename: str = Query("scenario.toml")):
        """TOML body -> the parsed document (for loading a file into the builder's form)."""
        import tomllib

        name = _source_name(filename, "scenario.toml")
        try:
            return tomllib.loads(await _toml(request))
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{name}: not valid TOML: {exc}") from None

    # ------------------------------------------------------------------ API: runs
    @app.post("/api/runs", status_code=202)
    async def start_run(request: Request, filename: str = Query("scenario.toml")):
        name = _source_name(filename, "scenario.toml")
        text = await _toml(request)
        job = queue.submit(_scenario(text, name), text, name)
        return {"id": job.id}

    @app.get("/api/runs")
    def list_runs() -> list[dict]:
        on_disk = runs_mod.list_runs(runs_dir)
        seen = {r["id"] for r in on_disk}
        live = [{"id": j.id, "kind": "run", "name": j.name, "status": j.status, "modified": j.created}
                for j in queue.jobs.values() if j.id not in seen or j.status != "done"]
        for r in on_disk:
            r.setdefault("status", "done")
        return live + [r for r in on_disk if r["id"] not in {j["id"] for j in live}]

    def _run_state(run_id: str) -> dict:
        job = queue.jobs.get(run_id)
        if job is not None:
            return {**job.state(), "summary": job.result}
        path = runs_mod.folder(runs_dir, run_id)
        if runs_mod.kind(path) != "run":
            raise runs_mod.NotFound(f"run {run_id!r}: not a scenario run folder (no summary.json)")
        doc = runs_mod.run_document(path)
        n = len(doc["arms"])
        return {"id": run_id, "name": doc["name"], "status": "done", "progress": {"done": n, "total": n},
                "error": None, "summary": doc}

    @app.get("/api/runs/{run_id}")
    def get_run(run_id: str):
        return doc_response(_run_state(run_id))

    @app.get("/api/runs/{run_id}/events")
    async def run_events(run_id: str):
        """Server-sent events: one ``progress`` event per change, then ``done`` or ``failed``."""
        _run_state(run_id)

        async def stream():
            last = None
            while True:
                state = _run_state(run_id)
                now = (state["status"], state["progress"]["done"])
                if now != last:
                    last = now
                    event = state["status"] if state["status"] in ("done", "failed") else "progress"
                    payload = {k: state[k] for k in ("id", "status", "progress", "error")}
                    yield f"event: {event}\ndata: {json.dumps(payload)}\n\n"
                    if event != "progress":
                        return
                await asyncio.sleep(0.25)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.get("/api/runs/{run_id}/report")
    def run_report(run_id: str) -> FileResponse:
        path = runs_mod.folder(runs_dir, run_id) / "report.html"
        if not path.is_file():
            raise runs_mod.NotFound(f"run {run_id!r}: no report.html (is the run finished?)")
        return FileResponse(path, media_type="text/html")

    @app.get("/api/runs/{run_id}/trajectories")
    def run_trajectories(run_id: str, var: list[str] = Query(["N"])):
        path = runs_mod.folder(runs_dir, run_id)
        if not (path / "trajectories.parquet").is_file():
            raise runs_mod.NotFound(f"run {run_id!r}: no trajectories.parquet")
        return doc_response(runs_mod.trajectories(path, var))

    # ------------------------------------------------------------------ API: cohorts
    def _cohort(run_id: str) -> Path:
        path = runs_mod.folder(runs_dir, run_id)
        if runs_mod.kind(path) != "cohort":
            raise runs_mod.NotFound(f"cohort {run_id!r}: not a cohort run folder (no catalogue.duckdb)")
        return path

    @app.get("/api/cohorts/{run_id}")
    def cohort(run_id: str):
        path = _cohort(run_id)
        df, _ = runs_mod.cohort_table(path)
        return doc_response({"id": run_id, "manifest": runs_mod.cohort_manifest(path), **runs_mod.column_kinds(df)})

    @app.get("/api/cohorts/{run_id}/values")
    def cohort_values(run_id: str, column: str, by: str | None = None):
        """Return a marker's values (split by a two-level column), for the distribution plots."""
        from exoniche.biomarkers.data import require_columns

        df, file = runs_mod.cohort_table(_cohort(run_id))
        require_columns(df, [column] + ([by] if by else []), file.name)
        groups = {"all": df} if not by else {str(k): g for k, g in df.groupby(by)}
        return doc_response({"column": column, "by": by,
                             "groups": {k: g[column].dropna().tolist() for k, g in groups.items()}})

    @app.post("/api/cohorts/{run_id}/roc")
    def cohort_roc(run_id: str, outcome: str = Form(...), marker: list[str] = Form(...),
                   positive: str | None = Form(None)):
        """``exoniche biomarkers roc RUN/observe/outcomes.parquet`` (the virtual ROC), with its curves."""
        df, file = runs_mod.cohort_table(_cohort(run_id))
        doc, rocs = analyses.roc_analysis(df, file.name, outcome, analyses.marker_list(marker), positive)
        return doc_response({**doc, "files": [], "curves": _curves(rocs)})

    # ------------------------------------------------------------------ API: biomarkers (uploads)
    def _curves(rocs) -> dict:
        out = {}
        for r in rocs:
            f = r.to_frame()
            out[r.name] = {"fpr": (1 - f["specificity"]).tolist(), "tpr": f["sensitivity"].tolist()}
        return out

    @app.post("/api/biomarkers/roc")
    async def bm_roc(file: UploadFile = File(...), outcome: str = Form(...), marker: list[str] = Form(...),
                     positive: str | None = Form(None), direction: str = Form("auto"), missing: str = Form("error"),
                     sample: str | None = Form(None), bootstrap: int = Form(0), seed: int = Form(0),
                     id: str | None = Form(None), partial: str | None = Form(None),
                     partial_focus: str = Form("specificity"), partial_correct: bool = Form(False),
                     sheet: str | None = Form(None)):
        """Return the same JSON as ``exoniche biomarkers roc FILE ... --json``."""
        data, name = await _read_upload(file, limit)
        bounds = analyses.parse_partial(partial)
        doc, _ = analyses.roc_analysis(_table(data, name, sheet), name, outcome, analyses.marker_list(marker),
                                       positive, direction=direction, missing=missing, sample=sample,
                                       bootstrap=bootstrap, seed=seed, id_col=id, partial=bounds,
                                       partial_focus=partial_focus, partial_correct=partial_correct)
        return doc_response({**doc, "files": []})

    @app.post("/api/biomarkers/roc/curves")
    async def bm_roc_curves(file: UploadFile = File(...), outcome: str = Form(...), marker: list[str] = Form(...),
                            positive: str | None = Form(None), direction: str = Form("auto"),
                            missing: str = Form("error"), id: str | None = Form(None), sheet: str | None = Form(None)):
        """Return the ROC curves (false- and true-positive rates per threshold) for plotting."""
        data, name = await _read_upload(file, limit)
        _, rocs = analyses.roc_analysis(_table(data, name, sheet), name, outcome, analyses.marker_list(marker),
                                        positive, direction=direction, missing=missing, id_col=id)
        return doc_response(_curves(rocs))

    @app.post("/api/biomarkers/columns")
    async def bm_columns(file: UploadFile = File(...), sheet: str | None = Form(None)):
        """Return the uploaded table's columns (numeric ones, two-level ones and their levels) for the pickers."""
        data, name = await _read_upload(file, limit)
        return doc_response({"source": name, **runs_mod.column_kinds(_table(data, name, sheet))})

    @app.post("/api/biomarkers/cutpoint")
    async def bm_cutpoint(file: UploadFile = File(...), outcome: str = Form(...), marker: list[str] = Form(...),
                          positive: str | None = Form(None), method: list[str] = Form(["youden"]),
                          threshold: float | None = Form(None), direction: str = Form("auto"),
                          missing: str = Form("error"), id: str | None = Form(None), sheet: str | None = Form(None)):
        """Return the same JSON as ``exoniche biomarkers cutpoint FILE ... --json``."""
        data, name = await _read_upload(file, limit)
        doc, _ = analyses.cutpoint_analysis(_table(data, name, sheet), name, outcome, analyses.marker_list(marker),
                                            positive, methods=method, threshold=threshold, direction=direction,
                                            missing=missing, id_col=id)
        return doc_response({**doc, "files": []})

    @app.post("/api/biomarkers/panel")
    async def bm_panel(file: UploadFile = File(...), outcome: str = Form(...), marker: list[str] | None = Form(None),
                       positive: str | None = Form(None), max_size: int = Form(3), method: str = Form("exhaustive"),
                       folds: int = Form(5), repeats: int = Form(5), seed: int = Form(0),
                       id: str | None = Form(None), top: int = Form(20), missing: str = Form("error"),
                       sheet: str | None = Form(None)):
        """Return the same JSON as ``exoniche biomarkers panel FILE ... --json``."""
        data, name = await _read_upload(file, limit)
        res = analyses.panel_analysis(_table(data, name, sheet), name, outcome, analyses.marker_list(marker),
                                      positive, max_size=max_size, method=method, folds=folds, repeats=repeats,
                                      seed=seed, id_col=id, missing=missing)
        return doc_response({**res.to_dict(top=top), "files": []})

    @app.post("/api/biomarkers/survival")
    async def bm_survival(file: UploadFile = File(...), time: str = Form(...), event: str = Form(...),
                          covariate: list[str] | None = Form(None), group: str | None = Form(None),
                          at: str | None = Form(None), ties: str = Form("efron"), missing: str = Form("error")):
        """Return the same JSON as ``exoniche biomarkers survival FILE ... --json``."""
        from exoniche.biomarkers.survival import analyze_survival

        data, name = await _read_upload(file, limit)
        a = analyze_survival(_table(data, name), time, event, covariate or [], group=group,
                             at=analyses.parse_floats(at, "at"), ties=ties, missing=missing)
        return doc_response(a.to_dict())

    async def _monitor(file, patient, analytical_cv, within_cv, marker, time_unit):
        from exoniche.biomarkers.monitor import monitor_patient

        data, name = await _read_upload(file, limit)
        return monitor_patient(_table(data, name), patient,
                               analytical_cv=analyses.parse_cv(analytical_cv, "analytical_cv"),
                               within_cv=analyses.parse_cv(within_cv, "within_cv"), markers=marker or None,
                               time_unit=time_unit)

    @app.post("/api/biomarkers/monitor")
    async def bm_monitor(file: UploadFile = File(...), patient: str = Form(...),
                         analytical_cv: list[str] | None = Form(None), within_cv: list[str] | None = Form(None),
                         marker: list[str] | None = Form(None), time_unit: str = Form("days")):
        """Return the same JSON as ``exoniche biomarkers monitor FILE --patient P ... --json``."""
        res = await _monitor(file, patient, analytical_cv, within_cv, marker, time_unit)
        return doc_response(res.to_dict())

    @app.post("/api/biomarkers/monitor/report")
    async def bm_monitor_report(file: UploadFile = File(...), patient: str = Form(...),
                                analytical_cv: list[str] | None = Form(None), within_cv: list[str] | None = Form(None),
                                marker: list[str] | None = Form(None), time_unit: str = Form("days")):
        """Return the printable one-page patient report (``exoniche biomarkers monitor --out``), as HTML."""
        res = await _monitor(file, patient, analytical_cv, within_cv, marker, time_unit)
        tmp = Path(tempfile.mkdtemp(prefix="exoniche-report-"))
        try:
            from exoniche.io.monitor_report import write_monitor_report

            written = write_monitor_report(res, tmp)
            page = next(p for p in written.values() if str(p).endswith(".html"))
            return HTMLResponse(Path(page).read_text(encoding="utf-8"))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    return app
