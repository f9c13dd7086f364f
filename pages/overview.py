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
    select_territory,
    show_map,
    territory_map,
)

terr = select_territory()
meta, _ = model(terr)
blocks = blocks_with_model(terr)
m = terr.manifest

st.title(md_escape(terr.name))
st.caption(
    f"Température de surface (LST) mesurée par satellite Landsat vers 11 h solaire {dates_text(terr)} : "
    "c'est la température des toits, des sols et de la végétation, pas celle de l'air."
)

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
