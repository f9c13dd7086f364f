"""Issue 14 §5: the demo is prepared when the server starts (st.App lifespan), in a worker that says when the
territory is published (« ready ») before it adds the demo's further layers; pages wait for what they need."""

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT, free_port, python_prints


def test_the_server_prepares_the_demo_and_fits_it_before_any_visit(tmp_path):
    """No browser connects: the old server did nothing until a first visit ran the page script."""
    port = free_port()
    env = {**os.environ, "ILOTS_DATA_DIR": str(tmp_path), "ILOTS_DEMO_SIZE_KM": "1.5"}
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"), "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                assert time.time() < deadline, "the server did not answer"
                time.sleep(0.2)
        demo = tmp_path / "demo"
        deadline = time.time() + 240
        while not (demo / "model.json").exists() and time.time() < deadline:
            time.sleep(0.5)
        assert (demo / "territory.json").exists(), "no demo prepared at server start"
        assert (demo / "model.json").exists(), "the demo's model was not fitted after it"
        assert (demo / "monitoring").is_dir() and (demo / "night").is_dir()  # the layers added after publishing
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_server_start_imports_nothing_heavy():
    """What the server imports to start (dashboard.py as a module, its lifespan, the jobs) loads no geodata stack:
    listing territories must not cost a second before the worker starts."""
    code = (
        "import sys; sys.path.insert(0, '.'); import dashboard, ui.startup, ui.jobs; "
        "print([m for m in ('geopandas', 'pandas', 'rasterio', 'shapely', 'ilots.store') if m in sys.modules])"
    )
    assert python_prints(code).strip().splitlines()[-1] == "[]"


def _job(code: str):
    from ui.jobs import WorkerJob

    return WorkerJob("la tâche d'essai").start(code)


def test_a_job_is_ready_when_the_worker_says_so_and_done_without_waiting_for_its_exit():
    emit = "import json, sys, time\ndef say(*a): print(json.dumps(list(a)), flush=True)\n"
    code = emit + (
        "say('stage', 'Première étape', 0.5); say('ready', '', None); time.sleep(1.5); "
        "say('done', '', 1.0); time.sleep(30)"
    )
    job = _job(code)
    assert job.ready.wait(20)
    assert not job.done.is_set()  # published, still adding
    assert job.message == "Première étape" and job.fraction == 0.5
    assert job.done.wait(10), "done must not wait for the worker's exit (30 s later)"
    assert job.error is None
    job._process.kill()


def test_a_worker_that_dies_silently_is_a_french_error_and_releases_its_waiters():
    job = _job("import sys; print('a library talks'); sys.exit(3)")
    assert job.done.wait(20) and job.ready.is_set()
    assert "la tâche d'essai" in str(job.error) and "sans résultat" in str(job.error)


def test_a_worker_error_line_is_the_jobs_error():
    job = _job("import json; print(json.dumps(['error', 'le fichier est illisible', None]))")
    assert job.done.wait(20)
    assert str(job.error) == "le fichier est illisible"


@pytest.mark.parametrize("value", ["abc", "", "5 km"])
def test_a_demo_size_that_is_not_a_number_is_a_french_error(monkeypatch, value):
    from ilots.errors import IlotsError
    from ui.jobs import demo_size_km

    monkeypatch.setenv("ILOTS_DEMO_SIZE_KM", value)
    with pytest.raises(IlotsError, match="ILOTS_DEMO_SIZE_KM"):
        demo_size_km()


def test_the_demo_worker_says_ready_once_published_then_adds_the_further_layers(tmp_path):
    from ilots.demo import demo_worker
    from ilots.folders import is_territory

    out = tmp_path / "demo"
    seen = []

    def emit(kind, message, fraction):
        seen.append((kind, message, fraction, is_territory(out), (out / "monitoring").exists()))
        json.dumps([kind, message, fraction])  # what crosses the process boundary: plain values

    demo_worker(str(out), 1.0, emit=emit)
    kinds = [s[0] for s in seen]
    assert kinds.count("ready") == 1 and kinds[-1] == "done"
    ready = seen[kinds.index("ready")]
    assert ready[3] and not ready[4]  # published, monitoring not yet there
    after = [s[1] for s in seen[kinds.index("ready") :] if s[0] == "stage"]
    assert any("suivi" in m for m in after) and any("nuit" in m.lower() for m in after)
    fractions = [s[2] for s in seen if s[0] == "stage" and s[2] is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0  # one bar that never goes back
    assert (out / "monitoring").is_dir() and (out / "night").is_dir() and (out / "places").is_dir()
