"""Runs started from the web API: a small worker pool with a bounded queue.

``RunQueue.submit`` accepts a scenario (already validated) and returns a job id, or raises
:class:`QueueFull` when ``workers`` runs are busy and ``queue_size`` more are waiting (the API answers
429). Each job runs exactly what ``exoniche run FILE --out RUNS/<id>`` runs (one arm at a time in the
worker thread, so a busy server keeps answering) and keeps its status, progress and result document.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from exoniche.errors import ExonicheError

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")


class QueueFull(ExonicheError):
    """Every worker is busy and the waiting queue is full."""


@dataclass
class Job:
    """One queued or running scenario run of the web app."""

    id: str
    name: str
    status: str = "queued"  # queued -> running -> done | failed
    done: int = 0
    total: int = 0
    error: str | None = None
    result: dict | None = None
    created: float = field(default_factory=time.time)

    def state(self) -> dict:
        """Return the job's state for the API: id, status, progress and error."""
        return {"id": self.id, "name": self.name, "status": self.status,
                "progress": {"done": self.done, "total": self.total}, "error": self.error}


def new_run_id(name: str) -> str:
    """``<slug of the scenario name>-<8 hex>``: readable, unique, and safe as a folder name."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:40] or "run"
    return f"{slug}-{secrets.token_hex(4)}"


class RunQueue:
    """At most ``workers`` runs at once and ``queue_size`` waiting."""

    def __init__(self, runs_dir: Path, workers: int = 1, queue_size: int = 4):
        self.runs_dir = Path(runs_dir)
        self.workers = workers
        self.queue_size = queue_size
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="exoniche-run")

    def active(self) -> int:
        """Return the number of jobs queued or running."""
        return sum(1 for j in self.jobs.values() if j.status in ("queued", "running"))

    def submit(self, scenario, toml_text: str, filename: str = "scenario.toml") -> Job:
        """Queue a run of ``scenario``; a full queue is a :class:`QueueFull` error (HTTP 429)."""
        with self._lock:
            if self.active() >= self.workers + self.queue_size:
                raise QueueFull(f"{self.workers} run(s) busy and {self.queue_size} waiting; try again later")
            job = Job(new_run_id(scenario.name), scenario.name, total=len(scenario.arms))
            self.jobs[job.id] = job
        self._pool.submit(self._run, job, scenario, toml_text, filename)
        return job

    def _run(self, job: Job, scenario, toml_text: str, filename: str) -> None:
        from exoniche.experiments import compare_scenarios
        from exoniche.io.compare_report import run_document, write_comparison

        job.status = "running"
        tmp = Path(tempfile.mkdtemp(prefix="exoniche-web-"))
        try:
            src = tmp / filename
            src.write_text(toml_text, encoding="utf-8")

            def progress(done: int, total: int) -> None:
                job.done, job.total = done, total

            cmp = compare_scenarios([scenario], workers=1, progress=progress)
            paths = write_comparison(cmp, self.runs_dir / job.id, f"exoniche run {filename}", [str(src)])
            job.result = run_document(cmp, paths)
            job.status = "done"
        except ExonicheError as exc:
            job.error, job.status = str(exc), "failed"
        except Exception as exc:  # a bug must not kill the worker; the message, never a traceback, is shown
            job.error, job.status = f"internal error: {type(exc).__name__}", "failed"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def shutdown(self) -> None:
        """Stop accepting jobs and wait for the running ones."""
        self._pool.shutdown(wait=False, cancel_futures=True)
