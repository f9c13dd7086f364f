"""What the dashboard's server does when it starts, before any visit (Streamlit's ``st.App`` lifespan, declared as
``app`` in dashboard.py): with no territory prepared yet, the demo territory is prepared at once in a worker
process, then its model is fitted in another, so that the first visitor waits seconds less (issue 14 §5) and a
deployment's first visitor may not wait at all. Pages find the same jobs (``ui/jobs.py``) and show their progress.

Nothing here may stop the server from starting: a failure is left for the first visit to say in French.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from ilots.errors import IlotsError
from ilots.folders import MANIFEST, is_territory
from ui.jobs import DEMO_FOLDER, WorkerJob, data_dir, demo_preparation, fit_job


def prepare_demo(root: Path, started: list[WorkerJob]) -> None:
    """With no territory under ``root``: prepare the demo (and wait for it), then start its model's fit. Each job
    started is appended to ``started`` (stopped with the server)."""
    try:
        job = demo_preparation(root)
    except (IlotsError, OSError):
        return  # the first visit says why (ui/jobs.ensure_demo)
    if job is None:
        return
    out = root / DEMO_FOLDER
    started.append(job)
    job.done.wait()
    if job.error is None and is_territory(out):
        started.append(fit_job(str(out), (out / MANIFEST).stat().st_mtime))


@contextlib.asynccontextmanager
async def lifespan(app) -> AsyncIterator[None]:
    """Start :func:`prepare_demo` on a thread (the server answers meanwhile); stop its workers at shutdown."""
    started: list[WorkerJob] = []
    threading.Thread(target=prepare_demo, args=(data_dir(), started), name="ilots-startup", daemon=True).start()
    yield
    for job in started:
        job.stop()
