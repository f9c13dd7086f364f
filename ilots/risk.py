"""Heat-risk index per block: hazard × exposure × vulnerability, a 0–100 score and five classes.

- **Hazard** ``H``: the block's surface-temperature anomaly ``a`` against the territory median
  (observed where at least half of the block has valid pixels, predicted where clouded), mapped
  linearly from −2 °C (H = 0) to +3 °C (H = 1): block means are smooth (the thermal band's native
  resolution is ~100 m), and +3 °C is about the 99th percentile of block anomalies in Lyon on
  14 July 2022.
- **Exposure** ``E``: residents per hectare on a log scale, ``log(1 + d) / log(1 + 150)``, capped
  at 1 (150 inhabitants/ha is a dense city centre).
- **Vulnerability** ``V``: ``0.6 + 0.4 × mean(elderly share / 0.30, low-income share / 0.40)``
  (each capped at 1, using what the population source provides), so vulnerability amplifies the
  risk but never erases it.

``score = 100 × H × (0.25 + 0.75 × E) × V``: a hot block where nobody lives keeps a low score,
since the index is about people. Without population data, ``score = 100 × H`` (hazard only) and the
result says so. Classes: très faible < 20 ≤ faible < 40 ≤ moyen < 60 ≤ élevé < 80 ≤ très élevé.
The score is monotone in the hazard. The references (−2/+3 °C, 150 hab/ha, 30 %, 40 %) are our
choices, documented here and in the model card, not published thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CLASS_LABELS", "THRESHOLDS", "RiskParams", "hazard_anomaly", "risk_index", "risk_class"]

CLASS_LABELS = {1: "très faible", 2: "faible", 3: "moyen", 4: "élevé", 5: "très élevé"}
THRESHOLDS = (20.0, 40.0, 60.0, 80.0)


@dataclass(frozen=True)
class RiskParams:
    anomaly_low_c: float = -2.0
    anomaly_high_c: float = 3.0
    dense_per_ha: float = 150.0
    elderly_ref: float = 0.30
    low_income_ref: float = 0.40
    exposure_floor: float = 0.25
    vulnerability_floor: float = 0.6


def hazard_anomaly(observed: pd.Series, predicted: pd.Series, valid_frac: pd.Series, min_valid: float = 0.5,
                   reference_c: float | None = None) -> tuple[pd.Series, float, pd.Series]:
    """(anomaly °C, reference median °C, source "observed"/"predicted") per block."""
    use_obs = observed.notna() & (valid_frac >= min_valid)
    lst = observed.where(use_obs, predicted)
    ref = float(lst.median()) if reference_c is None else reference_c
    source = pd.Series(np.where(use_obs, "observed", "predicted"), index=observed.index)
    return lst - ref, ref, source


def risk_class(score: np.ndarray | pd.Series) -> np.ndarray:
    """Class 1–5 from the 0–100 score (NaN score → class 0, unknown)."""
    s = np.asarray(score, dtype="float64")
    cls = np.digitize(s, THRESHOLDS) + 1
    return np.where(np.isnan(s), 0, cls).astype("int8")


def risk_index(table: pd.DataFrame, anomaly: pd.Series, params: RiskParams = RiskParams()) -> tuple[pd.DataFrame, dict]:
    """Score, class and components for each block; and a note on what the index could use.

    ``table`` holds ``area_m2`` and, if known, ``residents``, ``elderly_share``, ``low_income_share``.
    """
    p = params
    H = ((anomaly - p.anomaly_low_c) / (p.anomaly_high_c - p.anomaly_low_c)).clip(0, 1)
    has_pop = "residents" in table and table["residents"].notna().any()
    out = pd.DataFrame(index=table.index)
    out["hazard"] = H
    if has_pop:
        density = table["residents"].fillna(0).clip(lower=0) / (table["area_m2"] / 10_000.0)
        E = (np.log1p(density) / np.log1p(p.dense_per_ha)).clip(0, 1)
        comps = []
        if "elderly_share" in table and table["elderly_share"].notna().any():
            comps.append((table["elderly_share"] / p.elderly_ref).clip(0, 1))
        if "low_income_share" in table and table["low_income_share"].notna().any():
            comps.append((table["low_income_share"] / p.low_income_ref).clip(0, 1))
        if comps:
            vmean = pd.concat(comps, axis=1).mean(axis=1).fillna(0.5)
            V = p.vulnerability_floor + (1 - p.vulnerability_floor) * vmean
        else:
            V = pd.Series(1.0, index=table.index)
        out["exposure"] = E
        out["vulnerability"] = V
        out["risk_score"] = 100 * H * (p.exposure_floor + (1 - p.exposure_floor) * E) * V
        mode = "aléa × exposition × vulnérabilité" if comps else "aléa × exposition"
    else:
        out["risk_score"] = 100 * H
        mode = "aléa seul (pas de données de population)"
    out["risk_class"] = risk_class(out["risk_score"])
    return out, {"mode": mode, "params": p.__dict__, "thresholds": list(THRESHOLDS), "labels": CLASS_LABELS}
