"""One long task of the library run in a worker process, its stages told as JSON lines on stdout.

The dashboard starts ``python -c`` workers (the model's fit, the demo territory's preparation) so that the work
neither holds the server's interpreter lock nor slows the pages drawn meanwhile; only plain values cross the
process boundary: ``[kind, message, fraction]`` per line, ``kind`` being ``"stage"`` (``progress``'s message and
fraction), then one ``"done"`` or one ``"error"`` (a French sentence, never a traceback).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from .errors import IlotsError, describe_os_error
from .progress import Progress

__all__ = ["Emit", "run_reporting", "to_stdout"]

Emit = Callable[[str, str, "float | None"], None]


def to_stdout(kind: str, message: str, fraction: float | None) -> None:
    """One JSON line on stdout, flushed at once (the parent reads it as it comes)."""
    sys.stdout.write(json.dumps([kind, message, fraction]) + "\n")
    sys.stdout.flush()


def run_reporting(task: Callable[[Progress], object], emit: Emit | None = None) -> None:
    """Run ``task(progress)``, telling ``emit`` each stage, then ``("done", "", 1.0)`` or ``("error", French
    sentence, None)``: nothing raised escapes (the worker's parent only reads lines)."""
    emit = emit or to_stdout
    try:
        task(lambda message, fraction: emit("stage", message, fraction))
        emit("done", "", 1.0)
    except IlotsError as exc:
        emit("error", str(exc), None)
    except OSError as exc:
        emit("error", describe_os_error(exc), None)
    except Exception as exc:  # noqa: BLE001 — the page says it in one sentence
        emit("error", f"erreur inattendue ({type(exc).__name__} : {exc})", None)
