"""Load time of every web page in headless Chromium against a local `exoniche serve` (issue 13 target: < 2 s).

Starts the app on a free loopback port over a runs folder (``--runs``; default an empty temporary one),
opens each page in a fresh browser context (cold cache: plotly.min.js, ~4.7 MB, is loaded and parsed on
every page that draws a plot) and reads two times: `load` (the page and every script and style loaded)
and `ready` (the page's own requests answered, i.e. network idle). Prints one line per page, then the
worst `ready` time over the 2 s target as `ratio:` (below 1 meets it).

    .venv/bin/python benchmarks/bench_web_pages.py [--repeat 3] [--runs runs]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time

PAGES = ["/", "/builder", "/runs", "/compare", "/cohorts", "/biomarkers", "/monitor"]
TARGET_S = 2.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--runs", default=None, help="Runs folder to serve (default: an empty temporary one).")
    args = ap.parse_args()
    import uvicorn
    from playwright.sync_api import sync_playwright

    from exoniche.web import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(args.runs or tempfile.mkdtemp()), host="127.0.0.1", port=port,
                                        log_level="warning"))
    threading.Thread(target=srv.run, daemon=True).start()
    while not srv.started:
        time.sleep(0.05)
    worst = 0.0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for path in PAGES:
            loads, readies = [], []
            for _ in range(args.repeat):
                ctx = browser.new_context()
                page = ctx.new_page()
                t0 = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}{path}", wait_until="load")
                loads.append(time.perf_counter() - t0)
                page.wait_for_load_state("networkidle")  # includes Playwright's 0.5 s of silence
                readies.append(time.perf_counter() - t0 - 0.5)
                ctx.close()
            best_load, best_ready = min(loads), min(readies)
            worst = max(worst, best_ready)
            print(f"{path:12s} load {best_load:.2f} s   ready {best_ready:.2f} s   (best of {args.repeat})")
        browser.close()
    srv.should_exit = True
    print(f"target_s: {TARGET_S}")
    print(f"ratio: {worst / TARGET_S:.2f}")


if __name__ == "__main__":
    main()
