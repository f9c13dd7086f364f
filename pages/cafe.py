"""Café IA: for citizens, on a phone or a projector. Find your block, see why it is hot, plant trees."""

import streamlit as st

from ilots import fr
from ilots.explain import compared_to_mean
from ilots.scenarios import Intervention, Scenario, Target
from ui.common import (
    blocks_with_model,
    choose_found,
    chosen_block,
    clicked_block,
    engine,
    find_places,
    go_to_block,
    md_escape,
    reliable,
    search_example,
    select_territory,
    share_block,
    show_map,
    territory_map,
)

st.markdown(
    """<style>
    .stApp p, .stApp li, .stApp label, .stApp input {font-size: 1.25rem !important;}
    .stApp h1 {font-size: 2.4rem !important;}
    .ilots-big {font-size: 3rem; font-weight: 700; line-height: 1.1; margin: .2rem 0;}
    .ilots-sub {font-size: 1.2rem; color: #333;}
    </style>""",
    unsafe_allow_html=True,
)
terr = select_territory()
blocks = blocks_with_model(terr)
trusted = reliable(terr)
eng = engine(terr) if trusted else None
st.title("Et mon îlot ?")
st.write("Tapez le nom de votre rue, ou touchez la carte.")

query = st.text_input("Votre rue", key="cafe_search", placeholder=search_example(terr))
if query:
    hits, why = find_places(terr, blocks, query, limit=5)
    if hits:
        i = st.radio("Choisissez", range(len(hits)), format_func=lambda k: md_escape(hits[k]["label"]), key="cafe_hit")
        choose_found(terr, "cafe_hit_applied", query, i, hits[i]["block_id"])
    else:
        st.write(why)

# Never inside a collapsed expander: Leaflet cannot size a hidden map, and showed the whole world.
bid = chosen_block(terr, blocks.index)
state = show_map(
    territory_map(terr, ["lst"], highlight=bid), key=f"cafe_map_{bid}", height=380, returned=["last_active_drawing"]
)
go_to_block(terr, clicked_block(state), bid, blocks.index)

with st.expander("Sans la carte : choisir dans la liste"):
    order = blocks["lst_used_c"].sort_values(ascending=False)
    listed = [None, *order.index]
    picked = st.selectbox(
        "Îlots, du plus chaud au plus frais",
        listed,
        index=listed.index(bid) if bid in listed else 0,
        format_func=lambda i: "—" if i is None else f"Îlot {i} : {fr.temp(order[i])}",
        key=f"cafe_list_{bid}",
    )
    go_to_block(terr, picked, bid, blocks.index)

# IRIS or sections given as blocks are neighbourhoods, not blocks: say « quartier » to citizens (median > 5 ha).
large_blocks = float(blocks["area_m2"].median()) > 50_000
if bid is not None:
    b = blocks.loc[bid]
    compared = compared_to_mean(b["lst_used_c"], blocks["lst_used_c"].mean())
    place = "Votre quartier" if large_blocks else "Votre îlot"
    measured = b["lst_source"] == "observed"
    st.subheader(place)
    st.markdown(
        f'<div class="ilots-big">{fr.temp(b["lst_used_c"])}</div>'
        f'<div class="ilots-sub">au sol, vers midi, un jour de grande chaleur : {compared}.</div>',
        unsafe_allow_html=True,
    )
    if not measured:
        st.write(
            "Le satellite n'a pas vu cet endroit ce jour-là (nuages ou bord de l'image) : ce chiffre est "
            "**estimé par le modèle**, pas mesuré."
        )
    if not trusted:
        st.stop()
    st.write(md_escape(b["explanation"]))
    st.subheader("Et si on plantait des arbres ici ?")
    pts = st.slider("Arbres en plus (points de couvert)", 0, 40, 10, key="cafe_trees")
    per_block, _ = eng.apply(Scenario("café", [Intervention("trees", pts, Target("ids", ids=[bid]))]))
    d = per_block.loc[bid, "delta_c"]
    lo, hi = per_block.loc[bid, "delta_lo_c"], per_block.loc[bid, "delta_hi_c"]
    if pts == 0:
        st.write("Faites glisser le curseur pour voir l'effet.")
    else:
        st.markdown(
            f'<div class="ilots-big">{fr.temp(d, 1, True)}</div>'
            f'<div class="ilots-sub">au sol avec {pts} % de la surface '
            f"{'du quartier' if large_blocks else 'de l’îlot'} couverte d'arbres en plus, "
            f"sur les cours, parkings et trottoirs (probablement entre {fr.temp(lo, 1, True)} et "
            f"{fr.temp(hi, 1, True)}).</div>",
            unsafe_allow_html=True,
        )
        if per_block.loc[bid, "extrapolated"]:
            st.write("C'est plus que ce qu'on observe aujourd'hui dans la ville : l'estimation est moins sûre.")
    st.caption(
        (
            "Température des surfaces (toits, sols, arbres) mesurée par satellite"
            if measured
            else "Température des surfaces (toits, sols, arbres) estimée à partir des îlots mesurés par satellite"
        )
        + f", en moyenne sur {'le quartier' if large_blocks else 'l’îlot'} (pas chaque logement), pas celle de l'air. "
        "Les études trouvent environ −0,6 °C pour +10 % d'arbres (Yang et al. 2022)."
    )

with st.expander("Pour l'animateur : QR code à imprimer ou projeter"):
    st.write(
        "Les participants le scannent avec leur téléphone : la page s'ouvre sur ce territoire"
        + (" et sur l'îlot affiché." if bid is not None else ".")
    )
    share_block(terr, bid)
