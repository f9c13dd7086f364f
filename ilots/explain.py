"""Per-block explanations from the linear model, in °C and in plain French.

The contribution of feature *j* to block *i* is ``coef_j × (x_ij − mean_j)``: how much that
feature moves the block's predicted surface temperature away from the territory average. The
sentence names the three features that push most in the direction of the block's observed
anomaly, e.g. « Cet îlot est 3,2 °C plus chaud que la moyenne : 85 % de surfaces
imperméables, 2 % d'arbres, bâtiments bas (6 m). »
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import fr
from .model import LinearModel

__all__ = ["contributions", "describe", "reasons", "sentence", "explain_blocks"]

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


def describe(feature: str, value: float, mean: float) -> str:
    """A short French description of a block's value for ``feature``."""
    if feature == "tree_frac":
        return f"{fr.pct(value)} d'arbres"
    if feature == "grass_frac":
        return f"{fr.pct(value)} d'herbe et d'arbustes"
    if feature == "water_frac":
        return f"{fr.pct(value)} d'eau"
    if feature == "bare_frac":
        return f"{fr.pct(value)} de sol nu"
    if feature == "impervious_frac":
        return f"{fr.pct(value)} de surfaces imperméables"
    if feature == "road_frac":
        return f"{fr.pct(value)} de chaussées"
    if feature == "building_coverage":
        return f"bâti {'dense' if value >= mean else 'aéré'} ({fr.pct(value)} d'emprise au sol)"
    if feature == "building_height_m":
        return f"bâtiments {'hauts' if value >= mean else 'bas'} ({fr.num(value, 0)} m)"
    if feature == "built_volume_m3_per_m2":
        return f"volume bâti {'élevé' if value >= mean else 'faible'} ({fr.num(value, 1)} m³/m²)"
    if feature == "ndvi_mean":
        return f"végétation {'dense' if value >= mean else 'peu active'} (NDVI {fr.num(value, 2)})"
    if feature == "dist_water_m":
        return "au bord de l'eau" if value < 1 else f"à {fr.num(value, 0)} m de l'eau"
    if feature == "dist_green_m":
        return "contre un grand espace vert" if value < 1 else f"à {fr.num(value, 0)} m d'un grand espace vert"
    return f"{feature} = {fr.num(value, 2)}"


def reasons(row: pd.Series, contrib: pd.Series, anomaly: float, means: pd.Series, n: int = 3) -> list[dict]:
    """The ``n`` features pushing most in the direction of ``anomaly`` (°C, with descriptions)."""
    sign = 1.0 if anomaly >= 0 else -1.0
    ranked = (contrib * sign).sort_values(ascending=False)
    out = []
    for feat, push in ranked.items():
        if push <= 0.05 or len(out) >= n:
            break
        value = row.get(feat, np.nan)
        if pd.isna(value):
            continue
        out.append({"feature": feat, "contribution_c": float(contrib[feat]), "text": describe(feat, float(value), float(means[feat]))})
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


def explain_blocks(model: LinearModel, table: pd.DataFrame, lst: pd.Series, n: int = 3) -> pd.DataFrame:
    """Anomaly (°C), top reasons and sentence for every block; ``lst`` is observed-or-predicted °C."""
    contrib = contributions(model, table)
    anomaly = lst - lst.mean()
    means = table.reindex(columns=contrib.columns).mean()
    rows = []
    for bid in table.index:
        a = float(anomaly.loc[bid])
        items = reasons(table.loc[bid], contrib.loc[bid], a, means, n) if np.isfinite(a) else []
        rows.append({"anomaly_c": a, "reasons": items, "explanation": sentence(a, items)})
    return pd.DataFrame(rows, index=table.index)
