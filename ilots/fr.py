"""French formatting of numbers and dates for everything shown to users (3,2 °C ; 14 juillet 2022)."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata

__all__ = ["num", "temp", "pct", "probability", "date_fr", "slug", "MONTHS"]

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_NBSP = "\u202f"  # narrow no-break space, the French thousands separator


def num(x: float | None, digits: int = 1) -> str:
    """A number the French way: decimal comma, narrow no-break space for thousands.

    >>> num(12345.678, 1)
    '12\u202f345,7'
    >>> num(None)
    '—'
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    text = f"{x:,.{digits}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", _NBSP)


def temp(x: float | None, digits: int = 1, signed: bool = False) -> str:
    """A temperature in °C: ``temp(3.21, signed=True)`` → ``'+3,2 °C'``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    shown = round(x, digits)
    sign = "+" if signed and shown > 0 else ("−" if shown < 0 else "")  # never « −0,0 °C »
    return f"{sign}{num(abs(x), digits)}\u00a0°C"


def temp_interval(value: float | None, lo: float | None, hi: float | None, sep: str = " ") -> str:
    """An estimate and its interval: ``temp_interval(-2.41, -2.9, -2.0)`` → ``'−2,4 °C (−2,9 à −2,0 °C)'``;
    « — » when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{temp(value, 1, True)}{sep}({temp(lo, 1, True)} à {temp(hi, 1, True)})"


def area(m2: float | None) -> str:
    """An area the French way: m² under a hectare, ha above (``area(3000)`` → ``'3 000 m²'``,
    ``area(52000)`` → ``'5,2 ha'``)."""
    if m2 is None or (isinstance(m2, float) and math.isnan(m2)):
        return "—"
    if m2 < 10_000:
        return f"{num(m2, 0)} m²"
    return f"{num(m2 / 10_000, 1)} ha"


def pct(share: float | None, digits: int = 0) -> str:
    """A share in [0, 1] as a percentage: ``pct(0.853)`` → ``'85 %'``."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "—"
    return f"{num(100 * share, digits)}\u00a0%"


def probability(p: float | None) -> str:
    """A probability as a percentage that never claims certainty a sample of draws cannot give: under 0,5 %
    reads « < 1 % », over 99,5 % « > 99 % ».

    >>> probability(1.0), probability(0.0), probability(0.42)
    ('>\\xa099\\xa0%', '<\\xa01\\xa0%', '42\\xa0%')
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "—"
    if p < 0.005:
        return "<\u00a01\u00a0%"
    if p > 0.995:
        return ">\u00a099\u00a0%"
    return pct(p)


def date_fr(value: str | dt.date | None) -> str:
    """``'2022-07-14'`` → ``'14 juillet 2022'`` (``1er`` for the first of the month).

    >>> date_fr("2023-08-01")
    '1er août 2023'
    """
    if value is None:
        return "date inconnue"
    d = dt.date.fromisoformat(value) if isinstance(value, str) else value
    day = "1er" if d.day == 1 else str(d.day)
    return f"{day} {MONTHS[d.month - 1]} {d.year}"


def dates_fr(values) -> str:
    """Acquisition dates as a French phrase with its article, the year said once per year.

    >>> dates_fr(["2022-07-14"])
    'le 14 juillet 2022'
    >>> dates_fr(["2022-07-14", "2022-06-21"])
    'les 21 juin et 14 juillet 2022'
    >>> dates_fr(["2022-06-21", "2022-07-14", "2023-08-01"])
    'les 21 juin et 14 juillet 2022 et le 1er août 2023'
    >>> dates_fr([])
    'date inconnue'
    """
    days = sorted({dt.date.fromisoformat(v) if isinstance(v, str) else v for v in values if v})
    if not days:
        return "date inconnue"
    parts = []
    for year in sorted({d.year for d in days}):
        these = [d for d in days if d.year == year]
        names = [f"{'1er' if d.day == 1 else d.day} {MONTHS[d.month - 1]}" for d in these]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]
        parts.append(f"{'le' if len(these) == 1 else 'les'} {listed} {year}")
    return " et ".join(parts)


def slug(text: str, sep: str = "-", max_len: int = 60) -> str:
    """An ASCII file or folder name from a French name: ``slug("Cours d'école")`` → ``'cours-d-ecole'``."""
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-zA-Z0-9]+", sep, ascii_).strip(sep).lower()[:max_len]
