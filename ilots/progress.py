"""The one progress-callback signature of the library: ``progress(message, fraction)``.

``message`` says in French what is being done now (shown as is by the dashboard and the command line);
``fraction`` is how much of the task the callee was given is done, in [0, 1], or None while it cannot be
known (a WFS paging through a layer of unknown size). The build, the fit, the fetch and the tiled and
multi-commune builds all take this signature; a caller that chains several tasks gives each a share of
one bar with :func:`within`.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "noop", "within", "count_fraction"]

Progress = Callable[[str, "float | None"], None]


def noop(message: str, fraction: float | None) -> None:
    """The default callback: report nothing."""
    return None


def within(progress: Progress, start: float, end: float, stage: str | None = None) -> Progress:
    """A callback that reports a sub-task's fractions as the share [start, end] of ``progress``'s bar;
    with ``stage``, its messages are details of that stage (« stage (message) »), and an unknown fraction
    stays at ``start``.

    >>> seen = []
    >>> part = within(lambda m, f: seen.append((m, f)), 0.5, 1.0)
    >>> part("a", 0.5); part("b", None); seen
    [('a', 0.75), ('b', None)]
    >>> within(lambda m, f: print(m, f), 0.2, 0.4, "BD TOPO : bâtiments")("5 000 objets", None)
    BD TOPO : bâtiments (5 000 objets) 0.2
    """

    def report(message: str, fraction: float | None) -> None:
        if stage is not None:
            message = f"{stage} ({message})" if message else stage
            fraction = 0.0 if fraction is None else fraction
        if fraction is None:
            progress(message, None)
        else:
            progress(message, start + (end - start) * min(max(float(fraction), 0.0), 1.0))

    return report


def count_fraction(done: int, total: int | None) -> float | None:
    """``done / total`` in [0, 1], or None when the total is unknown (or zero).

    >>> count_fraction(3, 4), count_fraction(3, None), count_fraction(0, 0)
    (0.75, None, None)
    """
    if not total:
        return None
    return min(max(done / total, 0.0), 1.0)
