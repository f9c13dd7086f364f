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
result says so. Where population data exist but not for a block (outside the grid, a table row
missing), that block's exposure is unknown: its score is ``NaN`` and its class 0, « non évaluable »,
never the score of an empty block (a block without data is not a block without residents).
Classes: très faible < 20 ≤ faible < 40 ≤ moyen < 60 ≤ élevé < 80 ≤ très élevé.
The score is monotone in the hazard. The references (−2/+3 °C, 150 hab/ha) are our choices; the
vulnerability references are calibrated on the territory (:func:`calibrate`: the share reached by its
10 % most elderly, or poorest, blocks), so that they rank blocks instead of capping most of them. None
is a published threshold; :func:`sensitivity` shows how the classes move with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CLASS_LABELS", "THRESHOLDS", "RiskParams", "hazard_anomaly", "risk_index", "risk_class", "calibrate",
           "sensitivity"]

CLASS_LABELS = {0: "non évaluable", 1: "très faible", 2: "faible", 3: "moyen", 4: "élevé", 5: "très élevé"}
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
        density = table["residents"].clip(lower=0) / (table["area_m2"] / 10_000.0)  # NaN: unknown, stays NaN
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
    n_unknown = int(out["risk_score"].isna().sum() - H.isna().sum()) if has_pop else 0
    return out, {"mode": mode, "params": p.__dict__, "thresholds": list(THRESHOLDS), "labels": CLASS_LABELS,
                 "n_population_unknown": n_unknown}


def calibrate(table: pd.DataFrame, params: RiskParams = RiskParams(), quantile: float = 0.9) -> RiskParams:
    """``params`` with the vulnerability references set to the territory's ``quantile`` of elderly and
    low-income shares (blocks with residents), so that about 10 % of blocks reach the cap."""
    from dataclasses import replace

    changes = {}
    for col, key in (("elderly_share", "elderly_ref"), ("low_income_share", "low_income_ref")):
        if col in table and table[col].notna().sum() >= 10:
            q = float(table[col].quantile(quantile))
            if q > 0:
                changes[key] = round(q, 3)
    return replace(params, **changes)


def sensitivity(table: pd.DataFrame, anomaly: pd.Series, params: RiskParams) -> dict:
    """How the index moves across plausible settings: hazard span (+2, +3, +4 °C), density reference (100,
    150, 250 hab/ha) and vulnerability references (±25 %). Returns the range of high-risk blocks (classes 4–5)
    and the smallest Kendall τ between a setting's scores and the chosen one's (1 = same ranking)."""
    from dataclasses import replace

    from scipy.stats import kendalltau

    base = risk_index(table, anomaly, params)[0]["risk_score"]
    counts, taus = [], []
    for high in (2.0, 3.0, 4.0):
        for dense in (100.0, 150.0, 250.0):
            for f in (0.75, 1.0, 1.25):
                p = replace(params, anomaly_high_c=high, dense_per_ha=dense, elderly_ref=params.elderly_ref * f,
                            low_income_ref=params.low_income_ref * f)
                score = risk_index(table, anomaly, p)[0]["risk_score"]
                counts.append(int((risk_class(score) >= 4).sum()))
                ok = base.notna() & score.notna()
                if ok.sum() > 2:
                    taus.append(float(kendalltau(base[ok], score[ok]).statistic))
    return {"n_settings": len(counts), "high_risk_blocks": [min(counts), max(counts)],
            "high_risk_blocks_chosen": int((risk_class(base) >= 4).sum()),
            "kendall_tau_min": min(taus) if taus else None}
