"""Vue d'ensemble: the territory, its dates, four key figures and the heat-risk map."""

import pandas as pd
import streamlit as st

from ilots import fr
from pages.common import blocks_with_model, dates_text, md_escape, model, select_territory, show_map, territory_map

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
residents = blocks["residents"] if "residents" in blocks else pd.Series(0.0, index=blocks.index)
high = residents[blocks["risk_class"] >= 4].sum()
expected = (residents * blocks["p_high_risk"]).sum() if "p_high_risk" in blocks else None
spatial = meta["metrics"]["spatial_cv"]
c1, c2, c3, c4 = st.columns(4)
c1.metric("Température de surface moyenne", fr.temp(lst.mean()), help="Moyenne des îlots, observée ou prédite sous les nuages.")
c2.metric("Îlots les plus chauds (10 %)", f"≥ {fr.temp(lst.quantile(0.9))}",
          help=f"{fr.num((lst >= lst.quantile(0.9)).sum(), 0)} îlots sur {fr.num(len(blocks), 0)}.")
if residents.sum() > 0:
    c3.metric("Habitants en risque élevé", fr.num(expected if expected is not None else high, 0),
              help=("Nombre attendu compte tenu de l'erreur de température et des réglages de l'indice (somme des "
                    "habitants × probabilité d'être en classe « élevé » ou « très élevé ») ; "
                    f"{fr.num(high, 0)} habitants dans les îlots classés ainsi avec le réglage retenu."
                    if expected is not None else "Habitants des îlots de classe « élevé » ou « très élevé »."))
else:
    c3.metric("Îlots en risque élevé", fr.num((blocks["risk_class"] >= 4).sum(), 0), help="Sans données de population : aléa seul.")
c4.metric("Précision du modèle", f"± {fr.temp(spatial['rmse_c'])}",
          help=f"Erreur moyenne en validation spatiale (quartiers entiers mis de côté) ; R² {fr.num(spatial['r2'] * 100, 0)} %.")

st.subheader("Risque de chaleur par îlot")
st.caption(f"Indice 0–100 : {meta['risk']['mode']}. Cliquez sur « Carte » pour explorer les autres couches.")
show_map(territory_map(terr, ["risk"]), key="overview_map", height=520)

with st.expander("Tableau : les 20 îlots les plus chauds (alternative à la carte)"):
    top = blocks.nlargest(20, "lst_used_c")
    st.dataframe(pd.DataFrame({
        "Température de surface": top["lst_used_c"].map(fr.temp),
        "Risque": top["risk_label"],
        "Arbres": top["tree_frac"].map(fr.pct),
        "Imperméabilisé": top["impervious_frac"].map(fr.pct),
        "Habitants": top["residents"].map(lambda r: fr.num(r, 0)) if "residents" in top else "—",
        "Pourquoi": top["explanation"],
    }, index=pd.Index(top.index, name="Îlot")))
