"""End to end in headless Chromium (Debian's `chromium`, driven by Playwright): build and run a scenario, see
its figure, upload asah.csv and read the AUC, follow a patient and open the printable report, and load every
page without a script error.

These tests fail (never skip) when Chromium is missing: `.ci/run` installs it (`apt-get install -y chromium`).
Set EXONICHE_WEB_SHOTS=DIR to keep the screenshots (docs/web.md's come from there).
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("EXONICHE_CHROMIUM", "/usr/bin/chromium"))
REPO = Path(__file__).resolve().parents[2]
ASAH = REPO / "tests" / "reference" / "data" / "asah.csv"
SERIES = REPO / "tests" / "biomarkers" / "followup_data" / "monitor_series.csv"
PAGES = ["/", "/builder", "/runs", "/compare", "/cohorts", "/biomarkers", "/monitor"]
TIMEOUT_MS = int(os.environ.get("EXONICHE_WEB_TIMEOUT_MS", 300_000))  # a guard against a hang, not a speed limit


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, make_cohort):
    """The real app under uvicorn on a free loopback port, over a runs folder holding one small cohort."""
    import uvicorn

    from exoniche.web import create_app

    runs = tmp_path_factory.mktemp("runs")
    make_cohort(runs / "cohort-demo", n=120)
    port = _free_port()
    config = uvicorn.Config(create_app(runs, workers=1, queue_size=4), host="127.0.0.1", port=port,
                            log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", runs
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: the browser tests need Debian's chromium (apt-get install -y chromium); "
                    ".ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.errors = errors
    yield pg
    ctx.close()


def shot(page, name: str, tmp_path: Path) -> Path:
    out = Path(os.environ.get("EXONICHE_WEB_SHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"web-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def test_build_run_and_see_the_figure(server, page, tmp_path):
    base, runs = server
    page.goto(base + "/builder")
    page.wait_for_selector("#validation .status.ok")
    # a bad field: the page shows the parser's field path, and Run is disabled
    page.fill("#duration_days", "5000")
    page.wait_for_selector("#validation .status.bad")
    msg = page.inner_text("#validation")
    assert "duration_days" in msg and "3650" in msg
    assert page.is_disabled("#run")
    page.fill("#duration_days", "6")
    page.fill(".iv [data-field=start_day]", "2")  # the template's day 5 would be past the end
    page.fill("#replicates", "3")
    page.fill("#name", "browser run")
    page.wait_for_selector("#validation .status.ok")
    toml = page.input_value("#toml")
    assert 'name = "browser run"' in toml and "duration_days = 6" in toml and "[arms.treated]" in toml
    page.click("#run")
    page.wait_for_selector("#run-status.status.ok")
    page.wait_for_selector("#trajectory-plot .main-svg")
    assert page.locator("#trajectory-plot .scatterlayer .trace").count() >= 8  # 4 panels x 2 arms
    assert "control" in page.inner_text("#arm-table") and "treated" in page.inner_text("#arm-table")
    assert "finished" in page.inner_text("#run-status")
    href = page.get_attribute("#open-report", "href")
    report = page.request.get(base + href)
    assert report.status == 200 and "browser run" in report.text()
    shot(page, "builder", tmp_path)
    # the browser logs the expected 422 of the bad field; nothing else may go wrong
    assert [e for e in page.errors if "status of 422" not in e] == []


def test_download_and_upload_toml(server, page, tmp_path):
    base, _ = server
    page.goto(base + "/builder")
    page.wait_for_selector("#validation .status.ok")
    with page.expect_download() as dl:
        page.click("text=Download TOML")
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "[tumour]" in text and 'preset = "4175-LuT"' in text
    edited = tmp_path / "edited.toml"
    edited.write_text(text.replace('name = "anti-PD-1 in a lung-tropic breast tumour"', 'name = "uploaded one"'))
    page.set_input_files("#upload", str(edited))
    page.wait_for_function("document.querySelector('#name').value === 'uploaded one'")
    page.wait_for_selector("#validation .status.ok")
    assert page.errors == []


def test_biomarker_page_auc_equals_cli(server, page, tmp_path, cli):
    base, _ = server
    page.goto(base + "/biomarkers")
    page.set_input_files("#table-file", str(ASAH))
    page.wait_for_selector("#file-info .status.ok")
    page.select_option("#roc-outcome", "outcome")
    page.select_option("#roc-positive", "Poor")
    page.select_option("#roc-markers", ["s100b", "ndka"])
    page.click("#roc-run")
    page.wait_for_selector("#auc-table")
    page.wait_for_selector("#roc-plot .main-svg")
    rows = {r.split("\t")[0]: r.split("\t") for r in page.inner_text("#auc-table tbody").splitlines()}
    code, out, err = cli("biomarkers", "roc", ASAH, "--outcome", "outcome", "--positive", "Poor", "--marker", "s100b",
                         "--marker", "ndka")
    assert code == 0, err
    for marker in ("s100b", "ndka"):
        cli_row = next(line for line in out.splitlines() if f" {marker} " in line)
        auc_page, ci_page = rows[marker][2], rows[marker][3]
        printed = re.findall(r"\d\.\d{3}", cli_row)
        assert printed[0] == auc_page, (cli_row, rows[marker])  # AUC: every digit the CLI prints
        assert f"{printed[1]}–{printed[2]}" == ci_page
    shot(page, "biomarkers-roc", tmp_path)
    page.click("#tab-cutpoints")
    page.select_option("#cut-outcome", "outcome")
    page.select_option("#cut-positive", "Poor")
    page.select_option("#cut-markers", ["s100b"])
    page.click("#cut-run")
    page.wait_for_selector("#stard-table")
    assert "s100b >= 0.205" in page.inner_text("#stard-table")
    page.click("#tab-survival")
    page.select_option("#surv-time", "age")
    assert page.errors == []


def test_malformed_upload_names_row_and_column(server, page):
    base, _ = server
    page.goto(base + "/biomarkers")
    page.set_input_files("#table-file", str(REPO / "tests" / "biomarkers" / "malformed" / "ragged_row.csv"))
    page.wait_for_selector("#file-info .status.bad")
    assert "line 5" in page.inner_text("#file-info")


def test_patient_monitoring_and_report(server, page, tmp_path):
    base, _ = server
    page.goto(base + "/monitor")
    page.set_input_files("#series-file", str(SERIES))
    page.wait_for_selector("#monitor-table")
    page.wait_for_selector("#out .plot .main-svg")
    assert "Patient P01" in page.inner_text("#out")
    assert "personal_threshold" in page.inner_text("#alerts")  # P01's miR-21 alert, as the CLI reports it
    shot(page, "monitor", tmp_path)
    with page.expect_popup() as pop:
        page.click("#open-report")
    report = pop.value
    report.wait_for_load_state()
    assert "P01" in report.content() and report.locator("img").count() >= 1
    assert page.errors == []


def test_cohort_explorer_virtual_roc(server, page, tmp_path, cli):
    base, runs = server
    page.goto(base + "/cohorts")
    page.wait_for_selector("#roc-plot .main-svg")
    page.wait_for_selector("#dist-plot .main-svg")
    page.select_option("#marker", "pdl1_baseline")
    code, out, _ = cli("biomarkers", "roc", runs / "cohort-demo" / "observe" / "outcomes.parquet", "--outcome",
                       "metastasis_seeded", "--positive", "1", "--marker", "pdl1_baseline", "--json")
    auc = json.loads(out)["markers"][0]["auc"]
    page.wait_for_function(f"document.querySelector('#cohort-roc').innerText.includes('{auc:.3f}')")
    shot(page, "cohorts", tmp_path)
    assert page.errors == []


def test_every_page_loads_without_errors(server, page, tmp_path):
    base, runs = server
    for path in PAGES:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        assert page.locator("header nav a").count() == 6, path
        assert page.locator("h1").count() == 1, path
        shot(page, "page-" + (path.strip("/") or "home"), tmp_path)
    assert page.errors == [], page.errors


def test_run_browser_and_compare(server, page, tmp_path, wait_done, small_toml):
    base, runs = server
    import httpx

    with httpx.Client(base_url=base) as api:
        ids = [api.post(f"/api/runs?filename=s{seed}.toml", content=small_toml.replace("seed = 5", f"seed = {seed}"))
               .json()["id"] for seed in (5, 6)]
        assert [wait_done(api, i)["status"] for i in ids] == ["done", "done"]
    page.goto(base + "/runs")
    page.wait_for_selector("#runs-table")
    page.click(f"#runs-table td:text-is('{ids[0]}')")
    page.wait_for_selector("#trajectory-plot .main-svg")
    shot(page, "runs", tmp_path)
    page.goto(f"{base}/compare?a={ids[0]}&b={ids[1]}")
    page.wait_for_selector("#incidence-plot .main-svg")
    page.wait_for_selector("#trajectory-plot .main-svg")
    assert ids[0] in page.inner_text("#arm-table") and ids[1] in page.inner_text("#arm-table")
    shot(page, "compare", tmp_path)
    assert page.errors == []


def test_survival_tab_km_and_remark(server, page, tmp_path, cli_json):
    base, _ = server
    lung = REPO / "tests" / "reference" / "data" / "lung.csv"
    page.goto(base + "/biomarkers")
    page.set_input_files("#table-file", str(lung))
    page.wait_for_selector("#file-info .status.ok")
    page.click("#tab-survival")
    page.select_option("#surv-group", "sex")
    page.select_option("#surv-cov", ["age"])
    page.click("#surv-run")
    page.wait_for_selector("#km-plot .main-svg")
    doc = cli_json("biomarkers", "survival", lung, "--time", "time", "--event", "status", "--covariate", "age",
                   "--group", "sex")
    text = page.inner_text("#surv-out")
    assert f"p = {doc['logrank']['p']:.2g}" in text
    hr = doc["cox"][0]
    assert f"{hr['hr']:.2f} ({hr['hr_ci_low']:.2f}–{hr['hr_ci_high']:.2f})" in page.inner_text("#cox-table")
    shot(page, "biomarkers-survival", tmp_path)
    assert page.errors == []
