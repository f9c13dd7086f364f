"""Carte: toggled layers, block card on click, search by street name (offline) or address (BAN)."""

import json

import pandas as pd
import streamlit as st

from ilots import fr
from ilots.errors import IlotsError
from ilots.export import geopackage_bytes, to_csv_bytes
from ilots.facilities import KINDS as FACILITY_KINDS
from ilots.facilities import export_frame
from ilots.maps import LAYERS, refuge_map
from ilots.night import DAY_NIGHT_LABELS
from ilots.refuges import NEAR_M
from ilots.risk import CLASS_LABELS
from ui.common import (
    blocks_with_model,
    choose_found,
    chosen_block,
    clicked_block,
    dates_text,
    facilities,
    find_places,
    french_table,
    go_to_block,
    map_image,
    md_escape,
    night,
    night_dates,
    night_maps,
    observed_while_fitting,
    refuges,
    reliable,
    search_example,
    select_territory,
    show_map,
    slug_for_file,
    territory_map,
)

terr = select_territory()
st.title("Carte des îlots")
if observed_while_fitting(terr):  # first view of a territory: its observed map while the model is fitted
    st.stop()
blocks = blocks_with_model(terr)
trusted = reliable(terr)

LABELS = {
    "lst": "Température de surface",
    "risk": "Risque de chaleur",
    "trees": "Part d'arbres",
    "sealing": "Part imperméabilisée",
    "height": "Hauteur du bâti",
    "p_high": "Probabilité de risque élevé (incertitude comprise)",
}
available = [k for k in LABELS if LAYERS[k].column in blocks and blocks[LAYERS[k].column].notna().any()]
left, right = st.columns([3, 2])
with left:
    chosen = st.multiselect(
        "Couches (la première est affichée, les autres dans le sélecteur de la carte)",
        available,
        default=[k for k in ("lst",) if k in available],
        format_func=LABELS.get,
        key="map_layers",
    )
    with_lst = st.toggle("Image satellite de température (°C)", value=False, key="map_lst_image")
    with_places = st.toggle("Établissements sensibles (écoles, crèches, EHPAD, hôpitaux)", value=True, key="map_places")

with right:
    query = st.text_input(
        "Rechercher une rue, un quartier ou une adresse", key="map_search", placeholder=search_example(terr)
    )
    if query:
        hits, why = find_places(terr, blocks, query)
        if hits:
            pick = st.selectbox(
                "Résultats",
                range(len(hits)),
                format_func=lambda i: f"{hits[i]['label']} ({hits[i]['kind']})",
                key="map_hit",
            )
            choose_found(terr, "map_hit_applied", query, pick, hits[pick]["block_id"])
        else:
            st.info(why)

bid = chosen_block(terr, blocks.index)
state = show_map(
    territory_map(terr, chosen, with_lst=with_lst, highlight=bid, places=with_places),
    key=f"map_{'-'.join(chosen)}_{with_lst}_{with_places}_{bid}",
    height=600,
    returned=["last_active_drawing"],
)
go_to_block(terr, clicked_block(state), bid, blocks.index)
printed = chosen[0] if chosen else "risk"
st.download_button(
    f"Télécharger la carte « {LABELS[printed]} » (PNG, pour un rapport)",
    map_image(terr, printed),
    file_name=f"carte_{printed}_{slug_for_file(terr.name)}.png",
    mime="image/png",
    key="dl_map_png",
    on_click="ignore",
    icon=":material/download:",
    help="Image de tout le territoire avec les noms de lieux, la légende (gris : pas de valeur), "
    "l'échelle, les dates et les sources.",
)

if bid is not None:
    b = blocks.loc[bid]
    st.subheader(f"Îlot {md_escape(bid)}")
    if trusted:
        st.write(md_escape(b["explanation"]))
    c1, c2, c3, c4 = st.columns(4)
    hotter = b["anomaly_c"] > 0  # the typographic minus of French numbers is not read as a sign by st.metric
    c1.metric(
        "Température de surface",
        fr.temp(b["lst_used_c"]),
        f"{fr.temp(b['anomaly_c'], 1, True)} / médiane",
        delta_color="red" if hotter else "blue",
        delta_arrow="up" if hotter else "down",
    )
    p_high = b.get("p_high_risk")
    c2.metric(
        "Risque de chaleur",
        b["risk_label"],
        help=f"Score {fr.num(b['risk_score'], 0)} sur 100"
        + (
            f" ; probabilité d'être en risque élevé ou très élevé : {fr.probability(p_high)} (erreur de température et "
            "réglages de l'indice)."
            if p_high is not None and pd.notna(p_high)
            else "."
        ),
    )
    if p_high is not None and 0.1 < p_high < 0.9:
        st.caption(f"Classe incertaine : {fr.pct(p_high)} de chances d'être en risque élevé ou très élevé.")
    c3.metric("Arbres", fr.pct(b.get("tree_frac")))
    c4.metric("Habitants", fr.num(b.get("residents"), 0))
    reasons = json.loads(b["reasons"]) if isinstance(b["reasons"], str) and trusted else []
    if reasons:
        st.caption(
            "Contribution estimée de chaque facteur à l'écart avec la moyenne (modèle linéaire) : "
            + " ; ".join(f"{md_escape(r['text'])} ({fr.temp(r['contribution_c'], 1, True)})" for r in reasons)
        )
    if b.get("lst_fewer_dates") == 1:
        n_all = len(terr.manifest.get("acquisition_dates") or [])
        st.caption(
            f"Vu par une partie des dates seulement ({fr.num(b.get('lst_n_dates'), 1)} en moyenne sur "
            f"{n_all}) : sa température repose sur moins de jours que celle des autres îlots."
        )
    if b["lst_source"] == "predicted":
        st.caption("Température prédite par le modèle : l'îlot était en grande partie sous les nuages.")
    if trusted and st.button("Simuler la végétalisation de cet îlot", key="simulate_block"):
        st.session_state["scenario_ids"] = [bid]
        st.switch_page("pages/scenarios.py")
else:
    st.caption("Cliquez sur un îlot pour afficher sa fiche.")

st.subheader("Jour et nuit")
report = night(terr)
if report is None:
    st.caption(
        "Pas encore de couche de nuit pour ce territoire : ajoutez des nuits Sentinel-3 et/ou les zones "
        "climatiques locales du Cerema avec python -m ilots night DOSSIER --fetch-year 2023 (ou --slstr, --lcz)."
    )
else:
    day_map, night_map, agree_map = night_maps(terr)
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Jour** : température de surface vers 11 h solaires, Landsat {md_escape(dates_text(terr))}")
        show_map(day_map, key="day_map", height=380)
    with right:
        if "night_lst_c" in report.table:
            st.markdown(
                f"**Nuit** : température de surface vers 22 h solaires, Sentinel-3 ({md_escape(night_dates(report))}), "
                "pixels de ≈ 1 km"
            )
        else:
            st.markdown("**Nuit** : tendance de la zone climatique locale (LCZ), pas une mesure")
        show_map(night_map, key="night_map", height=380)
    st.caption(
        "Chaque carte a sa propre échelle de couleurs : la surface est bien plus chaude de jour que de nuit. "
        "Températures de surface, pas de l'air. À ≈ 1 km, la nuit distingue des quartiers, pas des îlots voisins."
        + (f" {report.few_pixels_note()}" if report.few_pixels_note() else "")
    )
    if st.toggle("Où le jour et la nuit ne disent pas la même chose", key="day_night_on"):
        show_map(agree_map, key="day_night_map", height=420)
    t = report.table
    differ = t[t["day_night"].isin(["day_only", "night_only"])]
    if len(differ):
        shown = pd.DataFrame(
            {
                "Îlot": differ.index,
                "Jour et nuit": differ["day_night"].map(DAY_NIGHT_LABELS),
                "Jour (≈ 11 h)": differ["day_lst_c"],
                **({"Nuit (≈ 22 h)": differ["night_lst_c"]} if "night_lst_c" in differ else {}),
                **({"Zone LCZ": differ["lcz_name"].fillna(differ["lcz_tendency"])} if "lcz_tendency" in differ else {}),
            }
        )
        st.dataframe(
            french_table(shown, {"Jour (≈ 11 h)": fr.temp, "Nuit (≈ 22 h)": fr.temp}), hide_index=True, height=240
        )
    st.download_button(
        "Jour et nuit par îlot (CSV)",
        to_csv_bytes(terr.blocks[[terr.blocks.geometry.name]].join(t)),
        file_name=f"jour_nuit_{slug_for_file(terr.name)}.csv",
        mime="text/csv",
        key="night_csv",
    )
    st.caption("Méthode, sources et limites : docs/night.md.")

st.subheader("Refuges frais à pied")
try:
    report = refuges(terr)
except IlotsError as exc:
    st.caption(md_escape(exc))
    report = None
if report is not None:
    summary = report.summary
    if summary.get("share_residents_far") is not None:
        st.metric(
            f"Habitants à plus de {fr.num(NEAR_M, 0)} m à pied (≈ 5 min) d'un refuge frais",
            fr.pct(summary["share_residents_far"]),
            help="Parcs et bois d'au moins 0,5 ha et plans d'eau (BD TOPO) ; distance le long des rues, depuis un "
            "point de chaque îlot. Habitants estimés du carroyage INSEE.",
        )
        st.caption(
            f"Environ {fr.num(round(summary['residents_far'], -2), 0)} habitants sur "
            f"{fr.num(round(summary['residents_known'], -2), 0)}"
            + (
                f" ; {summary['blocks_unreachable']} îlots sans chemin vers un refuge ne sont pas comptés."
                if summary["blocks_unreachable"]
                else "."
            )
            + " Méthode et limites : docs/places.md."
        )
    if st.toggle("Afficher la carte des distances à pied", key="refuge_map_on"):
        show_map(
            refuge_map(terr.blocks, report.access["refuge_walk_m"], report.refuges, terr.manifest["bounds_wgs84"]),
            key="refuge_map",
            height=460,
        )

st.subheader("Établissements sensibles")
try:
    places, exposure = facilities(terr)
except IlotsError as exc:
    st.caption(md_escape(exc))
    places, exposure = None, None
if exposure is not None and len(exposure):
    hot = exposure["risk_class"].fillna(0) >= 4
    counts = exposure.loc[hot, "kind"].map(FACILITY_KINDS).value_counts()
    st.write(
        "Dans les îlots à risque élevé ou très élevé : " + ", ".join(f"{n} {k}" for k, n in counts.items()) + "."
        if len(counts)
        else "Aucun établissement sensible connu dans les îlots à risque élevé ou très élevé."
    )
    shown = pd.DataFrame(
        {
            "Établissement": exposure["name"].fillna("sans nom"),
            "Type": exposure["kind"].map(FACILITY_KINDS),
            "Îlot": exposure["block_id"],
            "Temp. de l'îlot": exposure["lst_block_c"],
            "Temp. à 100 m alentour": exposure["lst_around_c"],
            "Risque": exposure["risk_class"].map(
                lambda v: CLASS_LABELS.get(int(v), "—") if pd.notna(v) else "non évalué"
            ),
            "Probabilité de risque élevé": exposure["p_high_risk"],
        }
    )
    if "refuge_walk_m" in exposure:
        shown["Refuge frais à pied"] = exposure["refuge_walk_m"]
    st.dataframe(
        french_table(
            shown,
            {
                "Temp. de l'îlot": fr.temp,
                "Temp. à 100 m alentour": fr.temp,
                "Probabilité de risque élevé": fr.probability,
                "Refuge frais à pied": lambda v: f"{fr.num(v, 0)} m",
            },
        ),
        hide_index=True,
    )
    exported = export_frame(places, exposure)
    c_csv, c_gpkg = st.columns(2)
    c_csv.download_button(
        "Établissements sensibles (CSV)",
        to_csv_bytes(exported),
        file_name=f"etablissements_sensibles_{slug_for_file(terr.name)}.csv",
        mime="text/csv",
        key="facilities_csv",
    )
    c_gpkg.download_button(
        "Établissements sensibles (GeoPackage, QGIS)",
        lambda: geopackage_bytes(exported, "etablissements"),
        file_name=f"etablissements_sensibles_{slug_for_file(terr.name)}.gpkg",
        mime="application/geopackage+sqlite3",
        key="facilities_gpkg",
        on_click="ignore",
    )
    st.caption(
        "Écoles, collèges et lycées, EHPAD et hôpitaux de la BD TOPO (zones d'activité ou d'intérêt), et ceux que "
        "le territoire a donnés (FINESS, BPE, liste des crèches : python -m ilots facilities DOSSIER --file "
        "fichier.csv --save), du plus chaud au plus frais alentour ; température de surface vers 11 h solaire, pas "
        "de l'air. Ils figurent aussi sur la carte (couche « Établissements sensibles »)."
    )
elif exposure is not None:
    st.caption("Aucun établissement sensible connu sur ce territoire (BD TOPO, ou fichier FINESS / BPE à donner).")

with st.expander("Tableau des îlots (alternative à la carte, du plus chaud au plus frais)"):
    cols = {
        "lst_used_c": "Temp. de surface",
        "risk_label": "Risque",
        "tree_frac": "Arbres",
        "impervious_frac": "Imperméabilisé",
        "building_height_m": "Hauteur",
        "residents": "Habitants",
    }
    formats = {
        "Temp. de surface": fr.temp,
        "Arbres": fr.pct,
        "Imperméabilisé": fr.pct,
        "Hauteur": lambda v: "—" if pd.isna(v) else f"{fr.num(v, 0)} m",
        "Habitants": lambda v: fr.num(v, 0),
    }
    present = [c for c in cols if c in blocks]
    table = pd.DataFrame(blocks[present]).sort_values("lst_used_c", ascending=False).rename(columns=cols)
    table.index.name = "Îlot"
    st.dataframe(french_table(table, formats), height=300)
