"""Vue d'ensemble: the territory, its dates and its key figures."""

import pandas as pd
import streamlit as st

from ilots import fr
from pages.common import dates_text, select_territory

terr = select_territory()
blocks = terr.blocks
m = terr.manifest

st.title(terr.name)
st.caption(
    f"Température de surface (LST) mesurée par satellite Landsat vers 11 h solaire le {dates_text(terr)} : "
    "c'est la température des toits, des sols et de la végétation, pas celle de l'air."
)

lst = blocks["lst_mean_c"]
hot_threshold = lst.quantile(0.9)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Îlots", fr.num(len(blocks), 0), help="Îlots urbains délimités par les rues, les voies ferrées et l'eau, ou fournis.")
c2.metric("Température de surface moyenne", fr.temp(lst.mean()))
c3.metric("10 % des îlots les plus chauds", f"≥ {fr.temp(hot_threshold)}")
c4.metric("Surface étudiée", f"{fr.num(m.get('area_km2'), 1)} km²")

st.subheader("Les îlots les plus chauds")
top = blocks.nlargest(10, "lst_mean_c")
table = pd.DataFrame(
    {
        "Température de surface": top["lst_mean_c"].map(fr.temp),
        "Arbres": top["tree_frac"].map(fr.pct),
        "Imperméabilisé": top["impervious_frac"].map(fr.pct),
        "Hauteur moyenne du bâti": top["building_height_m"].map(lambda h: f"{fr.num(h, 0)} m"),
        "Habitants": top["residents"].map(lambda r: fr.num(r, 0)),
    },
    index=pd.Index(top.index, name="Îlot"),
)
st.dataframe(table)

st.subheader("Indicateurs disponibles")
SOURCES_FR = {
    "geometry": "géométrie des îlots", "lst": "température de surface (satellite)", "ndvi": "raster NDVI",
    "landsat_sr": "réflectances Landsat", "landcover": "occupation du sol", "buildings": "fichier de bâtiments",
    "buildings+roads": "bâtiments et routes",
}


def source_fr(source: str | None) -> str:
    if not source:
        return "—"
    if source.startswith("bdtopo:"):
        return f"BD TOPO ({source.split(':', 1)[1]})"
    if source.startswith("population:"):
        return f"population ({source.split(':', 1)[1]})"
    return SOURCES_FR.get(source, source)


feats = pd.DataFrame(
    [{"Indicateur": f["label_fr"], "Unité": f["unit"], "Disponible": "oui" if f["available"] else "non",
      "Source": source_fr(f.get("source")), "Remarque": f.get("note", "")} for f in m["features"].values()]
)
st.dataframe(feats, hide_index=True)
