"""Vue d'ensemble: the territory, its dates, four key figures and the heat-risk map."""

import pandas as pd
import streamlit as st

from ilots import fr
from ui.common import (
    blocks_with_model,
    dates_text,
    high_risk,
    md_escape,
    model,
    night,
    night_dates,
    observed_while_fitting,
    select_territory,
    show_map,
    territory_map,
)

terr = select_territory()
m = terr.manifest

st.title(md_escape(terr.name))
st.caption(
    f"Température de surface (LST) mesurée par satellite Landsat vers 11 h solaire {dates_text(terr)} : "
    "c'est la température des toits, des sols et de la végétation, pas celle de l'air."
)
if observed_while_fitting(terr):  # first view of a territory: its observed map while the model is fitted
    st.stop()
meta, _ = model(terr)
blocks = blocks_with_model(terr)

lst = blocks["lst_used_c"]
high = high_risk(terr)
spatial = meta["metrics"]["spatial_cv"]
c1, c2, c3, c4 = st.columns(4)
c1.metric(
    "Température de surface moyenne",
    fr.temp(lst.mean()),
    help="Température de surface moyenne des îlots, observée ou prédite sous les nuages ; 90 % des îlots entre "
    f"{fr.temp(lst.quantile(0.05))} et {fr.temp(lst.quantile(0.95))}.",
)
c2.metric(
    "Îlots les plus chauds (10 %)",
    f"≥ {fr.temp(lst.quantile(0.9))}",
    help=f"{fr.num((lst >= lst.quantile(0.9)).sum(), 0)} îlots sur {fr.num(len(blocks), 0)}.",
)
if high is not None:
    c3.metric(
        "Habitants en risque élevé",
        fr.num(high.expected, 0),
        help=(
            "Nombre attendu compte tenu de l'erreur de température et des réglages de l'indice (somme des "
            "habitants × probabilité d'être en classe « élevé » ou « très élevé ») ; "
            f"90 % de chances entre {fr.num(high.low, 0)} et {fr.num(high.high, 0)}."
        ),
    )
else:
    c3.metric(
        "Îlots en risque élevé",
        fr.num((blocks["risk_class"] >= 4).sum(), 0),
        help="Sans données de population : aléa seul.",
    )
c4.metric(
    "Précision du modèle",
    f"± {fr.temp(spatial['rmse_c'])}",
    help="Erreur moyenne en validation spatiale (quartiers entiers mis de côté) ; "
    f"R² {fr.num(spatial['r2'] * 100, 0)} %.",
)

if high is not None:
    st.caption(
        f"Habitants en risque élevé ou très élevé : {fr.num(high.expected, 0)} attendus, 90 % de chances entre "
        f"{fr.num(high.low, 0)} et {fr.num(high.high, 0)} (erreur de température et réglages de l'indice)."
    )
report = night(terr)


def blocks_fr(n: int) -> str:
    return f"{fr.num(n, 0)} îlot{'s' if n > 1 else ''}"


if report is not None:
    st.subheader("Jour et nuit")
    t = report.table
    day_col, night_col, agree_col = st.columns(3)
    day_col.metric(
        "Jour : surface vers 11 h solaires",
        fr.temp(t["day_lst_c"].median()),
        help=f"Médiane des îlots, Landsat {dates_text(terr)} (pixels de 30 m, vus à ≈ 100 m). "
        "Température des surfaces, pas de l'air.",
    )
    if "night_lst_c" in t:
        night_col.metric(
            "Nuit : surface vers 22 h solaires",
            fr.temp(t["night_lst_c"].median()),
            help=f"Médiane des îlots, Sentinel-3 SLSTR, {night_dates(report)} (pixels de ≈ 1 km : des quartiers, "
            "pas des rues). Température des surfaces, pas de l'air.",
        )
    else:
        strong = (t["lcz_tendency"] == "forte").sum()
        night_col.metric(
            "Nuit : îlots en zone à fort îlot de chaleur nocturne",
            f"{fr.num(strong, 0)} sur {fr.num(t['lcz_tendency'].notna().sum(), 0)}",
            help="D'après les zones climatiques locales (LCZ) : tissus compacts ou minéraux, qui gardent la chaleur "
            "du jour (Stewart & Oke 2012). Une tendance, pas une température mesurée.",
        )
    both = report.summary["both"]
    agree_col.metric(
        "Îlots chauds de jour et de nuit",
        fr.num(both["blocks"], 0),
        help="Dans le tiers le plus chaud des îlots de jour comme de nuit"
        + (f" ; environ {fr.num(round(both['residents'], -2), 0)} habitants." if "residents" in both else "."),
    )
    day_only, night_only = report.summary["day_only"]["blocks"], report.summary["night_only"]["blocks"]
    q = t["day_lst_c"].quantile([0.05, 0.95])
    spans = f"90 % des îlots entre {fr.temp(q.iloc[0])} et {fr.temp(q.iloc[1])} de jour"
    if "night_lst_c" in t:
        spans += (
            f", entre {fr.temp(t['night_lst_c'].quantile(0.05))} et {fr.temp(t['night_lst_c'].quantile(0.95))} de "
            f"nuit (d'une nuit à l'autre, un îlot varie de {fr.temp(t['night_spread_c'].median())} en médiane)"
        )
    st.caption(
        spans + ". "
        "Jour et nuit ne disent pas toujours la même chose : chauds de jour mais plus frais la nuit (sols nus, "
        f"parkings, toits légers qui refroidissent vite) : {blocks_fr(day_only)} ; frais de jour mais chauds la nuit "
        f"(tissu dense, eau) : {blocks_fr(night_only)}. Cartes côte à côte : page « Carte ». La nuit "
        "n'entre ni dans le modèle de jour ni dans les scénarios."
        + (f" {report.few_pixels_note()}" if report.few_pixels_note() else "")
    )

st.subheader("Risque de chaleur par îlot")
st.caption(f"Indice 0–100 : {meta['risk']['mode']}. Cliquez sur « Carte » pour explorer les autres couches.")
show_map(territory_map(terr, ["risk"]), key="overview_map", height=520)

with st.expander("Tableau : les 20 îlots les plus chauds (alternative à la carte)"):
    top = blocks.nlargest(20, "lst_used_c")
    st.dataframe(
        pd.DataFrame(
            {
                "Température de surface": top["lst_used_c"].map(fr.temp),
                "Risque": top["risk_label"],
                "Arbres": top["tree_frac"].map(fr.pct),
                "Imperméabilisé": top["impervious_frac"].map(fr.pct),
                "Habitants": top["residents"].map(lambda r: fr.num(r, 0)) if "residents" in top else "—",
                "Pourquoi": top["explanation"],
            },
            index=pd.Index(top.index, name="Îlot"),
        )
    )
