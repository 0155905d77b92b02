"""The web API: shapes, identity with the CLI's --json, runs in the worker pool, and the security behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exoniche import __version__

REPO = Path(__file__).resolve().parents[2]
ASAH = REPO / "tests" / "reference" / "data" / "asah.csv"
LUNG = REPO / "tests" / "reference" / "data" / "lung.csv"
SERIES = REPO / "tests" / "biomarkers" / "followup_data" / "monitor_series.csv"
MALFORMED = REPO / "tests" / "biomarkers" / "malformed"


def upload(path, **fields):
    data = {k: [str(x) for x in v] if isinstance(v, list) else str(v) for k, v in fields.items()}
    return {"files": {"file": (path.name, path.read_bytes())}, "data": data}


# ---------------------------------------------------------------------------------------------- basics
def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": __version__}


def test_openapi_lists_the_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/api/health", "/api/scenarios/validate", "/api/runs", "/api/runs/{run_id}", "/api/runs/{run_id}/report",
              "/api/biomarkers/roc", "/api/biomarkers/cutpoint", "/api/biomarkers/panel", "/api/biomarkers/survival",
              "/api/biomarkers/monitor"):
        assert p in paths, p
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize("page", ["/", "/builder", "/runs", "/compare", "/cohorts", "/biomarkers", "/monitor"])
def test_pages_load_only_local_assets(client, page):
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "http://" not in r.text and "https://" not in r.text  # no CDN: every asset comes from this server
    for src in [s.split('"')[1] for s in r.text.split("src=")[1:]] + ["/static/style.css"]:
        assert client.get(src).status_code == 200, src


def test_plotly_comes_from_the_installed_package(client):
    import plotly

    r = client.get("/static/vendor/plotly.min.js")
    assert r.status_code == 200 and len(r.content) > 1_000_000
    assert plotly.__file__ and r.content[:200].count(b"plotly") >= 1


def test_schema_names_presets_and_interventions(client):
    s = client.get("/api/schema").json()
    assert "4175-LuT" in s["presets"] and "anti_pd1" in s["interventions"]
    assert "dose_mg_per_kg" in s["interventions"]["anti_pd1"]["fields"]
    assert s["physiologies"] == ["mouse", "human"]


# ---------------------------------------------------------------------------------------------- scenarios
def test_validate_good_and_bad(client, small_toml, cli, tmp_path, monkeypatch):
    assert client.post("/api/scenarios/validate", content=small_toml).json() == {"valid": True}
    bad = small_toml.replace('interventions = [{ type = "anti_pd1", start_day = 1 }]',
                             'interventions = [{ type = "anti_pd1", start_day = 1, dose_mg_per_kg = "ten" }]')
    r = client.post("/api/scenarios/validate?filename=bad.toml", content=bad)
    assert r.status_code == 422
    body = r.json()
    assert body["valid"] is False
    assert "arms.anti_pd1.interventions[0].dose_mg_per_kg" in body["error"]
    # the CLI says exactly the same for a file of that name
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text(bad, encoding="utf-8")
    code, _, err = cli("run", "bad.toml")
    assert code == 2
    assert " ".join(err.split()) == f"error: {body['error']}"


def test_validate_unknown_key_and_not_toml(client):
    r = client.post("/api/scenarios/validate", content="duration_days = 5\n[tumor]\npreset='4175-LuT'\n")
    assert r.status_code == 422 and "tumour" in r.json()["error"]  # "did you mean"
    r = client.post("/api/scenarios/validate", content="this is = = not toml")
    assert r.status_code == 422 and "not valid TOML" in r.json()["error"]


def test_run_matches_cli_json(client, small_toml, cli, tmp_path, monkeypatch, wait_done):
    r = client.post("/api/runs?filename=small.toml", content=small_toml)
    assert r.status_code == 202
    run_id = r.json()["id"]
    state = wait_done(client, run_id)
    assert state["status"] == "done", state
    assert state["progress"] == {"done": 2, "total": 2}
    api_doc = state["summary"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.toml").write_text(small_toml, encoding="utf-8")
    code, out, err = cli("run", "small.toml", "--out", "cli-run", "--workers", "1", "--json")
    assert code == 0, err
    cli_doc = json.loads(out)
    assert set(api_doc) == set(cli_doc)
    assert {k: v for k, v in api_doc.items() if k != "run"} == {k: v for k, v in cli_doc.items() if k != "run"}
    assert set(api_doc["run"]) == set(cli_doc["run"])
    # listed, with a report, readable back from its folder after a restart (same document)
    listed = {x["id"]: x for x in client.get("/api/runs").json()}
    assert listed[run_id]["status"] == "done" and listed[run_id]["arms"] == ["control", "anti_pd1"]
    rep = client.get(f"/api/runs/{run_id}/report")
    assert rep.status_code == 200 and rep.headers["content-type"].startswith("text/html") and "web test" in rep.text
    from exoniche.web.runs import run_document

    assert run_document(client.app.state.runs_dir / run_id) == {**api_doc, "run": {
        **api_doc["run"], "figures": [f for f in api_doc["run"]["figures"] if f != "None"]}}
    traj = client.get(f"/api/runs/{run_id}/trajectories?var=N&var=Col_lung").json()
    assert set(traj) == {"N", "Col_lung"} and set(traj["N"]) == {"control", "anti_pd1"}
    assert len(traj["N"]["control"]["time"]) == 5
    assert client.get(f"/api/runs/{run_id}/trajectories?var=nope").status_code == 422
    events = client.get(f"/api/runs/{run_id}/events").text
    assert "event: done" in events and run_id in events


def test_bad_scenario_is_not_queued(client):
    r = client.post("/api/runs", content="duration_days = -1\n")
    assert r.status_code == 422 and "duration_days" in r.json()["error"]
    assert client.get("/api/runs").json() == []


def test_queue_full_gives_429(runs_dir, small_toml):
    from fastapi.testclient import TestClient

    from exoniche.web import create_app

    with TestClient(create_app(runs_dir, workers=1, queue_size=0)) as c:
        first = c.post("/api/runs", content=small_toml)
        assert first.status_code == 202
        second = c.post("/api/runs", content=small_toml)
        assert second.status_code == 429
        assert "busy" in second.json()["error"]


def test_unknown_run_is_404(client):
    assert client.get("/api/runs/no-such-run").status_code == 404
    assert client.get("/api/runs/no-such-run/report").status_code == 404


# ---------------------------------------------------------------------------------------------- biomarkers
CASES = [
    ("roc", ASAH, {"outcome": "outcome", "positive": "Poor", "marker": ["s100b", "ndka"]}, []),
    ("roc", ASAH, {"outcome": "outcome", "positive": "Poor", "marker": "s100b", "bootstrap": 50, "seed": 3,
                   "partial": "1,0.8"}, []),
    ("cutpoint", ASAH, {"outcome": "outcome", "positive": "Poor", "marker": "s100b",
                        "method": ["youden", "se>=0.9"]}, []),
    ("panel", ASAH, {"outcome": "outcome", "positive": "Poor", "marker": ["s100b", "ndka", "age"], "repeats": 2,
                     "max_size": 2}, []),
    ("survival", LUNG, {"time": "time", "event": "status", "covariate": ["age"], "group": "sex", "at": "180,365"}, []),
    ("monitor", SERIES, {"patient": "P01", "analytical_cv": "5%"}, []),
]


def _cli_args(path, fields) -> list[str]:
    names = {"id": "--id", "max_size": "--max-size", "analytical_cv": "--analytical-cv"}
    args = [str(path)]
    for k, v in fields.items():
        for item in v if isinstance(v, list) else [v]:
            args += [names.get(k, f"--{k}"), str(item)]
    return args


@pytest.mark.parametrize("command,path,fields,_", CASES, ids=[c[0] + str(i) for i, c in enumerate(CASES)])
def test_biomarker_json_equals_cli(client, cli, command, path, fields, _):
    r = client.post(f"/api/biomarkers/{command}", **upload(path, **fields))
    assert r.status_code == 200, r.text
    code, out, err = cli("biomarkers", command, *_cli_args(path, fields), "--json")
    assert code == 0, err
    assert r.text == out.rstrip("\n")  # the same text, digit for digit


def test_roc_curves_and_columns(client):
    r = client.post("/api/biomarkers/roc/curves", **upload(ASAH, outcome="outcome", positive="Poor", marker="s100b"))
    c = r.json()["s100b"]
    assert c["fpr"][0] in (0.0, 1.0) and len(c["fpr"]) == len(c["tpr"]) > 10
    cols = client.post("/api/biomarkers/columns", **upload(ASAH)).json()
    assert cols["rows"] == 113 and "outcome" in cols["binary"] and cols["levels"]["outcome"] == ["Good", "Poor"]
    assert client.post("/api/biomarkers/columns", **upload(SERIES)).json()["patients"][0] == "P01"


def test_monitor_report_is_one_page_html(client):
    r = client.post("/api/biomarkers/monitor/report", **upload(SERIES, patient="P01"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "P01" in r.text and "data:image/png;base64," in r.text


@pytest.mark.parametrize("name,phrases", [("missing_value.csv", ["'m1'", "missing values", "row 4"]),
                                          ("non_numeric.xlsx", ["'m1'", "non-numeric", "row 7"]),
                                          ("truncated.parquet", ["truncated", "Parquet"])])
def test_malformed_upload_gives_the_cli_message(client, cli, name, phrases):
    fields = {"outcome": "outcome", "positive": "case", "marker": ["m1", "m2"], "id": "id"}
    r = client.post("/api/biomarkers/roc", **upload(MALFORMED / name, **fields))
    assert r.status_code == 422
    msg = r.json()["error"]
    for p in phrases:
        assert p in msg
    assert "Traceback" not in r.text
    code, _, err = cli("biomarkers", "roc", *_cli_args(MALFORMED / name, fields))
    assert code == 2 and " ".join(err.split()) == f"error: {msg}"


def test_missing_form_field_is_422_naming_it(client):
    r = client.post("/api/biomarkers/roc", files={"file": ("asah.csv", ASAH.read_bytes())},
                    data={"marker": "s100b"})
    assert r.status_code == 422 and "outcome" in r.json()["error"]


# ---------------------------------------------------------------------------------------------- cohorts
def test_cohort_explorer_api_equals_cli_roc(runs_dir, client, cli, make_cohort):
    make_cohort(runs_dir / "c1")
    listed = {x["id"]: x for x in client.get("/api/runs").json()}
    assert listed["c1"]["kind"] == "cohort" and listed["c1"]["patients"] == 80
    info = client.get("/api/cohorts/c1").json()
    assert info["rows"] == 80 and "metastasis_seeded" in info["binary"] and info["manifest"]["seed"] == 1
    v = client.get("/api/cohorts/c1/values?column=pdl1_baseline&by=metastasis_seeded").json()
    assert sum(len(x) for x in v["groups"].values()) == 80
    r = client.post("/api/cohorts/c1/roc", data={"outcome": "metastasis_seeded", "positive": "1",
                                                 "marker": "pdl1_baseline"}).json()
    code, out, err = cli("biomarkers", "roc", runs_dir / "c1" / "observe" / "outcomes.parquet", "--outcome",
                         "metastasis_seeded", "--positive", "1", "--marker", "pdl1_baseline", "--json")
    assert code == 0, err
    assert {k: v for k, v in r.items() if k != "curves"} == json.loads(out)
    assert client.get("/api/cohorts/nope").status_code == 404


# ---------------------------------------------------------------------------------------------- security
def test_token_required_when_set(runs_dir):
    from fastapi.testclient import TestClient

    from exoniche.web import create_app

    with TestClient(create_app(runs_dir, token="s3cret-token")) as c:
        r = c.get("/api/health")
        assert r.status_code == 401 and "token" in r.json()["error"]
        assert c.get("/builder").status_code == 401
        assert c.get("/api/health", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
        assert c.get("/api/health", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        assert c.get("/api/health", headers={"X-Exoniche-Token": "s3cret-token"}).status_code == 200
        r = c.get("/builder?token=s3cret-token")  # the page sets a cookie so its own requests carry the token
        assert r.status_code == 200 and "exoniche_token" in r.headers["set-cookie"]
        assert c.get("/api/health").status_code == 200  # now via the cookie


def test_upload_over_the_limit_is_413(runs_dir):
    from fastapi.testclient import TestClient

    from exoniche.web import create_app

    with TestClient(create_app(runs_dir, max_upload_mb=0.01)) as c:
        big = b"outcome,m\n" + b"1,0.5\n0,0.25\n" * 2000  # ~28 kB > 10 kB (+ form overhead)
        r = c.post("/api/biomarkers/roc", files={"file": ("big.csv", big)},
                   data={"outcome": "outcome", "marker": "m"})
        assert r.status_code == 413 and "limit" in r.json()["error"]
        small = b"outcome,m\n1,0.5\n0,0.25\n1,0.75\n0,0.1\n"
        assert c.post("/api/biomarkers/roc", files={"file": ("s.csv", small)},
                      data={"outcome": "outcome", "marker": "m"}).status_code == 200


@pytest.mark.parametrize("path", ["/api/runs/..%2F..%2Fetc/report", "/api/runs/..%2F..%2Fetc%2Fpasswd/report",
                                  "/api/runs/../../etc/passwd", "/api/runs/%2E%2E/report", "/api/runs/.hidden/report",
                                  "/api/runs/a%20b/report", "/api/cohorts/..%2Fc1", "/static/..%2F..%2Fapp.py"])
def test_path_traversal_never_serves_a_file_outside(client, runs_dir, path):
    (runs_dir.parent / "report.html").write_text("SECRET outside the runs folder")
    r = client.get(path)
    assert r.status_code in (400, 404), (path, r.status_code)
    assert "SECRET" not in r.text and "root:" not in r.text and "Traceback" not in r.text


def test_unsafe_upload_name_is_400(client):
    r = client.post("/api/biomarkers/roc", files={"file": ("../../x;rm.csv", ASAH.read_bytes())},
                    data={"outcome": "outcome", "positive": "Poor", "marker": "s100b"})
    assert r.status_code == 400 and "file name" in r.json()["error"]


def test_serve_refuses_non_loopback_without_token(cli):
    code, _, err = cli("serve", "--host", "0.0.0.0")
    assert code == 2 and "--token" in err and "Traceback" not in err
    code, _, err = cli("serve", "--host", "0.0.0.0", "--token", "short")
    assert code == 2 and "8 characters" in err


def test_loopback_detection():
    from exoniche.web.server import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.org")


def test_internal_errors_have_no_traceback(client, monkeypatch):
    import exoniche.web.runs as runs_mod

    def boom(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(runs_mod, "list_runs", boom)
    from fastapi.testclient import TestClient

    with TestClient(client.app, raise_server_exceptions=False) as c:
        r = c.get("/api/runs")
    assert r.status_code == 500 and r.json() == {"error": "internal error (RuntimeError); see the server log"}
