"""Données et transparence: provenance, the model card (fiche algorithme), compute footprint, reproduction."""

import shlex

import pandas as pd
import streamlit as st

from ilots import fr
from ilots.analysis import W_PER_CORE, compute_footprint
from ilots.scenarios import UnitCosts
from ui.common import dates_text, model, select_territory

terr = select_territory()
meta, _ = model(terr)
m = terr.manifest
st.title("Données et transparence")

st.subheader("Provenance des données")
LICENCES = {
    "lst": "USGS Landsat : domaine public",
    "bdtopo": "IGN BD TOPO : Licence Ouverte Etalab 2.0",
    "landcover": "ESA WorldCover : CC BY 4.0",
    "population": "INSEE : Licence Ouverte Etalab 2.0",
    "blocks": "selon le fournisseur (IGN IRIS : Licence Ouverte)",
    "buildings": "selon le fournisseur",
    "ndvi": "Copernicus Sentinel-2 : licence libre Copernicus",
    "area": "selon le fournisseur",
}
ROLES = {
    "lst": "Température de surface",
    "bdtopo": "BD TOPO",
    "landcover": "Occupation du sol",
    "ndvi": "NDVI",
    "population": "Population",
    "blocks": "Îlots fournis",
    "buildings": "Bâtiments",
    "area": "Zone d'étude",
}
rows = []
for src in m.get("sources", []):
    for f in src["files"]:
        rows.append(
            {
                "Rôle": ROLES.get(src["role"], src["role"]),
                "Fichier": f["path"].split("/")[-1],
                "Taille (Mo)": fr.num(f["bytes"] / 1e6, 2),
                "Empreinte SHA-256": f["sha256"][:16] + "…",
                "Licence": "données synthétiques" if terr.synthetic else LICENCES.get(src["role"], "—"),
            }
        )
st.dataframe(pd.DataFrame(rows), hide_index=True)
st.caption(
    f"Acquisition {dates_text(terr)}. Système de coordonnées : {m['crs']['label']} ({m['crs']['region']}). "
    f"Territoire préparé le {fr.date_fr(m['created'][:10])}."
)

st.subheader("Fiche algorithme")
sp, rd = meta["metrics"]["spatial_cv"], meta["metrics"]["random_cv"]
used = [v["label_fr"] for v in meta["features"].values() if v.get("used")]
used_text = ", ".join(u[:1].lower() + u[1:] for u in used)
st.markdown(f"""
**Finalité.** Aider à repérer les îlots où les surfaces chauffent le plus en été, à comprendre pourquoi, et à
estimer l'effet d'une végétalisation. Aide à la décision pour le débat public, aucune décision automatique.

**Données.** Température de surface Landsat ({dates_text(terr)}) ; indicateurs par îlot : {used_text}.
La population ne sert qu'à l'indice de risque, jamais au modèle.

**Méthode.** Deux modèles comparés sur les mêmes plis : régression ridge (lisible, utilisée pour les explications et les
scénarios) et gradient boosting. Validation **spatiale** par tuiles de {fr.num(meta["folds"]["tile_m"], 0)} m
({meta["folds"]["n_folds"]} plis), montrée à côté d'une validation aléatoire et de deux références. Modèle retenu :
**{"ridge" if meta["chosen"] == "ridge" else "gradient boosting"}** (plus petite erreur en validation spatiale).

**Résultats.** Validation spatiale : R² {fr.num(sp["r2"], 2)}, erreur quadratique moyenne {fr.temp(sp["rmse_c"], 2)},
erreur absolue moyenne {fr.temp(sp["mae_c"], 2)}. Validation aléatoire : R² {fr.num(rd["r2"], 2)}.
Intervalles de prédiction à 90 % tirés des résidus de la validation spatiale.

**Indice de risque.** {meta["risk"]["mode"]} ; score 0–100, cinq classes (seuils 20, 40, 60, 80). Les références
(−2 à +3 °C d'écart, 150 habitants/ha, 30 % de personnes âgées, 40 % de ménages pauvres) sont des choix documentés,
pas des seuils officiels.

**Limites.** Température des surfaces vers 11 h solaire, pas de l'air ni de la nuit ; résolution thermique d'environ
100 m ; une image = la météo d'un jour ; effets estimés par association sur ce territoire.

**Contester ou signaler une erreur.** Tous les chiffres se reproduisent à partir des fichiers et commandes ci-dessous.
Écrivez au service qui héberge cet outil, ou ouvrez un ticket sur le dépôt du projet Îlots.
""")

st.subheader("Coûts unitaires des scénarios (€/m², indicatifs)")
costs = UnitCosts()
MEASURES = {
    "trees_eur_m2": "Plantation d'arbres (m² de couvert)",
    "depave_eur_m2": "Désimperméabilisation",
    "green_roofs_eur_m2": "Toiture végétalisée",
    "cool_roofs_eur_m2": "Toiture réfléchissante",
    "cool_pavements_eur_m2": "Chaussée réfléchissante",
}
st.dataframe(
    pd.DataFrame(
        [
            {"Mesure": MEASURES.get(k, k), "€/m²": fr.num(getattr(costs, k), 0), "Source": v}
            for k, v in UnitCosts.SOURCES.items()
        ]
    ),
    hide_index=True,
)

st.subheader("Empreinte de calcul")
cost = compute_footprint(m, meta)
c1, c2, c3 = st.columns(3)
c1.metric(
    "Préparation du territoire", "inconnue" if cost.build_cpu_s is None else f"{fr.num(cost.build_cpu_s, 1)} s CPU"
)
c2.metric("Ajustement du modèle", "inconnu" if cost.fit_cpu_s is None else f"{fr.num(cost.fit_cpu_s, 1)} s CPU")
c3.metric("Énergie estimée", "inconnue" if cost.energy_wh is None else f"{fr.num(cost.energy_wh, 2)} Wh")
st.caption(
    f"Méthode : temps processeur × {fr.num(W_PER_CORE, 0)} W par cœur chargé (ordre de grandeur d'un processeur "
    "récent). Ne comprend ni la mémoire, ni le stockage, ni le réseau, ni la fabrication du matériel. "
    "Aucun processeur graphique n'est utilisé."
)

st.subheader("Reproduire ce territoire")
cmd = m["build"].get("command")
if cmd:
    st.code(
        " ".join(shlex.quote(str(c)) for c in cmd) + f"\npython -m ilots fit {shlex.quote(str(terr.path))}",
        language="bash",
    )
st.caption(f"Logiciels : {', '.join(f'{k} {v}' for k, v in m.get('software', {}).items())}.")
