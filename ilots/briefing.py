"""The one-page A4 briefing for elected officials, as a PDF generated offline with matplotlib.

A map of heat risk with place names (today and, for a scenario, with it, side by side), three key figures
with their uncertainty, today compared with the scenario, model accuracy, and a sources-and-limits footer,
in French. The page is laid out on fixed bands (top to bottom: title, maps, legend, figures, table, footer)
whose text is wrapped and shrunk to fit, so that no two text boxes overlap whatever the names and numbers
(checked on the rendered PDF by the tests).
"""

from __future__ import annotations

import datetime as dt
import io
import textwrap
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages

from . import fr
from .risk import high_risk_residents
from .staticmap import (
    class_colours,
    draw_blocks,
    draw_place_names,
    draw_scale_bar,
    new_figure,
    place_labels,
    renderer_of,
    risk_legend,
    sources_text,
)

__all__ = ["briefing_pdf"]

A4 = (8.27, 11.69)


def residents_text(manifest: dict) -> str:
    """What « habitants » counts in this territory: the column and file it comes from, or that it is unknown."""
    pops = [p for p in manifest.get("population", []) if p.get("columns", {}).get("residents")]
    if not pops:
        return "« habitants » : inconnu (aucune donnée de population)"
    p = pops[0]
    return (
        f"« habitants » : colonne « {p['columns']['residents']} » de {Path(p['path']).name}, tels que la source "
        "les compte (par exemple la population de 15 ans ou plus dans certains tableaux IRIS)"
    )


def _fit_text(fig, x: float, y: float, text: str, width: float, size: float, min_size: float = 9.0, **kw):
    """Text at (x, y) in figure fraction, shrunk from ``size`` to at most ``min_size`` points, then cut with an
    ellipsis, so that it is at most ``width`` (figure fraction) wide."""
    renderer = renderer_of(fig)
    art = fig.text(x, y, text, fontsize=size, **kw)
    limit = width * fig.bbox.width
    while art.get_window_extent(renderer).width > limit and art.get_fontsize() > min_size:
        art.set_fontsize(art.get_fontsize() - 0.5)
    while art.get_window_extent(renderer).width > limit and len(art.get_text()) > 4:
        art.set_text(art.get_text()[:-2].rstrip() + "…")
    return art


def _fit_cells(fig, table) -> None:
    """Cut with an ellipsis any cell text wider than its cell (a long scenario name), keeping a closing « »."""
    renderer = renderer_of(fig)
    for cell in table.get_celld().values():
        text = cell.get_text()
        full = text.get_text()
        closing = " »" if full.endswith(" »") else ""
        core = full[: len(full) - len(closing)]
        room = cell.get_window_extent(renderer).width * (1 - 2 * cell.PAD)
        keep = len(core)
        while text.get_window_extent(renderer).width > room and keep > 4:
            keep -= 1
            text.set_text(core[:keep].rstrip() + "…" + closing)


def _height(lines: int, size_pt: float, spacing: float = 1.2) -> float:
    """Height of ``lines`` lines of ``size_pt`` text, as a fraction of the A4 page height."""
    return lines * size_pt * spacing / 72.0 / A4[1]


def _scenario_rows(scenario: dict, high) -> tuple[list[list[str]], list[str]]:
    """The rows of the today-versus-scenario table, and the notes of published references it contradicts."""
    lo, hi = scenario.get("delta_mean_interval_c") or [None, None]
    interval = f" (de {fr.temp(lo, 1, True)} à {fr.temp(hi, 1, True)})" if lo is not None else ""
    olo, ohi = scenario.get("residents_out_of_high_risk_interval") or [None, None]
    out_txt = (
        f"{fr.num(scenario['residents_out_of_high_risk'], 0)} (de {fr.num(olo, 0)} à {fr.num(ohi, 0)})"
        if olo is not None
        else fr.num(scenario.get("residents_out_of_high_risk"), 0)
    )
    today_high = (
        f"{fr.num(high.expected, 0)} (de {fr.num(high.low, 0)} à {fr.num(high.high, 0)})" if high else "inconnu"
    )
    rows = [
        ["", "Aujourd'hui", f"Scénario « {textwrap.shorten(scenario['name'], 34, placeholder='…')} »"],
        ["Îlots concernés", "—", fr.num(scenario["n_blocks_changed"], 0)],
        ["Temp. de surface des îlots concernés", "—", f"{fr.temp(scenario['delta_mean_c'], 1, True)}{interval}"],
        ["Degrés·habitants évités (hab. × °C)", "—", fr.num(scenario.get("person_degrees_avoided"), 0)],
        ["Habitants en risque élevé (90 %)", today_high, "—"],
        ["Habitants sortis du risque élevé (90 %)", "—", out_txt],
        ["Surfaces traitées", "—", f"{fr.num(sum(scenario['m2'].values()) / 10_000, 1)} ha"],
        ["Coût estimé", "—", f"{fr.num(scenario['cost_eur'] / 1e6, 1)} M€"],
    ]
    if scenario.get("delta_air_mean_c") is not None:
        rows.insert(
            3, ["Revêtements réfléchissants (temp. de l'air)", "—", fr.temp(scenario["delta_air_mean_c"], 2, True)]
        )
    notes = [band["note"] for band in scenario.get("sanity", {}).values() if band.get("note")]
    return rows, notes


def _risk_map(fig, rect, title: str, blocks: gpd.GeoDataFrame, classes: pd.Series, labels, outline=None) -> None:
    ax = fig.add_axes(rect)
    draw_blocks(ax, blocks, class_colours(classes.reindex(blocks.index)), outline=outline)
    draw_scale_bar(ax, blocks, fontsize=6.5)
    draw_place_names(ax, labels, fontsize=6.5 if rect[2] < 0.5 else 7.5)
    fig.text(rect[0], rect[1] + rect[3] + 0.006, title, fontsize=10, fontweight="bold", va="bottom")


def _high_text(high) -> tuple[str, str]:
    if high is None:
        return "inconnu", "habitants en risque élevé : pas de données de population sur ce territoire"
    return (
        fr.num(high.expected, 0),
        f"habitants en risque élevé ou très élevé (nombre attendu ; 90 % de chances "
        f"entre {fr.num(high.low, 0)} et {fr.num(high.high, 0)})",
    )


def briefing_pdf(
    name: str,
    blocks: gpd.GeoDataFrame,
    model_meta: dict,
    model_table: pd.DataFrame,
    manifest: dict,
    scenario: dict | None = None,
    scenario_blocks: pd.DataFrame | None = None,
    streets: gpd.GeoDataFrame | None = None,
    places_line: str | None = None,
) -> bytes:
    """One-page PDF (bytes). ``scenario`` is a scenario summary, ``scenario_blocks`` its per-block table
    (:meth:`ilots.scenarios.ScenarioEngine.apply`); ``streets`` the territory's named streets and communes
    (:meth:`ilots.store.Territory.streets`), used with the blocks' own names for the place names on the map;
    ``places_line`` a sentence on the sensitive facilities in the hottest blocks
    (:func:`ilots.facilities.hot_facilities_sentence`)."""
    risk = model_table["risk_class"]
    table_attrs = pd.DataFrame(blocks.drop(columns=blocks.geometry.name))
    high = high_risk_residents(table_attrs, model_table, model_meta["risk"])
    lst = model_table["lst_used_c"]
    spatial = model_meta["metrics"]["spatial_cv"]
    dates = fr.dates_fr(manifest.get("acquisition_dates", []))
    synthetic = manifest.get("synthetic", False)
    with_scenario = scenario is not None and scenario_blocks is not None

    # Text first, then the page laid out from the bottom up: the footer, the table and the figures take the
    # height their text needs and the maps take the rest, so there is no empty band and nothing overlaps.
    sources = (
        f"Sources : {sources_text(manifest, dates)}. "
        f"Modèle : {'régression ridge' if model_meta['chosen'] == 'ridge' else 'gradient boosting'} sur "
        f"{fr.num(model_meta['training']['n_train'], 0)} îlots, validation spatiale par tuiles de "
        f"{fr.num(model_meta['folds']['tile_m'], 0)} m. {residents_text(manifest)}."
    )
    limits = (
        "Limites : température des surfaces (toits, sols, végétation) de jour, vers 11 h solaire, "
        f"{dates}, pas celle de l'air ni de la nuit ; un chiffre d'îlot est une moyenne sur l'îlot (hors eau), pas la "
        "température de chaque logement ; résolution thermique d'environ 100 m ; effets estimés par association, à "
        "confirmer sur le terrain ; les intervalles à 90 % tiennent compte de l'erreur du modèle et des réglages de "
        "l'indice de risque. Refroidissement des arbres publié : environ −0,6 °C de température de surface pour "
        "+10 % de couvert (Yang et al. 2022)."
    )
    footer = textwrap.wrap(sources, 150) + textwrap.wrap(limits, 150)
    rows, notes = _scenario_rows(scenario, high) if with_scenario else ([], [])
    reliability = textwrap.wrap(
        f"Fiabilité du modèle — validation spatiale (quartiers entiers mis de côté) : erreur moyenne "
        f"{fr.temp(spatial['rmse_c'])}, {fr.num(spatial['r2'] * 100, 0)} % des écarts entre îlots expliqués.",
        130,
    ) + (textwrap.wrap(places_line, 130) if places_line else [])

    fig = new_figure(A4)
    _fit_text(fig, 0.06, 0.962, f"Îlots de chaleur — {name}", 0.88, 17, min_size=12, fontweight="bold", va="top")
    sub = f"Température de surface mesurée par satellite (Landsat) {dates}, vers 11 h solaire"
    _fit_text(fig, 0.06, 0.933, sub, 0.88, 9.5, min_size=7.5, color="#444444", va="top")
    header_bottom = 0.915
    if synthetic:
        fig.text(
            0.06,
            0.915,
            "DONNÉES SYNTHÉTIQUES — ville fictive de démonstration",
            fontsize=9.5,
            color="#b2182b",
            fontweight="bold",
            va="top",
        )
        header_bottom = 0.897

    # -- sources and limits (bottom) ----------------------------------------------------------------
    fig.text(
        0.06,
        0.018,
        f"Îlots — outil libre de diagnostic des îlots de chaleur. Édité le {fr.date_fr(dt.date.today())}.",
        fontsize=7,
        color="#666666",
    )
    y = 0.04 + _height(len(footer), 6.8, 1.3)
    fig.text(0.06, y, "\n".join(footer), fontsize=6.8, va="top", color="#333333", linespacing=1.3)
    y += 0.006
    fig.text(0.06, y, "Sources et limites", fontsize=8.5, fontweight="bold", va="bottom")
    y += _height(1, 8.5) + 0.02

    # -- today and with the scenario ----------------------------------------------------------------
    if with_scenario:
        if notes:
            note = textwrap.wrap(notes[0], 150)[:3]
            y += _height(len(note), 7)
            fig.text(0.06, y, "\n".join(note), fontsize=7, va="top", color="#8a3b00")
            y += 0.006
        row_h = 0.021
        ax2 = fig.add_axes((0.06, y, 0.88, row_h * len(rows)))
        ax2.set_axis_off()
        table = ax2.table(cellText=rows, cellLoc="left", colWidths=[0.37, 0.28, 0.35], bbox=(0, 0, 1, 1))
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        for (r, _c), cell in table.get_celld().items():
            cell.set_edgecolor("#999999")
            cell.PAD = 0.02
            if r == 0:
                cell.set_text_props(fontweight="bold")
        _fit_cells(fig, table)
        y += row_h * len(rows) + 0.008
    else:
        hint = textwrap.wrap(
            "Aucun scénario choisi : réglez des interventions (arbres, désimperméabilisation, toits) "
            "sur la page « Scénarios », puis choisissez-le sur la page « Briefing ».",
            110,
        )
        fig.text(0.06, y, "\n".join(hint), fontsize=9, va="bottom")
        y += _height(len(hint), 9) + 0.008
    fig.text(0.06, y, "Aujourd'hui et avec le scénario", fontsize=11, fontweight="bold", va="bottom")
    y += _height(1, 11) + 0.022

    # -- model reliability and three figures --------------------------------------------------------
    fig.text(0.06, y, "\n".join(reliability), fontsize=8, va="bottom")
    y += _height(len(reliability), 8) + 0.018
    q5, q95 = (float(v) for v in lst.quantile([0.05, 0.95])) if lst.notna().any() else (np.nan, np.nan)
    hot = int((model_table["anomaly_c"] >= 2).sum())
    boxes = [
        (
            fr.temp(lst.mean()),
            f"température de surface moyenne des îlots ; 90 % d'entre eux entre {fr.temp(q5)} et {fr.temp(q95)}",
        ),
        _high_text(high),
        (
            fr.num(hot, 0),
            f"îlots sur {fr.num(len(model_table), 0)} à plus de 2 °C au-dessus de la médiane du territoire",
        ),
    ]
    wrapped = [textwrap.wrap(label, 34) for _v, label in boxes]
    y += _height(max(len(w) for w in wrapped), 8, 1.25) + 0.036
    for x, (value, _label), lines in zip((0.06, 0.37, 0.68), boxes, wrapped, strict=True):
        fig.text(x, y, value, fontsize=20, fontweight="bold", color="#b2182b", ha="left", va="top")
        fig.text(x, y - 0.034, "\n".join(lines), fontsize=8, color="#333333", ha="left", va="top", linespacing=1.25)
    y += 0.018

    # -- maps: today, and with the scenario beside it, with their legend ----------------------------
    labels = place_labels(blocks, streets)
    if with_scenario:
        after = scenario_blocks["risk_class_after"].reindex(blocks.index)
        changed = scenario_blocks["changed"].reindex(blocks.index).fillna(False).to_numpy(dtype=bool)
        moved = int(((risk.reindex(blocks.index) != after) & changed).sum())
        caption = (
            f"{fr.num(moved, 0)} îlot{'s' if moved > 1 else ''} sur {fr.num(int(changed.sum()), 0)} modifié"
            f"{'s' if changed.sum() > 1 else ''} change{'nt' if moved > 1 else ''} de classe avec le scénario."
        )
        fig.text(0.06, y, caption, fontsize=7.5, color="#333333", va="bottom")
        y += _height(1, 7.5) + 0.006
    legend_h = 0.045
    legend_ax = fig.add_axes((0.06, y, 0.88, legend_h))
    risk_legend(legend_ax, "Classe de risque (température de surface × habitants × vulnérabilité)", "lower left")
    y += legend_h + 0.008
    top = header_bottom - 0.012 - _height(1, 10)
    if with_scenario:
        _risk_map(fig, (0.06, y, 0.43, top - y), "Risque de chaleur aujourd'hui", blocks, risk, labels)
        _risk_map(
            fig,
            (0.51, y, 0.43, top - y),
            "Avec le scénario (contour noir : îlots modifiés)",
            blocks,
            after,
            labels,
            outline=changed,
        )
    else:
        _risk_map(fig, (0.06, y, 0.88, top - y), "Risque de chaleur par îlot", blocks, risk, labels)
    buf = io.BytesIO()
    # TrueType fonts embedded (not matplotlib's default Type 3): the text is selectable, searchable and read
    # out by screen readers as written (no split « fi » ligature), and its boxes are those of the glyphs.
    with (
        matplotlib.rc_context({"pdf.fonttype": 42}),
        PdfPages(buf, metadata={"Title": f"Îlots de chaleur — {name}", "Creator": "Îlots"}) as pdf,
    ):
        pdf.savefig(fig)
    return buf.getvalue()
