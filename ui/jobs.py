"""Long tasks run once per server in worker processes (the demo territory's preparation, each territory's fit),
and the pages' wait for the demo at first start.

A worker is ``python -c`` in the app's folder (not multiprocessing: its spawn would re-import the running
Streamlit script in the worker), so that the work neither holds the server's interpreter lock nor slows the pages
drawn meanwhile; a thread relays its stages (JSON lines, :mod:`ilots.worker`). Only plain attributes cross
threads; pages poll them. This module imports nothing heavy and has no import side effects: the server imports it
when it starts (``ui/startup.py``), and every page run waits here for the demo before its own modules load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import streamlit as st

from ilots.errors import IlotsError
from ilots.folders import is_territory, list_territories
from ui.navigation import APP_ROOT
from ui.text import md_escape

DEMO_FOLDER = "demo"


def data_dir() -> Path:
    """Folder of prepared territories (``ILOTS_DATA_DIR``, default ``data/`` beside the app)."""
    return Path(os.environ.get("ILOTS_DATA_DIR", APP_ROOT / "data"))


def demo_size_km() -> float:
    """Side of the demo town built at first start (``ILOTS_DEMO_SIZE_KM``, default 5 km; its range is checked by
    the worker, which loads the demo's builder)."""
    text = os.environ.get("ILOTS_DEMO_SIZE_KM", "5")
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise IlotsError(f"ILOTS_DEMO_SIZE_KM n'est pas un nombre de kilomètres : {text!r}") from None


class WorkerJob:
    """One worker process and what it has said: ``message`` and ``fraction`` of its current stage; ``ready`` set
    when its result can be used (a worker may say so before it ends, or else when it ends), ``done`` when it has
    ended, ``error`` (a French :class:`IlotsError`) if it failed. ``what`` names the task in French for the errors
    the worker cannot say itself (« le calcul du modèle »)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.message, self.fraction = "Démarrage", 0.0
        self.ready = threading.Event()
        self.done = threading.Event()
        self.error: IlotsError | None = None
        self._process: subprocess.Popen | None = None

    def start(self, code: str, *args: str, name: str = "ilots-worker") -> WorkerJob:
        """Run ``python -c code args…`` in the background; returns self."""
        threading.Thread(target=self._run, args=(code, list(args)), name=name, daemon=True).start()
        return self

    def _run(self, code: str, args: list[str]) -> None:
        ended = False
        try:
            with subprocess.Popen(
                [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, cwd=APP_ROOT
            ) as worker:
                self._process = worker
                for line in worker.stdout:
                    try:
                        kind, message, fraction = json.loads(line)
                    except ValueError:
                        continue  # a library's own print: not ours
                    if kind == "stage":
                        self.message = message
                        if fraction is not None:
                            self.fraction = min(max(float(fraction), 0.0), 1.0)
                    elif kind == "ready":
                        self.ready.set()
                    elif kind in ("done", "error"):
                        self.error = IlotsError(message) if kind == "error" else None
                        ended = True
                        self.done.set()  # now, not when the interpreter has finished exiting (0.2 s later)
                        self.ready.set()
            if not ended:
                self.error = IlotsError(
                    f"{self.what} : le processus s'est arrêté sans résultat (mémoire insuffisante ?)"
                )
        except OSError as exc:
            self.error = IlotsError(f"{self.what} : le processus n'a pas pu démarrer ({exc.strerror or exc})")
        finally:
            self.done.set()
            self.ready.set()

    def stop(self) -> None:
        """End the worker (the server stops) unless its result is already published: what a build was writing
        stays in its staging folder, never half-saved; a published territory's last additions are let finish."""
        if self._process is not None and self._process.poll() is None and not self.ready.is_set():
            self._process.terminate()


# Each worker first settles xarray on numpy arrays, before the library's imports (ilots.lean: 0.2 s of CPU a start)
_LEAN = "import sys; from ilots.lean import without_dask_arrays; without_dask_arrays(); "


@st.cache_resource(show_spinner=False, max_entries=8)
def fit_job(path: str, territory_mtime: float) -> WorkerJob:
    """The one background fit of this territory version in this server process, started on first demand."""
    code = _LEAN + "from ilots.analysis import fit_worker; fit_worker(sys.argv[1])"
    return WorkerJob("le calcul du modèle").start(code, path, name="ilots-fit")


@st.cache_resource(show_spinner=False)
def _demo_jobs() -> tuple[threading.Lock, dict[str, WorkerJob]]:
    """This server's demo preparations by output folder (one at a time per folder)."""
    return threading.Lock(), {}


def demo_job(out: str, size_km: float) -> WorkerJob:
    """The one preparation of the demo territory at ``out`` in this server process: started when the server starts
    with no territory (``ui/startup.py``), or by the first visit; started again if the last one failed or its
    territory is gone. Raises :class:`OSError` at once if ``out``'s folder cannot be written (the worker would
    only find it out later)."""
    lock, jobs = _demo_jobs()
    with lock:
        job = jobs.get(out)
        if job is None or (job.done.is_set() and (job.error is not None or not is_territory(out))):
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=Path(out).parent):
                pass
            code = _LEAN + "from ilots.demo import demo_worker; demo_worker(sys.argv[1], float(sys.argv[2]))"
            what = "la préparation du territoire de démonstration"
            job = jobs[out] = WorkerJob(what).start(code, out, repr(size_km), name="ilots-demo")
        return job


def demo_in_progress(out: str) -> WorkerJob | None:
    """The demo preparation at ``out`` still running in this server, if any (never starts one)."""
    lock, jobs = _demo_jobs()
    with lock:
        job = jobs.get(out)
    return job if job is not None and not job.done.is_set() else None


def demo_preparation(root: Path) -> WorkerJob | None:
    """The demo preparation to wait for under ``root``: the one running in this server, else one started now when
    ``root`` holds no territory; None when territories are there and none is being prepared. Raises
    :class:`IlotsError` (a bad ``ILOTS_DEMO_SIZE_KM``) or :class:`OSError` (``root`` cannot be written)."""
    out = str(root / DEMO_FOLDER)
    job = demo_in_progress(out)
    if job is None and not list_territories(root):
        job = demo_job(out, demo_size_km())
    return job


def stage_text(prefix: str, message: str, finished: bool = False) -> str:
    """A progress bar's line: « prefix » then the stage in lower case (as is without a prefix), « … » until the
    task is finished."""
    line = f"{message[:1].lower()}{message[1:]}" if prefix else message
    return f"{prefix}{line}{'' if finished else '…'}"


def progress_bar(text: str, prefix: str = ""):
    """An ``st.progress`` bar and the library's ``progress(message, fraction)`` callback that moves it
    (:mod:`ilots.progress`): each line is « prefix » then the stage in lower case, « … » while it is not
    finished; an unknown fraction (None) leaves the bar where it was."""
    bar = st.progress(0.0, text=text)
    shown = [0.0]

    def report(message: str, fraction: float | None) -> None:
        if fraction is not None:
            shown[0] = min(max(float(fraction), 0.0), 1.0)
        bar.progress(shown[0], text=stage_text(prefix, message, finished=shown[0] >= 1))

    return bar, report


def ensure_demo(first_view: bool = False) -> None:
    """Wait, with a progress bar, for the demo territory when no territory is prepared yet or the demo is being
    prepared (in a worker started when the server started, or now). ``first_view`` (the home page, which draws
    the observed map) waits only until the territory is published; other pages also wait for the demo's
    monitoring, night and crèches layers, added just after. Meanwhile the maps' modules load here."""
    root = data_dir()
    out = root / DEMO_FOLDER
    try:
        job = demo_preparation(root)
    except IlotsError as exc:
        st.error(f"Le territoire de démonstration n'a pas pu être préparé : {md_escape(exc)}")
        st.stop()
    except OSError:
        st.error(
            f"Le territoire de démonstration n'a pas pu être écrit dans {md_escape(root)} (disque plein, en "
            "lecture seule ou droits insuffisants) : vérifiez le dossier ou définissez ILOTS_DATA_DIR."
        )
        st.stop()
    if job is None:
        return
    awaited = job.ready if first_view else job.done
    if not awaited.is_set():
        bar, progress = progress_bar(
            "Première ouverture : préparation du territoire de démonstration…", "Première ouverture, étape 1 sur 2 — "
        )
        progress(job.message, job.fraction)
        import ilots.maps  # noqa: F401 — every page draws maps; loaded on this core while the worker builds

        while not awaited.wait(0.1):
            progress(job.message, job.fraction)
        bar.empty()
    if job.error is not None:
        if not is_territory(out):
            st.error(f"Le territoire de démonstration n'a pas pu être préparé : {md_escape(job.error)}")
            st.stop()
        st.warning(
            "Le territoire de démonstration est prêt, mais ses couches complémentaires (suivi des réalisations, "
            f"nuit, crèches) n'ont pas toutes pu être ajoutées : {md_escape(job.error)}"
        )
