"""The impact sheet (PDF, A4): did the completed works cool the city? One summary page, then one page a project.

Each page says what the figure counts (surface temperature over the project, °C, summers compared), its 90 %
interval, what the satellite could have seen there, the model's prediction for the same measure, and the
limits. Drawn on its own matplotlib Figure (no pyplot), offline, TrueType fonts (searchable text).
"""

from __future__ import annotations

import io
import textwrap

import geopandas as gpd
import matplotlib
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages

from . import fr
from .monitor import VERDICT_COLOURS, MonitorResult, ProjectResult
from .staticmap import draw_scale_bar, new_figure

__all__ = ["impact_pdf"]

A4 = (8.27, 11.69)
LIMITS = (
    "Température de surface (Landsat 8/9, vers 11 h solaire, ~100 m pour la bande thermique), pas température de "
    "l'air. Chaque été est rapporté aux îlots non traités du territoire la même année (la météo diffère d'un été "
    "à l'autre). L'effet est une différence de différences avec des îlots témoins comparables ; l'intervalle "
    "(90 %) vient du rééchantillonnage des étés et des témoins. Un projet de moins de 1 ha n'est pas mesurable. "
    "Méthode : docs/monitoring.md."
)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width, break_long_words=False))


def _effect(p: ProjectResult, sep: str = " ") -> str:
    return fr.temp_interval(p.effect_c, p.lo_c, p.hi_c, sep)


def _predicted(p: ProjectResult, sep: str = " ") -> str:
    return fr.temp_interval(p.predicted_c, p.predicted_lo_c, p.predicted_hi_c, sep)


def _header(fig, title: str, subtitle: str) -> None:
    fig.text(0.06, 0.962, title, fontsize=16, fontweight="bold", va="top")
    fig.text(0.06, 0.928, subtitle, fontsize=9, va="top", color="#333333")


def _footer(fig, synthetic: bool) -> None:
    text = LIMITS + (" Données synthétiques : « Îlotville » est une ville fictive." if synthetic else "")
    fig.text(0.06, 0.035, _wrap(text, 135), fontsize=6.8, va="bottom", color="#333333", linespacing=1.3)


def _summary_page(result: MonitorResult, name: str, synthetic: bool):
    fig = new_figure(A4)
    years = ", ".join(str(y) for y in result.years)
    _header(
        fig,
        f"Suivi des réalisations — {name}",
        f"{len(result.projects)} projet(s) ; étés comparés : {years} ; "
        f"{fr.num(result.untreated_blocks, 0)} îlots non traités "
        "de référence.",
    )
    counts = {}
    for p in result.projects:
        counts[p.verdict] = counts.get(p.verdict, 0) + 1
    y = 0.885
    for key, n in counts.items():
        label = next(p.verdict_fr for p in result.projects if p.verdict == key)
        fig.text(0.06, y, f"{n} × {label}", fontsize=11, fontweight="bold", color=VERDICT_COLOURS.get(key, "#333333"))
        y -= 0.028
    rows = [
        [
            _wrap(textwrap.shorten(p.name, 56, placeholder=" …"), 28),
            _wrap(p.kind_fr, 18),
            fr.date_fr(p.completed),
            fr.area(p.area_m2),
            _wrap(p.verdict_fr, 20),
            _effect(p, "\n"),
            _predicted(p, "\n"),
        ]
        for p in result.projects
    ]
    table_h = min(0.05 * (len(rows) + 1), y - 0.45)
    ax = fig.add_axes((0.04, y - 0.01 - table_h, 0.92, table_h))
    ax.set_axis_off()
    table = ax.table(
        cellText=rows,
        colLabels=["Projet", "Mesure", "Achevé le", "Surface", "Verdict", "Effet mesuré\n(90 %)", "Prévu\n(90 %)"],
        loc="upper center",
        cellLoc="left",
        colWidths=[0.2, 0.17, 0.11, 0.08, 0.17, 0.14, 0.13],
        bbox=(0, 0, 1, 1),
    )
    table.auto_set_font_size(False)
    table.set_fontsize(6.8)
    for (r, _), cell in table.get_celld().items():
        cell.set_edgecolor("#bbbbbb")
        if r == 0:
            cell.set_text_props(fontweight="bold")
    n_shown = sum(p.effect_c is not None for p in result.projects)
    forest_h = min(0.08 * n_shown + 0.08, y - 0.09 - table_h - 0.2)
    _forest(fig, (0.3, y - 0.08 - table_h - forest_h, 0.64, forest_h), result)
    if result.notes:
        fig.text(0.06, 0.125, _wrap("Étés absents : " + " ; ".join(result.notes), 120), fontsize=7.5, color="#8a3b00")
    _footer(fig, synthetic)
    return fig


def _forest(fig, rect, result: MonitorResult) -> None:
    """Measured effects (and predictions) with their 90 % intervals, one line per measurable project."""
    shown = [p for p in result.projects if p.effect_c is not None]
    if not shown:
        return
    ax = fig.add_axes(rect)
    ys = np.arange(len(shown))[::-1]
    for y, p in zip(ys, shown, strict=True):
        colour = VERDICT_COLOURS.get(p.verdict, "#333333")
        ax.errorbar(
            p.effect_c,
            y + 0.12,
            xerr=[[p.effect_c - p.lo_c], [p.hi_c - p.effect_c]],
            fmt="o",
            color=colour,
            capsize=3,
            label="mesuré" if y == ys[0] else None,
        )
        if p.predicted_c is not None:
            ax.errorbar(
                p.predicted_c,
                y - 0.12,
                xerr=[[p.predicted_c - p.predicted_lo_c], [p.predicted_hi_c - p.predicted_c]],
                fmt="s",
                color="#888888",
                mfc="white",
                capsize=3,
                label="prévu par le modèle" if y == ys[0] else None,
            )
    ax.axvline(0, color="#999999", lw=0.8)
    ax.set_yticks(ys)
    ax.set_yticklabels([textwrap.shorten(p.name, 40, placeholder=" …") for p in shown], fontsize=7.5)
    ax.tick_params(axis="x", labelsize=7)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: fr.num(v, 1).replace("-", "−")))
    ax.set_xlabel("effet sur la température de surface au-dessus du projet (°C), intervalle à 90 %", fontsize=7.5)
    ax.set_ylim(-0.8, len(shown) - 0.2)
    ax.legend(fontsize=7, frameon=False, loc="best")
    ax.set_title("Mesuré et prévu", fontsize=9.5, loc="left", fontweight="bold")


def _series_chart(fig, rect, p: ProjectResult) -> None:
    ax = fig.add_axes(rect)
    s = p.series
    if s.empty:
        ax.set_axis_off()
        return
    years = s["year"].to_numpy()
    ax.fill_between(
        years,
        s["controls_p10_c"],
        s["controls_p90_c"],
        color="#9ecae1",
        alpha=0.5,
        lw=0,
        label="îlots témoins (10 à 90 %)",
    )
    ax.plot(years, s["controls_c"], color="#2171b5", lw=1.5, marker="o", ms=3, label="témoins, moyenne")
    ax.plot(years, s["project_c"], color="#b2182b", lw=2, marker="o", ms=4, label="projet")
    works = s.loc[s["period"] == "works", "year"].to_numpy()
    first_after = s.loc[s["period"] == "after", "year"].min()
    edge = works.min() - 0.5 if len(works) else (first_after - 0.5 if np.isfinite(first_after) else None)
    if edge is not None:
        ax.axvline(edge, color="#333333", lw=0.8, ls="--")
        ax.text(edge, ax.get_ylim()[1], " travaux", fontsize=7, va="top")
    for y in works:
        ax.axvspan(y - 0.5, y + 0.5, color="#dddddd", alpha=0.6, lw=0)
    ax.axhline(0, color="#999999", lw=0.6)
    ax.set_xticks(years)
    ax.set_xticklabels([str(int(y)) for y in years], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: fr.num(v, 1)))
    ax.set_ylabel("écart aux îlots non traités (°C)", fontsize=7.5)
    ax.set_title("Température de surface de l'été (écart à la médiane des îlots non traités)", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="lower left", frameon=False)


def _site_map(fig, rect, p: ProjectResult, blocks: gpd.GeoDataFrame, geom) -> None:
    ax = fig.add_axes(rect)
    x0, y0, x1, y1 = geom.bounds
    pad = max(x1 - x0, y1 - y0, 400.0)
    near = blocks.cx[x0 - pad : x1 + pad, y0 - pad : y1 + pad]
    near.plot(ax=ax, color="#eeeeee", edgecolor="#bbbbbb", linewidth=0.3)
    controls = blocks.loc[[c for c in p.control_ids if c in blocks.index]]
    if len(controls):
        controls.plot(ax=ax, color="#9ecae1", edgecolor="#2171b5", linewidth=0.3)
    gpd.GeoSeries([geom], crs=blocks.crs).plot(ax=ax, color="#f4a582", edgecolor="#b2182b", linewidth=1.2)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    draw_scale_bar(ax, near if len(near) else blocks, fontsize=6.5)
    ax.set_title("Le projet (rouge) et ses témoins proches (bleu)", fontsize=8.5, loc="left")


def _project_page(p: ProjectResult, name: str, synthetic: bool, blocks, geom):
    fig = new_figure(A4)
    _header(
        fig,
        textwrap.shorten(p.name, 60, placeholder=" …"),
        f"{name} — {p.kind_fr}, achevé le {fr.date_fr(p.completed)}, {fr.area(p.area_m2)}"
        + (f", {fr.num(p.cost_eur, 0)} €" if p.cost_eur is not None else ""),
    )
    fig.text(0.06, 0.885, p.verdict_fr, fontsize=15, fontweight="bold", color=VERDICT_COLOURS.get(p.verdict, "#333"))
    fig.text(0.06, 0.855, _wrap(p.sentence(), 110), fontsize=9, va="top", linespacing=1.3)
    facts = [
        ("Effet mesuré (90 %)", _effect(p)),
        ("Effet minimal détectable ici", fr.temp(p.mde_c, 1) if p.mde_c is not None else "—"),
        ("Part d'un changement vue par le capteur", fr.pct(p.seen_fraction)),
        (
            "Prévu par le modèle (même mesure)",
            _predicted(p) if p.predicted_c is not None else (p.predicted_note or "—"),
        ),
        ("Étés avant / après", f"{len(p.years_before)} / {len(p.years_after)}"),
        (
            "Îlots témoins",
            f"{p.n_controls}"
            + (f" (écart avant travaux {fr.temp(p.control_gap_c, 1, True)})" if p.control_gap_c is not None else ""),
        ),
    ]
    y = 0.79
    for label, value in facts:
        fig.text(0.06, y, label, fontsize=8.5, color="#333333")
        fig.text(0.42, y, _wrap(value, 60), fontsize=8.5, fontweight="bold", va="baseline")
        y -= 0.024
    _series_chart(fig, (0.1, 0.40, 0.84, 0.22), p)
    if blocks is not None and geom is not None:
        _site_map(fig, (0.06, 0.13, 0.5, 0.21), p, blocks, geom)
    if p.notes:
        fig.text(0.6, 0.33, _wrap("Notes : " + " ; ".join(p.notes), 50), fontsize=7.5, va="top", color="#8a3b00")
    _footer(fig, synthetic)
    return fig


def impact_pdf(
    result: MonitorResult,
    name: str,
    synthetic: bool = False,
    blocks: gpd.GeoDataFrame | None = None,
    works: gpd.GeoDataFrame | None = None,
    only: str | None = None,
) -> bytes:
    """The impact sheet: a summary page, then a page per project (``only``: that project's page alone).
    ``blocks`` and ``works`` (working CRS, same order as the result) add each project's map."""
    pages = [] if only else [_summary_page(result, name, synthetic)]
    works = works if works is not None else result.works
    geoms = list(works.geometry) if works is not None else [None] * len(result.projects)
    for p, geom in zip(result.projects, geoms, strict=True):
        if only is None or p.name == only:
            pages.append(_project_page(p, name, synthetic, blocks, geom))
    buf = io.BytesIO()
    with (
        matplotlib.rc_context({"pdf.fonttype": 42}),
        PdfPages(buf, metadata={"Title": f"Suivi des réalisations — {name}", "Creator": "Îlots"}) as pdf,
    ):
        for fig in pages:
            pdf.savefig(fig)
    return buf.getvalue()
