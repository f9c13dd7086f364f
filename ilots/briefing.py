"""The one-page A4 briefing for elected officials, as a PDF generated offline with matplotlib.

A map of heat risk, three key figures, today compared with the chosen scenario, model accuracy,
sources and dates, and the limits of surface temperature, in French.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
import textwrap

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd

from . import fr
from .maps import RISK_COLOURS
from .risk import CLASS_LABELS

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

__all__ = ["briefing_pdf"]

A4 = (8.27, 11.69)


_ROLE_LABELS = {
    "bdtopo": "BD TOPO (IGN)", "buildings": "bâtiments fournis", "landcover": "occupation du sol",
    "ndvi": "indice de végétation", "population": "population (INSEE)", "blocks": "îlots fournis",
}


def _sources_text(manifest: dict, dates: str) -> str:
    if manifest.get("synthetic"):
        return "données synthétiques générées par Îlots (ville fictive)"
    roles = [s["role"] for s in manifest.get("sources", [])]
    parts = [f"température de surface Landsat (USGS, {dates})"]
    parts += [_ROLE_LABELS[r] for r in dict.fromkeys(roles) if r in _ROLE_LABELS]
    return " ; ".join(parts)


def residents_text(manifest: dict) -> str:
    """What « habitants » counts in this territory: the column and file it comes from, or that it is unknown."""
    pops = [p for p in manifest.get("population", []) if p.get("columns", {}).get("residents")]
    if not pops:
        return "« habitants » : inconnu (aucune donnée de population)"
    p = pops[0]
    return (f"« habitants » : colonne « {p['columns']['residents']} » de {Path(p['path']).name}, tels que la source "
            "les compte (par exemple la population de 15 ans ou plus dans certains tableaux IRIS)")


def _figure_box(fig, x, y, value: str, label: str) -> None:
    fig.text(x, y, value, fontsize=22, fontweight="bold", color="#b2182b", ha="left")
    fig.text(x, y - 0.022, "\n".join(textwrap.wrap(label, 30)), fontsize=8.5, color="#333333", ha="left", va="top")


def briefing_pdf(
    name: str,
    blocks: gpd.GeoDataFrame,
    model_meta: dict,
    model_table: pd.DataFrame,
    manifest: dict,
    scenario: dict | None = None,
    scenario_blocks: pd.DataFrame | None = None,
) -> bytes:
    """One-page PDF (bytes). ``scenario`` is a scenario summary, ``scenario_blocks`` its per-block table."""
    risk = model_table["risk_class"]
    residents = blocks["residents"] if "residents" in blocks else pd.Series(np.nan, index=blocks.index)
    known = residents.notna().any()  # without population data the count is unknown, never 0
    if known and "p_high_risk" in model_table:  # expected count over the temperature's error and index settings
        high = float((residents * model_table["p_high_risk"]).sum())
    else:
        high = float(residents[risk >= 4].sum()) if known else None
    lst = model_table["lst_used_c"]
    spatial = model_meta["metrics"]["spatial_cv"]
    dates = fr.dates_fr(manifest.get("acquisition_dates", []))
    synthetic = manifest.get("synthetic", False)

    fig = plt.figure(figsize=A4)
    fig.text(0.06, 0.955, f"Îlots de chaleur — {name}", fontsize=17, fontweight="bold")
    sub = f"Température de surface mesurée par satellite (Landsat) {dates}, vers 11 h solaire"
    fig.text(0.06, 0.932, sub, fontsize=9.5, color="#444444")
    if synthetic:
        fig.text(0.06, 0.915, "DONNÉES SYNTHÉTIQUES — ville fictive de démonstration", fontsize=9.5,
                 color="#b2182b", fontweight="bold")

    ax = fig.add_axes([0.06, 0.44, 0.56, 0.46])
    colours = risk.reindex(blocks.index).fillna(0).astype(int).map(RISK_COLOURS)
    blocks.plot(ax=ax, color=colours.to_numpy(), edgecolor="#666666", linewidth=0.15)
    ax.set_axis_off()
    ax.set_title("Risque de chaleur par îlot", fontsize=11, loc="left")
    handles = [Patch(facecolor=RISK_COLOURS[k], edgecolor="#666666", label=v) for k, v in CLASS_LABELS.items()]
    ax.legend(handles=handles, loc="lower right", fontsize=7.5, frameon=True, title="Classe", title_fontsize=8)
    xmin, ymin, xmax, ymax = blocks.total_bounds
    bar = 10 ** np.floor(np.log10((xmax - xmin) / 4))
    ax.plot([xmin, xmin + bar], [ymin - (ymax - ymin) * 0.03] * 2, color="black", lw=2)
    ax.text(xmin, ymin - (ymax - ymin) * 0.06, f"{fr.num(bar / 1000, 1)} km" if bar >= 1000 else f"{fr.num(bar, 0)} m",
            fontsize=7)

    _figure_box(fig, 0.66, 0.86, fr.temp(lst.mean()), "température de surface moyenne des îlots")
    _figure_box(fig, 0.66, 0.76, fr.num(high, 0), "habitants en risque élevé ou très élevé (nombre attendu compte tenu "
                "de l'incertitude)" if "p_high_risk" in model_table else "habitants dans des îlots à risque élevé ou très élevé")
    hot = (model_table["anomaly_c"] >= 2).sum()
    _figure_box(fig, 0.66, 0.66, fr.num(hot, 0), "îlots à plus de 2 °C au-dessus de la médiane du territoire")
    fig.text(0.66, 0.56, "Fiabilité du modèle", fontsize=9, fontweight="bold")
    fig.text(0.66, 0.545, "\n".join(textwrap.wrap(
        f"Validation spatiale : erreur moyenne {fr.temp(spatial['rmse_c'])}, {fr.num(spatial['r2'] * 100, 0)} % "
        f"des écarts entre îlots expliqués (quartiers entiers mis de côté pour le test).", 38)),
        fontsize=8, va="top")

    ax2 = fig.add_axes([0.06, 0.2, 0.88, 0.19])
    ax2.set_axis_off()
    ax2.set_title("Aujourd'hui et avec le scénario", fontsize=11, loc="left")
    if scenario is not None:
        lo, hi = scenario.get("delta_mean_interval_c") or [None, None]
        interval = f" (entre {fr.temp(lo, 1, True)} et {fr.temp(hi, 1, True)})" if lo is not None else ""
        olo, ohi = scenario.get("residents_out_of_high_risk_interval") or [None, None]
        out_txt = (f"{fr.num(scenario['residents_out_of_high_risk'], 0)} (de {fr.num(olo, 0)} à {fr.num(ohi, 0)})"
                   if olo is not None else fr.num(scenario.get("residents_out_of_high_risk"), 0))
        rows = [
            ["", "Aujourd'hui", f"Scénario « {scenario['name']} »"],
            ["Îlots concernés", "—", fr.num(scenario["n_blocks_changed"], 0)],
            ["Temp. de surface des îlots concernés", "—", f"{fr.temp(scenario['delta_mean_c'], 1, True)}{interval}"],
            ["Degrés·habitants évités (habitants × °C)", "—", fr.num(scenario.get("person_degrees_avoided"), 0)],
            ["Habitants sortis du risque élevé (90 %)", fr.num(high, 0) + " en risque", out_txt],
            ["Surfaces traitées", "—", f"{fr.num(sum(scenario['m2'].values()) / 10_000, 1)} ha"],
            ["Coût estimé", "—", f"{fr.num(scenario['cost_eur'] / 1e6, 1)} M€"],
        ]
        if scenario.get("delta_air_mean_c") is not None:
            rows.insert(3, ["Revêtements réfléchissants (temp. de l'air, publié)", "—",
                            fr.temp(scenario["delta_air_mean_c"], 2, True)])
        notes = [band["note"] for band in scenario.get("sanity", {}).values() if band.get("note")]
        if notes:
            ax2.text(0, -0.05, "\n".join(textwrap.wrap(notes[0], 120)), fontsize=7, va="top", color="#8a3b00",
                     transform=ax2.transAxes)
        table = ax2.table(cellText=rows, loc="upper left", cellLoc="left", colWidths=[0.42, 0.2, 0.38])
        table.auto_set_font_size(False)
        table.set_fontsize(8.5)
        table.scale(1, 1.35)
    else:
        ax2.text(0, 0.8, "Aucun scénario choisi : préparez-en un dans la page « Scénarios ».", fontsize=9)

    sources = (
        f"Sources : {_sources_text(manifest, dates)}. "
        f"Modèle : {'régression ridge' if model_meta['chosen'] == 'ridge' else 'gradient boosting'} sur "
        f"{model_meta['training']['n_train']} îlots, validation spatiale par tuiles de "
        f"{fr.num(model_meta['folds']['tile_m'], 0)} m. Limites : température des surfaces (toits, sols, végétation) "
        f"de jour, vers 11 h solaire, {dates}, "
        "pas celle de l'air ni de la nuit ; un chiffre d'îlot est une moyenne sur l'îlot (hors eau), pas la "
        "température de chaque logement ; résolution thermique d'environ 100 m ; effets estimés par association, à "
        f"confirmer sur le terrain ; {residents_text(manifest)}. Refroidissement des arbres publié : environ −0,6 °C "
        "de température de surface pour +10 % de couvert (Yang et al. 2022)."
    )
    fig.text(0.06, 0.165, "\n".join(textwrap.wrap(sources, 125)), fontsize=7, va="top", color="#333333")
    fig.text(0.06, 0.03, f"Îlots — outil libre de diagnostic des îlots de chaleur. Édité le {fr.date_fr(dt.date.today())}.",
             fontsize=7, color="#666666")
    buf = io.BytesIO()
    with PdfPages(buf, metadata={"Title": f"Îlots de chaleur — {name}", "Creator": "Îlots"}) as pdf:
        pdf.savefig(fig)
    plt.close(fig)
    return buf.getvalue()
