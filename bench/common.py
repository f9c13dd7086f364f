"""Shared by the dashboard benchmarks: serve a data folder with the dashboard on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def dashboard_server(data_dir: Path, wait_s: float = 90.0, pids: list[int] | None = None):
    """Start ``streamlit run dashboard.py`` on a free loopback port; yield its base URL; stop it.

    The server's process id is appended to ``pids`` when given (CPU accounting)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "dashboard.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env={**os.environ, "ILOTS_DATA_DIR": str(data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    if pids is not None:
        pids.append(proc.pid)
    try:
        deadline = time.time() + wait_s
        while True:
            try:
                if urllib.request.urlopen(base + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("the dashboard did not start") from None
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextlib.contextmanager
def dashboard_servers(data_dir: Path, processes: int = 1, pids: list[int] | None = None):
    """``processes`` dashboard servers (one per core, as behind a reverse proxy); yield their base URLs."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(dashboard_server(data_dir, pids=pids)) for _ in range(processes)]
