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

__all__ = [
    "CLASS_LABELS",
    "THRESHOLDS",
    "RiskParams",
    "hazard_anomaly",
    "risk_index",
    "risk_class",
    "calibrate",
    "sensitivity",
    "RiskDraws",
    "risk_draws",
    "block_uncertainty_c",
    "RISK_COLOURS",
    "NO_DATA_COLOUR",
    "HighRiskResidents",
    "high_risk_residents",
]

CLASS_LABELS = {0: "non évaluable", 1: "très faible", 2: "faible", 3: "moyen", 4: "élevé", 5: "très élevé"}
THRESHOLDS = (20.0, 40.0, 60.0, 80.0)
# ColorBrewer YlOrRd (colour-blind safe, prints in grey levels in order); grey for « non évaluable » / no data.
NO_DATA_COLOUR = "#bdbdbd"
RISK_COLOURS = {1: "#ffffb2", 2: "#fecc5c", 3: "#fd8d3c", 4: "#f03b20", 5: "#bd0026", 0: NO_DATA_COLOUR}


@dataclass(frozen=True)
class RiskParams:
    anomaly_low_c: float = -2.0
    anomaly_high_c: float = 3.0
    dense_per_ha: float = 150.0
    elderly_ref: float = 0.30
    low_income_ref: float = 0.40
    exposure_floor: float = 0.25
    vulnerability_floor: float = 0.6


def hazard_anomaly(
    observed: pd.Series,
    predicted: pd.Series,
    valid_frac: pd.Series,
    min_valid: float = 0.5,
    reference_c: float | None = None,
) -> tuple[pd.Series, float, pd.Series]:
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
    return out, {
        "mode": mode,
        "params": p.__dict__,
        "thresholds": list(THRESHOLDS),
        "labels": CLASS_LABELS,
        "n_population_unknown": n_unknown,
    }


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
                p = replace(
                    params,
                    anomaly_high_c=high,
                    dense_per_ha=dense,
                    elderly_ref=params.elderly_ref * f,
                    low_income_ref=params.low_income_ref * f,
                )
                score = risk_index(table, anomaly, p)[0]["risk_score"]
                counts.append(int((risk_class(score) >= 4).sum()))
                ok = base.notna() & score.notna()
                if ok.sum() > 2:
                    taus.append(float(kendalltau(base[ok], score[ok]).statistic))
    return {
        "n_settings": len(counts),
        "high_risk_blocks": [min(counts), max(counts)],
        "high_risk_blocks_chosen": int((risk_class(base) >= 4).sum()),
        "kendall_tau_min": min(taus) if taus else None,
    }


# -- uncertainty of the classes ------------------------------------------------------------------------
N_DRAWS = 200
# A block's observed mean LST is not exact: Landsat's ~1 °C pixel accuracy averages down over a block's
# pixels but its ~100 m footprint does not [our estimate: 0.3 °C], and dates disagree by their spread.
OBSERVED_SD_FLOOR_C = 0.3


def block_uncertainty_c(source: pd.Series, spread_c: pd.Series | None, model_rmse_c: float) -> pd.Series:
    """Per-block standard deviation (°C) of the temperature the hazard uses: the model's spatial-CV RMSE where
    it is predicted (clouded), else half the spread between dates, at least :data:`OBSERVED_SD_FLOOR_C`."""
    observed = source == "observed"
    spread = spread_c if spread_c is not None else pd.Series(np.nan, index=source.index)
    sd_obs = np.maximum(OBSERVED_SD_FLOOR_C, np.nan_to_num(spread.to_numpy(dtype="float64") / 2.0))
    return pd.Series(np.where(observed, sd_obs, model_rmse_c), index=source.index)


@dataclass
class RiskDraws:
    """Draws of the index's inputs, fixed once per territory so that before/after comparisons share them:
    temperature errors (``noise_c``, draws × blocks) and index settings (one row of parameters per draw)."""

    noise_c: np.ndarray
    anomaly_high_c: np.ndarray
    dense_per_ha: np.ndarray
    ref_factor: np.ndarray
    params: RiskParams

    def hazard(self, anomaly: np.ndarray) -> np.ndarray:
        """Hazard (draws × blocks, 0–1) of ``anomaly`` (°C per block) plus each draw's error, with each draw's span."""
        p = self.params
        a = np.asarray(anomaly, dtype="float32")[None, :] + self.noise_c
        high = self.anomaly_high_c[:, None].astype("float32")
        return np.clip((a - p.anomaly_low_c) / (high - p.anomaly_low_c), 0.0, 1.0)

    def people(self, table: pd.DataFrame) -> np.ndarray | float:
        """The exposure × vulnerability factor (draws × blocks) with each draw's settings, 1 without population;
        NaN where the exposure is unknown. ``100 × hazard × people`` is :func:`risk_index`'s score."""
        p = self.params
        if "residents" not in table or not table["residents"].notna().any():
            return 1.0
        density = (table["residents"].clip(lower=0) / (table["area_m2"] / 10_000.0)).to_numpy(dtype="float32")
        E = np.clip(np.log1p(density)[None, :] / np.log1p(self.dense_per_ha.astype("float32"))[:, None], 0.0, 1.0)
        comps = []
        for col, ref in (("elderly_share", p.elderly_ref), ("low_income_share", p.low_income_ref)):
            if col in table and table[col].notna().any():
                comps.append(
                    np.clip(
                        table[col].to_numpy(dtype="float32")[None, :]
                        / (ref * self.ref_factor.astype("float32")[:, None]),
                        0,
                        1,
                    )
                )
        if comps:
            if len(comps) > 1:
                stacked = np.stack(comps)
                n_ok = np.isfinite(stacked).sum(axis=0)
                vmean = np.where(n_ok > 0, np.nansum(stacked, axis=0) / np.maximum(n_ok, 1), np.nan)
            else:
                vmean = comps[0]
            V = p.vulnerability_floor + (1 - p.vulnerability_floor) * np.where(np.isnan(vmean), 0.5, vmean)
        else:
            V = 1.0
        return (p.exposure_floor + (1 - p.exposure_floor) * E) * V

    def at(self, cols: np.ndarray) -> RiskDraws:
        """The same draws restricted to the blocks at positions ``cols`` (same settings, same errors)."""
        from dataclasses import replace

        return replace(self, noise_c=self.noise_c[:, cols])

    def scores(self, table: pd.DataFrame, anomaly: np.ndarray) -> np.ndarray:
        """Risk scores (draws × blocks) of ``anomaly`` plus each draw's error, with each draw's settings."""
        return 100.0 * self.hazard(anomaly) * self.people(table)


def risk_draws(sd_c: pd.Series, params: RiskParams, n: int = N_DRAWS, seed: int = 0) -> RiskDraws:
    """Draws of block temperature errors (normal, per-block ``sd_c``) and of index settings (uniform over the
    ranges of :func:`sensitivity`: hazard span +2 to +4 °C, 100 to 250 residents per ha, references ±25 %)."""
    rng = np.random.default_rng(seed)
    sd = sd_c.to_numpy(dtype="float64")
    return RiskDraws(
        noise_c=(rng.normal(size=(n, len(sd))) * sd[None, :]).astype("float32"),
        anomaly_high_c=rng.uniform(2.0, 4.0, n),
        dense_per_ha=rng.uniform(100.0, 250.0, n),
        ref_factor=rng.uniform(0.75, 1.25, n),
        params=params,
    )


@dataclass(frozen=True)
class HighRiskResidents:
    """Residents of the blocks in the high classes (« élevé », « très élevé »): the expected count over the
    draws of temperature error and index settings, and its 90 % interval (5th–95th percentile of the draws)."""

    expected: float
    low: float
    high: float
    n_draws: int


def high_risk_residents(
    table: pd.DataFrame, model_table: pd.DataFrame, risk_meta: dict, level: float = 0.9
) -> HighRiskResidents | None:
    """How many residents are in high risk, with the uncertainty of the fit's own draws (same seed and per-block
    SD as ``p_high_risk``, so ``expected`` equals the sum of residents × ``p_high_risk``).

    ``table``: block attributes (``residents``, ``area_m2``, shares); ``model_table``: the fit's per-block table
    (``lst_sd_c``, ``anomaly_c``, ``risk_score``); ``risk_meta``: the model's ``risk`` note (its ``params``).
    ``None`` when the territory has no population data or the model predates the draws."""
    if "residents" not in table or not table["residents"].notna().any() or "lst_sd_c" not in model_table:
        return None
    draws = risk_draws(model_table["lst_sd_c"], RiskParams(**risk_meta["params"]))
    scores = draws.scores(table, model_table["anomaly_c"].to_numpy(dtype="float64"))
    known = np.isfinite(model_table["risk_score"].to_numpy(dtype="float64"))
    weights = np.where(known, table["residents"].fillna(0).to_numpy(dtype="float64"), 0.0)
    counts = ((scores >= THRESHOLDS[2]) * weights[None, :]).sum(axis=1)
    tail = (1.0 - level) / 2.0
    return HighRiskResidents(
        float(counts.mean()), float(np.quantile(counts, tail)), float(np.quantile(counts, 1 - tail)), len(counts)
    )
