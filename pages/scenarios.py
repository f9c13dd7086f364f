"""Scénarios: choose blocks and interventions, see the cooling, save, reload, delete, compare."""

import pandas as pd
import streamlit as st

from ilots import fr
from ilots.errors import IlotsError
from ilots.maps import comparison_maps, delta_map
from ilots.scenarios import (
    KINDS,
    Intervention,
    Scenario,
    Target,
    compare_scenarios,
    delete_scenario,
    drawn_target,
    list_scenarios,
    save_scenario,
    target_area,
)
from ui.common import (
    blocks_with_model,
    clicked_block,
    engine,
    french_table,
    md_escape,
    refuges_with,
    reliable,
    select_territory,
    show_map,
    territory_map,
)

terr = select_territory()
if not reliable(terr):
    st.title("Scénarios de végétalisation")
    st.stop()
eng = engine(terr)
blocks = blocks_with_model(terr)
st.title("Scénarios de végétalisation")
st.caption(
    "Effets estimés sur la température de surface vers 11 h solaire (modèle linéaire du territoire) ; "
    "les toits et chaussées réfléchissants utilisent un coefficient publié (Santamouris 2014)."
)

# -- which blocks ----------------------------------------------------------------------------------
TARGETS = {
    "risk": "Îlots à risque élevé ou plus",
    "all": "Tous les îlots",
    "drawn": "Zone dessinée sur la carte",
    "ids": "Îlots choisis sur la carte",
}
default = "ids" if st.session_state.get("scenario_ids") else "risk"
mode = st.radio(
    "Îlots concernés",
    list(TARGETS),
    format_func=TARGETS.get,
    horizontal=True,
    index=list(TARGETS).index(default),
    key="scenario_target",
)
target = Target("all")
if mode == "risk":
    cls = st.select_slider(
        "Classe de risque minimale",
        options=[2, 3, 4, 5],
        value=4,
        key="scenario_min_class",
        format_func=lambda c: {2: "faible", 3: "moyen", 4: "élevé", 5: "très élevé"}[c],
    )
    target = Target("risk", min_class=cls)
elif mode == "ids":
    ids = [i for i in st.session_state.get("scenario_ids", []) if i in blocks.index]
    st.caption("Cliquez sur des îlots de la carte pour les ajouter ou les retirer.")
    state = show_map(
        territory_map(terr, ["risk"]), key="scenario_pick_map", height=420, returned=["last_active_drawing"]
    )
    clicked = clicked_block(state)
    if clicked in blocks.index and st.session_state.get("scenario_last_click") != clicked:
        st.session_state["scenario_last_click"] = clicked
        ids = [i for i in ids if i != clicked] if clicked in ids else ids + [clicked]
        st.session_state["scenario_ids"] = ids
    typed = st.multiselect(
        "Îlots choisis (au clavier : tapez un numéro d'îlot)",
        list(blocks.index),
        default=ids,
        key=f"scenario_ids_typed_{len(ids)}_{ids[-1] if ids else ''}",
    )
    if typed != ids:
        ids = list(typed)
        st.session_state["scenario_ids"] = ids
    target = Target("ids", ids=ids) if ids else None
elif mode == "drawn":
    st.caption("Dessinez un polygone ou un rectangle avec les outils en haut à gauche de la carte.")
    state = show_map(
        territory_map(terr, ["risk"], draw=True), key="scenario_draw_map", height=420, returned=["all_drawings"]
    )
    target = drawn_target((state or {}).get("all_drawings") or [], blocks.crs)

# -- interventions (a fragment: moving a slider reruns only this part) ----------------------------


@st.fragment
def interventions_panel(target: Target | None) -> None:
    c1, c2, c3 = st.columns(3)
    trees = c1.slider("Arbres : points de couvert ajoutés", 0, 40, 10, key="sc_trees")
    depave = c2.slider("Désimperméabiliser : % du sol revêtu", 0, 100, 0, key="sc_depave")
    green = c3.slider("Toits plats végétalisés (%)", 0, 100, 0, key="sc_green")
    c4, c5, _ = st.columns(3)
    cool = c4.slider("Toits réfléchissants (%)", 0, 100, 0, key="sc_cool")
    pave = c5.slider("Chaussées réfléchissantes (%)", 0, 100, 0, key="sc_pave")
    if target is None:
        st.info("Choisissez d'abord des îlots.")
        return
    items = [
        Intervention(k, v, target)
        for k, v in (
            ("trees", trees),
            ("depave", depave),
            ("green_roofs", green),
            ("cool_roofs", cool),
            ("cool_pavements", pave),
        )
        if v
    ]
    scenario = Scenario(st.session_state.get("sc_name") or "Mon scénario", items)
    per_block, s = eng.apply(scenario)
    st.session_state["last_scenario"] = (terr.path.name, scenario)  # offered by « Enregistrer » and the Briefing
    lo, hi = s["delta_mean_interval_c"]
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Îlots modifiés", fr.num(s["n_blocks_changed"], 0))
    m2.metric(
        "Température de surface",
        fr.temp(s["delta_mean_c"], 2, signed=True),
        help=(
            f"Moyenne des îlots modifiés, pondérée par la surface ; intervalle à 90 % : {fr.temp(lo, 2, True)} "
            f"à {fr.temp(hi, 2, True)}"
            if lo is not None
            else "Aucun changement."
        ),
    )
    olo, ohi = s["residents_out_of_high_risk_interval"]
    m3.metric(
        "Degrés·habitants évités",
        fr.num(s["person_degrees_avoided"], 0),
        help=(
            "Somme, sur les îlots modifiés, des habitants × baisse de température de surface : un chiffre sans "
            "seuil. Habitants des îlots les plus chauds : "
            f"{fr.temp(s['delta_hot_residents_c'], 2, True)} en moyenne."
            if s["residents_reached"] is not None
            else "Pas de données de population sur ce territoire."
        ),
    )
    m4.metric(
        "Coût estimé",
        f"{fr.num(s['cost_eur'] / 1e6, 2)} M€",
        help="Coûts unitaires indicatifs (€/m²), à adapter : voir la page Données et transparence.",
    )
    if lo is not None:
        st.caption(
            f"Intervalle à 90 % de la variation moyenne : {fr.temp(lo, 2, True)} à {fr.temp(hi, 2, True)}. "
            f"Surfaces traitées : {fr.num(sum(s['m2'].values()) / 10_000, 2)} ha."
        )
    if s["residents_reached"] is not None and olo is not None:
        st.caption(
            f"Habitants sortis du risque élevé : environ {fr.num(s['residents_out_of_high_risk'], 0)} "
            f"(intervalle à 90 % : {fr.num(olo, 0)} à {fr.num(ohi, 0)}), selon 200 tirages de l'erreur de "
            "température et des réglages de l'indice : un effet de seuil, à lire comme un ordre de grandeur."
        )
    if s.get("delta_air_mean_c") is not None:
        alo, ahi = s["delta_air_interval_c"]
        st.caption(
            f"Revêtements réfléchissants : {fr.temp(s['delta_air_mean_c'], 2, True)} de **température de l'air** "
            f"(de {fr.temp(alo, 2, True)} à {fr.temp(ahi, 2, True)}), ordre de grandeur publié (Santamouris 2014), "
            "montré à part : il ne s'ajoute pas à la température de surface ci-dessus."
        )
    if s["n_extrapolated"]:
        n = s["n_extrapolated"]
        st.warning(
            f"{fr.num(n, 0)} îlot{'s' if n > 1 else ''} sor{'tent' if n > 1 else 't'} des valeurs observées sur "
            "le territoire : l'effet y est plafonné et moins sûr."
        )
    for kind, band in s["sanity"].items():
        model_txt = f" ; ce modèle : {fr.temp(band['model_c'], 2, True)}" if band.get("model_c") is not None else ""
        value = fr.temp(band["value_c"], 2, True) if band["value_c"] is not None else "—"
        st.caption(
            f"Repère publié ({KINDS[kind].split(' (')[0].lower()}) : {value} pour {band['per']}, "
            f"{band['metric']} — {band['source']}{model_txt}."
        )
        if band.get("note"):
            st.warning(band["note"])
    # The maps are opt-in: redrawing them at every slider move would cost each user server time.
    if st.toggle("Cartes avant / après (côte à côte sur grand écran)", key="sc_show_pair"):
        kind = st.radio(
            "Montrer",
            ["lst", "risk"],
            horizontal=True,
            key="sc_pair_kind",
            format_func={"lst": "Température de surface (°C)", "risk": "Risque de chaleur"}.get,
        )
        today, after = comparison_maps(blocks, per_block, terr.manifest["bounds_wgs84"], kind)
        left, right = st.columns(2)
        with left:
            st.markdown("**Aujourd'hui**")
            show_map(today, key=f"before_map_{kind}", height=380)
        with right:
            st.markdown("**Avec le scénario** (contour noir : îlots modifiés)")
            show_map(after, key=f"after_map_{kind}", height=380)
        st.caption(
            "Même échelle de couleurs sur les deux cartes. Température de surface vers 11 h solaire, pas celle "
            "de l'air ; le tableau des îlots modifiés ci-dessous en est l'alternative au clavier."
        )
    if st.toggle("Carte des variations de température", key="sc_show_map"):
        show_map(
            delta_map(blocks, per_block["delta_c"].where(per_block["changed"]), terr.manifest["bounds_wgs84"]),
            key="delta_map",
            height=420,
        )
    changed = per_block[per_block["changed"]].sort_values("delta_c")
    if len(changed):
        with st.expander(f"Tableau des {fr.num(len(changed), 0)} îlots modifiés (alternative à la carte)"):
            shown = changed.head(200)
            st.dataframe(
                french_table(
                    pd.DataFrame(
                        {
                            "Avant": shown["lst_before_c"],
                            "Après": shown["lst_after_c"],
                            "Variation": shown["delta_c"],
                            "Intervalle à 90 %": [
                                f"{fr.temp(lo, 2, True)} à {fr.temp(hi, 2, True)}"
                                for lo, hi in zip(shown["delta_lo_c"], shown["delta_hi_c"], strict=True)
                            ],
                        },
                        index=pd.Index(shown.index, name="Îlot"),
                    ),
                    {"Avant": fr.temp, "Après": fr.temp, "Variation": lambda v: fr.temp(v, 2, True)},
                )
            )
            if len(changed) > len(shown):
                st.caption(
                    f"Les {fr.num(len(shown), 0)} îlots les plus rafraîchis ; l'export CSV de la page Briefing les "
                    "donne tous."
                )


interventions_panel(target)

# -- a cool refuge added (a park created, a schoolyard opened in summer) ---------------------------
st.subheader("Ouvrir un refuge frais")
if mode not in ("ids", "drawn") or target is None:
    st.caption(
        "Choisissez des îlots sur la carte ou dessinez une zone (ci-dessus) : ils peuvent devenir un refuge frais "
        "(parc créé, cour d'école ouverte l'été) et la page dit combien d'habitants s'en trouvent à moins de 300 m."
    )
else:
    area = target_area(blocks, target)
    st.caption(
        f"Zone choisie : {fr.num(area.area / 10_000, 2)} ha. Un refuge se rejoint à pied depuis les rues qui le "
        "bordent (à moins de 30 m)."
    )
    if st.toggle("En faire un refuge frais ouvert l'été", key="sc_refuge_on"):
        try:
            report = refuges_with(terr, area)
        except IlotsError as exc:
            st.warning(md_escape(exc))
        else:
            before, after = report.summary, report.summary_after
            r1, r2 = st.columns(2)
            if before.get("share_residents_far") is not None:
                r1.metric(
                    "Habitants à plus de 300 m d'un refuge, aujourd'hui", fr.pct(before["share_residents_far"], 1)
                )
                gained = before["residents_far"] - after["residents_far"]
                r2.metric(
                    "Avec ce refuge",
                    fr.pct(after["share_residents_far"], 1),
                    f"{fr.num(round(gained, -1), 0)} habitants de plus à moins de 300 m",
                    delta_color="normal" if gained > 0 else "off",
                )
            else:
                r1.metric("Îlots à plus de 300 m d'un refuge, aujourd'hui", fr.num(before["blocks_far"], 0))
                r2.metric("Avec ce refuge", fr.num(after["blocks_far"], 0))
            st.caption(
                "Distances à pied le long des rues BD TOPO (≈ 5 min pour 300 m) ; habitants estimés du carroyage, "
                "à la dizaine près. Le refuge ajouté ne change pas la température calculée ci-dessus. "
                "Méthode : docs/places.md."
            )

# -- save, reload, delete, compare -----------------------------------------------------------------
st.subheader("Enregistrer et comparer")
saved, problems = list_scenarios(terr.path)
for p in problems:
    st.warning(f"Scénario ignoré : {md_escape(p)}")
c1, c2 = st.columns([2, 1])
name = c1.text_input("Nom du scénario", key="sc_name", max_chars=80)
if c2.button("Enregistrer", key="sc_save", disabled=not name):
    here, last = st.session_state.get("last_scenario") or (None, None)
    last = last if here == terr.path.name else None
    try:
        if last is None or not last.interventions:
            raise IlotsError("Réglez au moins une intervention avant d'enregistrer.")
        save_scenario(terr.path, Scenario(name, last.interventions))
        st.success(f"Scénario « {md_escape(name)} » enregistré.")
        saved, problems = list_scenarios(terr.path)
    except IlotsError as exc:
        st.error(md_escape(exc))

if saved:
    names = [s.name for s in saved]
    picked = st.multiselect(
        "Comparer (jusqu'à trois scénarios)",
        names,
        default=names[: min(3, len(names))],
        max_selections=3,
        key="sc_compare",
    )
    if picked:
        table = compare_scenarios(eng, [s for s in saved if s.name in picked])
        shown = pd.DataFrame(
            {
                "Îlots modifiés": table["n_blocks_changed"].map(lambda v: fr.num(v, 0)),
                "Temp. de surface": table["delta_mean_c"].map(lambda v: fr.temp(v, 2, True)),
                "Pondérée habitants": table["delta_pop_weighted_c"].map(lambda v: fr.temp(v, 2, True)),
                "Habitants sortis du risque élevé (médiane simulée)": table["residents_out_of_high_risk"].map(
                    lambda v: fr.num(v, 0)
                ),
                "Coût (M€)": table["cost_eur"].map(lambda v: fr.num(v / 1e6, 2)),
            }
        )
        st.dataframe(shown)
        st.bar_chart(table[["delta_mean_c"]].rename(columns={"delta_mean_c": "Variation moyenne (°C)"}), height=240)
    c3, c4 = st.columns([2, 1])
    to_delete = c3.selectbox("Supprimer un scénario", ["—"] + names, key="sc_delete_pick")
    if c4.button("Supprimer", key="sc_delete", disabled=to_delete == "—"):
        delete_scenario(terr.path, to_delete)
        st.success(f"Scénario « {md_escape(to_delete)} » supprimé.")
        st.rerun()
