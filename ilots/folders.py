"""Territory folders on disk: which are complete, and the recovery of a swap or a build that was interrupted.

Kept apart from :mod:`ilots.store` (which reads and writes what the folders hold) so that listing territories
imports nothing heavy: the dashboard's server does it when it starts, before any page runs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["MANIFEST", "BLOCKS", "is_territory", "list_territories", "process_alive", "recover"]

MANIFEST = "territory.json"  # written last: it marks a complete territory
BLOCKS = "blocks.parquet"


def _siblings(path: Path, marker: str) -> list[Path]:
    """Hidden siblings ``.NAME<marker>*`` of ``path``, matched by exact prefix (never a glob pattern:
    a territory named ``*`` or ``[a]`` must not reach its neighbours' backups)."""
    prefix = f".{path.name}{marker}"
    try:
        return [q for q in path.parent.iterdir() if q.name.startswith(prefix)]
    except OSError:
        return []


def recover(path: str | Path) -> None:
    """Finish or undo an interrupted swap, and remove staging folders left by killed builds.

    A build swaps folders with two renames (current → ``.NAME.old-*``, staging → current). If the
    process died between them, the previous territory is put back. Staging folders
    (``.NAME.building-*``) of builds that died are deleted: they never hold a complete territory.
    """
    p = Path(path)
    if not p.parent.is_dir():
        return
    olds = sorted(_siblings(p, ".old-"), key=lambda q: q.stat().st_mtime)
    if not p.exists() and olds:
        os.rename(olds[-1], p)
        olds = olds[:-1]
    for q in olds:
        shutil.rmtree(q, ignore_errors=True)
    for q in _siblings(p, ".building-"):
        pid = q.name[len(f".{p.name}.building-") :].split("-", 1)[0]
        if not pid.isdigit() or not process_alive(int(pid)):
            shutil.rmtree(q, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (a staging or temporary file's owner)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_territory(path: str | Path) -> bool:
    """Whether ``path`` holds a complete territory (manifest written last, so it marks completion)."""
    p = Path(path)
    return (p / MANIFEST).is_file() and (p / BLOCKS).is_file()


def list_territories(root: str | Path) -> list[Path]:
    """Complete territories directly under ``root``, sorted by folder name."""
    root = Path(root)
    if not root.is_dir():
        return []
    for name in {
        q.name[1 : q.name.index(".old-")] for q in root.iterdir() if q.name.startswith(".") and ".old-" in q.name
    }:
        recover(root / name)
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and is_territory(p))
