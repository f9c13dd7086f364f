"""Suivi des réalisations: did the completed works cool the city? Before/after, per project, with controls."""

import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st

from ilots import fr
from ilots.errors import IlotsError, InputFileError
from ilots.export import to_csv_bytes
from ilots.impact import impact_pdf
from ilots.maps import works_map
from ilots.monitor import MIN_AREA_M2
from ilots.restat import summer_label
from ilots.scenarios import drawn_polygon
from ilots.sources.works import KIND_LABELS, check_works, read_works
from ilots.store import add_works, summers_index
from ilots.uploads import Limits, safe_extract_zip, save_upload
from ui.common import (
    creation_enabled,
    french_table,
    md_escape,
    monitoring,
    reliable,
    select_territory,
    show_map,
    slug_for_file,
)

LIMITS = Limits()


def series_chart(series: pd.DataFrame, name: str):
    """Project and controls anomalies by summer (°C), the controls' 10–90 % band, French labels; the marks are
    hidden from screen readers, which get the chart's description and the table below instead."""
    import altair as alt

    data = series.assign(year=series["year"].astype(int))
    axis_y = alt.Axis(
        title="Écart aux îlots non traités (°C)", labelExpr="replace(format(datum.value, '.1f'), '.', ',')"
    )
    x = alt.X("year:O", title="Été", axis=alt.Axis(labelAngle=0))
    band = (
        alt.Chart(data)
        .mark_area(color="#9ecae1", opacity=0.5, aria=False)
        .encode(x=x, y=alt.Y("controls_p10_c:Q", axis=axis_y), y2="controls_p90_c:Q")
    )
    long = data.melt(id_vars=["year"], value_vars=["project_c", "controls_c"], var_name="serie", value_name="c")
    long["serie"] = long["serie"].map({"project_c": "Projet", "controls_c": "Îlots témoins (moyenne)"})
    lines = (
        alt.Chart(long)
        .mark_line(point=True, aria=False)
        .encode(
            x=x,
            y=alt.Y("c:Q", axis=axis_y),
            color=alt.Color(
                "serie:N",
                title=None,
                scale=alt.Scale(domain=["Projet", "Îlots témoins (moyenne)"], range=["#b2182b", "#2171b5"]),
                legend=alt.Legend(orient="bottom"),
            ),
        )
    )
    return (band + lines).properties(
        height=300, description=f"Écart de température de surface du projet {name} et de ses îlots témoins, par été."
    )


terr = select_territory()
st.title("Suivi des réalisations")
st.caption(
    "Les travaux faits ont-ils rafraîchi la ville ? Chaque été de température de surface (Landsat, vers 11 h "
    "solaire) est rapporté aux îlots non traités la même année, puis chaque projet est comparé à des îlots "
    "témoins semblables, avant et après les travaux. Température de surface, pas de l'air ; la bande thermique "
    f"voit à ~100 m : un projet de moins de {fr.area(MIN_AREA_M2)} n'est pas mesurable."
)
if not reliable(terr):
    st.stop()

# -- the summers ---------------------------------------------------------------------------------------------
index = summers_index(terr.path)
summers = sorted(int(y) for y in index["summers"])
with st.expander(f"Étés de température enregistrés : {len(summers)}", expanded=not summers):
    if summers:
        st.write(", ".join(summer_label(y, index["summers"][str(y)]) for y in summers) + ".")
    for year, why in sorted(index["skipped"].items()):
        st.caption(f"Été {year} absent : {md_escape(why)}.")
    st.caption(
        "Ajouter des étés : `python -m ilots monitor DOSSIER --lst 2019=scene_landsat` (scènes Landsat C2 L2 ou "
        "GeoTIFF de température), ou `--fetch-years 2016-2024` pour les télécharger (service STAC du fetch)."
    )


# -- the works -----------------------------------------------------------------------------------------------
def _add_works(new) -> None:
    """Append ``new`` projects to the saved list (nothing saved is replaced) and rerun."""
    st.session_state["works_saved"] = add_works(terr.path, new)
    st.rerun()


try:
    saved = terr.works()
except IlotsError as exc:
    st.error(md_escape(exc))
    saved = None
editable = creation_enabled()
if (n := st.session_state.pop("works_saved", None)) is not None:
    if n:
        st.success(f"{n} projet(s) ajouté(s) aux réalisations du territoire.")
    else:
        st.info("Ces projets étaient déjà enregistrés : rien n'a été ajouté.")
with st.expander("Ajouter des réalisations", expanded=saved is None):
    if not editable:
        st.info("Sur ce serveur, la liste des réalisations est en lecture seule.")
    else:
        upload = st.file_uploader(
            "Fichier des réalisations (GeoPackage, GeoJSON ou shapefile zippé) : un polygone par projet, avec la "
            "mesure (arbres, désimperméabilisation, toiture végétalisée, toiture fraîche, eau), la date "
            "d'achèvement et, si connus, la surface et le coût",
            type=["gpkg", "geojson", "json", "zip"],
            key="works_file",
        )
        if upload is not None and st.button("Ajouter ces projets", key="works_add_file"):
            with tempfile.TemporaryDirectory(prefix="ilots-works-") as tmp:
                try:
                    path = save_upload(upload, Path(tmp), LIMITS)
                    if path.suffix.lower() == ".zip":
                        shp = [f for f in safe_extract_zip(path, Path(tmp) / "x", LIMITS) if f.suffix.lower() == ".shp"]
                        if not shp:
                            raise InputFileError("L'archive ne contient pas de shapefile (.shp).")
                        path = shp[0]
                    _add_works(read_works(path, terr.blocks.crs))
                except IlotsError as exc:
                    st.error(md_escape(exc))
        empty = gpd.GeoDataFrame({"name": []}, geometry=[], crs=terr.blocks.crs)
        st.write("Ou dessinez un projet sur la carte (outil polygone ou rectangle, en haut à gauche) :")
        state = show_map(
            works_map(
                terr.blocks,
                saved if saved is not None else terr.blocks.iloc[:0],
                {},
                terr.manifest["bounds_wgs84"],
                draw=True,
            ),
            key="works_draw_map",
            height=420,
            returned=["all_drawings"],
        )
        drawn = drawn_polygon((state or {}).get("all_drawings") or [], terr.blocks.crs)
        f1, f2 = st.columns(2)
        name = f1.text_input("Nom du projet", max_chars=120, key="works_draw_name")
        kind = f2.selectbox("Mesure", list(KIND_LABELS), format_func=KIND_LABELS.get, key="works_draw_kind")
        f3, f4 = st.columns(2)
        done = f3.date_input("Date d'achèvement", format="DD/MM/YYYY", key="works_draw_date")
        cost = f4.number_input("Coût (€, facultatif)", min_value=0.0, value=None, step=1000.0, key="works_draw_cost")
        if drawn is not None:
            st.caption(f"Surface dessinée : {fr.area(drawn.area)}.")
        if st.button("Ajouter le projet dessiné", key="works_add_drawn", disabled=drawn is None or not name.strip()):
            try:
                one = gpd.GeoDataFrame(
                    {"nom": [name.strip()], "mesure": [kind], "date_fin": [done.isoformat()], "cout_eur": [cost]},
                    geometry=[drawn],
                    crs=terr.blocks.crs,
                )
                _add_works(check_works(one, "Le projet dessiné"))
            except IlotsError as exc:
                st.error(md_escape(exc))

if saved is None:
    st.info("Aucune réalisation enregistrée pour ce territoire : ajoutez-en un fichier ou dessinez-les ci-dessus.")
    st.stop()

# -- the estimates -------------------------------------------------------------------------------------------
try:
    with st.spinner("Comparaison avant/après des projets…"):
        result = monitoring(terr)
except IlotsError as exc:
    st.warning(md_escape(exc))
    st.stop()

counts = pd.Series([p.verdict_fr for p in result.projects]).value_counts()
cols = st.columns(min(len(counts), 4) or 1)
for col, (label, n) in zip(cols, counts.items(), strict=False):
    col.metric(label[:1].upper() + label[1:], f"{n} projet{'s' if n > 1 else ''}")
st.caption(
    f"Étés comparés : {', '.join(str(y) for y in result.years)} ; "
    f"{fr.num(result.untreated_blocks, 0)} îlots non traités de référence."
    + (" " + " ; ".join(md_escape(n) for n in result.notes) + "." if result.notes else "")
)

table = pd.DataFrame(
    {
        "Projet": [p.name for p in result.projects],
        "Mesure": [p.kind_fr for p in result.projects],
        "Achevé le": [fr.date_fr(p.completed) for p in result.projects],
        "Surface": [fr.area(p.area_m2) for p in result.projects],
        "Verdict": [p.verdict_fr for p in result.projects],
        "Effet mesuré (90 %)": [
            "—"
            if p.effect_c is None
            else f"{fr.temp(p.effect_c, 1, True)} ({fr.temp(p.lo_c, 1, True)} à {fr.temp(p.hi_c, 1, True)})"
            for p in result.projects
        ],
        "Effet minimal détectable": [fr.temp(p.mde_c, 1) if p.mde_c else "—" for p in result.projects],
        "Prévu par le modèle (90 %)": [
            fr.temp_interval(p.predicted_c, p.predicted_lo_c, p.predicted_hi_c) for p in result.projects
        ],
    }
)
st.dataframe(french_table(table), hide_index=True, width="stretch")

names = [p.name for p in result.projects]
chosen = st.selectbox("Projet", names, key="works_chosen")
p = result.projects[names.index(chosen)]
st.subheader(p.name)
st.markdown(f"**{md_escape(p.sentence(with_name=False))}**")
c1, c2, c3 = st.columns(3)
c1.metric("Étés avant / après", f"{len(p.years_before)} / {len(p.years_after)}")
c2.metric(
    "Îlots témoins",
    str(p.n_controls),
    help="Îlots non traités, à plus de 150 m de tout projet, les plus proches du projet par la forme urbaine "
    "(bâti, hauteur, arbres, imperméabilisation, eau, NDVI) et par la température avant travaux.",
)
c3.metric(
    "Part d'un changement vue par le capteur",
    fr.pct(p.seen_fraction),
    help="La bande thermique (100 m) mélange le projet et ses abords : un changement uniforme sur le projet "
    "n'apparaît qu'en partie au-dessus de lui.",
)
if p.predicted_c is not None:
    st.write(
        "Prévu par le modèle pour la même mesure au même endroit, tel que le satellite le verrait : "
        f"{fr.temp_interval(p.predicted_c, p.predicted_lo_c, p.predicted_hi_c)}, intervalle à 90 %."
    )
elif p.predicted_note:
    st.caption(f"Pas de prévision du modèle : {md_escape(p.predicted_note)}.")
for note in p.notes:
    st.caption(f"Note : {md_escape(note)}.")
if len(p.series):
    st.altair_chart(series_chart(p.series, p.name), width="stretch")
    st.caption(
        "Température de surface de chaque été, en écart à la médiane des îlots non traités la même année ; la "
        "bande bleue va du 10e au 90e centile des îlots témoins. "
        f"Les travaux se terminent le {fr.date_fr(p.completed)}."
    )
    with st.expander("Les mêmes valeurs en tableau"):
        rows = p.series.assign(
            period=p.series["period"].map({"before": "avant", "after": "après", "works": "année des travaux"})
        )
        st.dataframe(
            french_table(
                pd.DataFrame(
                    {
                        "Été": rows["year"].astype(int).astype(str),
                        "Période": rows["period"],
                        "Projet": rows["project_c"],
                        "Témoins (moyenne)": rows["controls_c"],
                    }
                ),
                {"Projet": lambda v: fr.temp(v, 1, True), "Témoins (moyenne)": lambda v: fr.temp(v, 1, True)},
            ),
            hide_index=True,
        )

verdicts = {i: (q.verdict, q.verdict_fr) for i, q in zip(result.works.index, result.projects, strict=True)}
show_map(
    works_map(terr.blocks, result.works, verdicts, terr.manifest["bounds_wgs84"], controls=p.control_ids),
    key="works_map",
    height=460,
)

st.subheader("Pour le conseil")
d1, d2, d3 = st.columns(3)
d1.download_button(
    "Fiche d'impact, tous les projets (PDF)",
    impact_pdf(result, terr.name, synthetic=terr.synthetic, blocks=terr.blocks),
    file_name=f"suivi_realisations_{slug_for_file(terr.name)}.pdf",
    mime="application/pdf",
    key="impact_all",
)
d2.download_button(
    "Fiche de ce projet (PDF)",
    impact_pdf(result, terr.name, synthetic=terr.synthetic, blocks=terr.blocks, only=p.name),
    file_name=f"suivi_{slug_for_file(p.name)}.pdf",
    mime="application/pdf",
    key="impact_one",
)
d3.download_button(
    "Tableau des projets (CSV)",
    to_csv_bytes(result.table()),
    file_name=f"suivi_realisations_{slug_for_file(terr.name)}.csv",
    mime="text/csv",
    key="impact_csv",
)
st.caption(
    "Méthode : différence de différences avec des îlots témoins ; intervalle à 90 % par rééchantillonnage des "
    "étés et des témoins ; l'été des travaux est écarté. Détails et limites : docs/monitoring.md. "
    + ("Données synthétiques : les projets d'« Îlotville » et leurs effets sont fictifs." if terr.synthetic else "")
)
