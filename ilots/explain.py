"""Per-block explanations from the linear model, in °C and in plain French.

The contribution of feature *j* to block *i* is ``coef_j × (x_ij − mean_j)``: how much that
feature moves the block's predicted surface temperature away from the territory average. The
sentence names the three features that push most in the direction of the block's observed
anomaly, e.g. « Cet îlot est 3,2 °C plus chaud que la moyenne : 85 % de surfaces
imperméables, 2 % d'arbres, bâtiments bas (6 m). »
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from . import fr
from .model import LinearModel

__all__ = ["NEUTRAL_C", "contributions", "describe", "reasons", "sentence", "compared_to_mean", "explain_blocks"]

NEUTRAL_C = 0.3  # below this anomaly a block is "close to the average"


def contributions(model: LinearModel, table: pd.DataFrame) -> pd.DataFrame:
    """Contribution (°C) of each feature to each block's departure from the territory average."""
    D = model.design(table)
    centred = D - D.mean(axis=0)
    contrib = centred * np.asarray(model.coef)
    out = pd.DataFrame(contrib, index=table.index, columns=model.columns)
    for col in list(out.columns):
        if col.endswith("__missing"):
            parent = col[: -len("__missing")]
            out[parent] = out[parent] + out.pop(col)
    return out


# Shares: « 85 % de surfaces imperméables ».
_SHARE_PHRASES = {
    "tree_frac": "d'arbres",
    "grass_frac": "d'herbe et d'arbustes",
    "water_frac": "d'eau",
    "bare_frac": "de sol nu",
    "impervious_frac": "de surfaces imperméables",
    "road_frac": "de chaussées",
}
# Values compared with the territory mean: (noun, word if above, word if below, value format).
_RELATIVE_PHRASES = {
    "building_coverage": ("bâti", "dense", "aéré", lambda v: f"{fr.pct(v)} d'emprise au sol"),
    "building_height_m": ("bâtiments", "hauts", "bas", lambda v: f"{fr.num(v, 0)} m"),
    "built_volume_m3_per_m2": ("volume bâti", "élevé", "faible", lambda v: f"{fr.num(v, 1)} m³/m²"),
    "ndvi_mean": ("végétation", "dense", "peu active", lambda v: f"NDVI {fr.num(v, 2)}"),
}
# Distances: (phrase when touching, phrase otherwise).
_DISTANCE_PHRASES = {
    "dist_water_m": ("au bord de l'eau", "de l'eau"),
    "dist_green_m": ("contre un grand espace vert", "d'un grand espace vert"),
}


def describe(feature: str, value: float, mean: float) -> str:
    """A short French description of a block's value for ``feature``."""
    if feature in _SHARE_PHRASES:
        return f"{fr.pct(value)} {_SHARE_PHRASES[feature]}"
    if feature in _RELATIVE_PHRASES:
        noun, above, below, fmt = _RELATIVE_PHRASES[feature]
        return f"{noun} {above if value >= mean else below} ({fmt(value)})"
    if feature in _DISTANCE_PHRASES:
        touching, target = _DISTANCE_PHRASES[feature]
        return touching if value < 1 else f"à {fr.num(value, 0)} m {target}"
    return f"{feature} = {fr.num(value, 2)}"


def reasons(
    row: pd.Series,
    contrib: pd.Series,
    anomaly: float,
    means: pd.Series,
    n: int = 3,
    uncertain: frozenset[str] = frozenset(),
) -> list[dict]:
    """The ``n`` features pushing most in the direction of ``anomaly`` (°C, with descriptions).

    Features in ``uncertain`` (effects whose 90 % interval contains zero) are never given as reasons."""
    sign = 1.0 if anomaly >= 0 else -1.0
    ranked = (contrib * sign).sort_values(ascending=False)
    out = []
    for feat, push in ranked.items():
        if push <= 0.05 or len(out) >= n:
            break
        value = row.get(feat, np.nan)
        if pd.isna(value) or feat in uncertain:
            continue
        out.append(
            {
                "feature": feat,
                "contribution_c": float(contrib[feat]),
                "text": describe(feat, float(value), float(means[feat])),
            }
        )
    return out


def sentence(anomaly: float, items: list[dict]) -> str:
    """« Cet îlot est 3,2 °C plus chaud que la moyenne : … »."""
    if pd.isna(anomaly):
        return "Température de surface inconnue pour cet îlot (nuages ou hors de l'image)."
    if abs(anomaly) < NEUTRAL_C:
        return "Cet îlot est proche de la température de surface moyenne du territoire."
    direction = "plus chaud" if anomaly > 0 else "plus frais"
    head = f"Cet îlot est {fr.temp(abs(anomaly))} {direction} que la moyenne"
    if not items:
        return head + "."
    return f"{head} : {', '.join(i['text'] for i in items)}."


def compared_to_mean(value_c: float, mean_c: float, where: str = "de la ville") -> str:
    """« 2,1 °C plus chaud que la moyenne de la ville (40,3 °C) », or « comme la moyenne … » within
    :data:`NEUTRAL_C` (the same rule as :func:`sentence`)."""
    diff = value_c - mean_c
    if abs(diff) < NEUTRAL_C:
        return f"comme la moyenne {where} ({fr.temp(mean_c)})"
    warmer = "plus chaud" if diff > 0 else "plus frais"
    return f"{fr.temp(abs(diff))} {warmer} que la moyenne {where} ({fr.temp(mean_c)})"


def uncertain_effects(effects: dict) -> frozenset[str]:
    """Features whose effect's 90 % interval (``lo_c``, ``hi_c``) contains zero, or is unknown."""
    return frozenset(
        f
        for f, e in effects.items()
        if not (np.isfinite(e.get("lo_c", np.nan)) and np.isfinite(e.get("hi_c", np.nan)))
        or e["lo_c"] <= 0.0 <= e["hi_c"]
    )


def explain_blocks(
    model: LinearModel, table: pd.DataFrame, lst: pd.Series, n: int = 3, uncertain: frozenset[str] = frozenset()
) -> pd.DataFrame:
    """Anomaly (°C), top reasons and sentence for every block; ``lst`` is observed-or-predicted °C.
    Effects in ``uncertain`` (see :func:`uncertain_effects`) are never cited as reasons."""
    contrib = contributions(model, table)
    if model.inputs:
        # A share read through the sensor's footprint partly reflects the neighbours (a treeless block beside a
        # park): a reason is given only when the block's own value pushes the same way.
        own = contributions(replace(model, inputs={}), table)
        mapped = [f for f in model.inputs if f in contrib.columns]
        contrib[mapped] = contrib[mapped].where(np.sign(own[mapped]) == np.sign(contrib[mapped]), 0.0)
    anomaly = lst - lst.mean()
    means = table.reindex(columns=contrib.columns).mean()
    rows = []
    for bid in table.index:
        a = float(anomaly.loc[bid])
        items = reasons(table.loc[bid], contrib.loc[bid], a, means, n, uncertain) if np.isfinite(a) else []
        rows.append({"anomaly_c": a, "reasons": items, "explanation": sentence(a, items)})
    return pd.DataFrame(rows, index=table.index)
