"""Modèle: how good the heat model is (spatial vs random CV), its effects in °C, and its limits."""

import pandas as pd
import streamlit as st

from ilots import fr
from ilots.maps import residual_map
from ilots.monitor import prediction_check
from ilots.store import read_monitor_results
from ui.common import blocks_with_model, french_table, model, select_territory, show_map


def observed_predicted_chart(frame: pd.DataFrame):
    """Observed against out-of-fold predicted LST (°C), axes on the data's range (not from 0), with the diagonal."""
    import altair as alt

    lo, hi = float(frame.min().min()), float(frame.max().max())
    pad = max((hi - lo) * 0.04, 0.1)
    scale = alt.Scale(domain=[lo - pad, hi + pad], zero=False, nice=False)
    axis_x = alt.Axis(title="Observé (°C)", labelExpr="replace(format(datum.value, '.0f'), '.', ',')")
    axis_y = alt.Axis(title="Prédit sans voir l'îlot (°C)", labelExpr="replace(format(datum.value, '.0f'), '.', ',')")
    shown = frame.assign(observed_fr=frame["observed"].map(fr.temp), predicted_fr=frame["predicted"].map(fr.temp))
    points = (
        alt.Chart(shown)
        .mark_circle(size=28, opacity=0.6, color="#1f5fa8")
        .encode(
            x=alt.X("observed:Q", scale=scale, axis=axis_x),
            y=alt.Y("predicted:Q", scale=scale, axis=axis_y),
            tooltip=[alt.Tooltip("observed_fr:N", title="Observé"), alt.Tooltip("predicted_fr:N", title="Prédit")],
        )
    )
    diagonal = (
        alt.Chart(pd.DataFrame({"observed": [lo - pad, hi + pad], "predicted": [lo - pad, hi + pad]}))
        .mark_line(color="#555555", strokeDash=[4, 3])
        .encode(x="observed:Q", y="predicted:Q")
    )
    return (points + diagonal).properties(height=360)


def _footprint_gain(sharp: dict, matched: dict) -> str:
    """What matching the sensor's footprint changes in the linear model's spatial-CV skill, in one sentence."""
    before, after = round(sharp["r2"] * 100), round(matched["r2"] * 100)
    if before == after:
        return (
            f" Sur ce territoire, la correction ne change pas la qualité d'ensemble du modèle linéaire "
            f"({fr.num(after, 0)}\u00a0% des écarts expliqués avec ou sans)."
        )
    return (
        f" Sans cette correction, le modèle linéaire expliquerait {fr.num(before, 0)}\u00a0% des écarts "
        f"(erreur {fr.temp(sharp['rmse_c'])}) au lieu de {fr.num(after, 0)}\u00a0%."
    )


terr = select_territory()
meta, table = model(terr)
blocks = blocks_with_model(terr)
st.title("Le modèle de chaleur")
for warning in meta.get("warnings", []):
    st.warning(warning, icon=":material/warning:")

m = meta["metrics"]
sp, rd = m["spatial_cv"], m["random_cv"]
st.markdown(
    f"Le modèle retenu (**{'régression ridge' if meta['chosen'] == 'ridge' else 'gradient boosting'}**) explique "
    f"**{fr.num(sp['r2'] * 100, 0)} %** des écarts de température de surface entre îlots quand on le teste sur des "
    f"quartiers entiers qu'il n'a jamais vus, avec une erreur moyenne de **{fr.temp(sp['rmse_c'])}**. "
    f"Testé îlot par îlot au hasard, il semblerait meilleur ({fr.num(rd['r2'] * 100, 0)} %) : c'est la validation "
    "spatiale qui compte, car des îlots voisins se ressemblent."
)
dry = m.get("spatial_cv_without_water")
if dry:
    st.caption(
        "Sans les indicateurs d'eau "
        f"({', '.join(meta['features'][f]['label_fr'] for f in dry['features_left_out'] if f in meta['features'])}), "
        f"le même modèle expliquerait {fr.num(dry['r2'] * 100, 0)} % des écarts en validation spatiale "
        f"(erreur {fr.temp(dry['rmse_c'])}) : la part de l'eau dans la qualité affichée. La température modélisée est "
        + (
            "celle des surfaces hors eau de chaque îlot."
            if meta.get("target") == "lst_land_c"
            else "celle de l'îlot entier (pas de couche d'eau pour l'en retirer)."
        )
    )
rows = []
veg_feature = m.get("baseline_vegetation_feature", "ndvi_mean")
names = {
    "ridge": "Régression ridge",
    "boosting": "Gradient boosting",
    "baseline_vegetation": "Végétation seule "
    f"({ {'ndvi_mean': 'NDVI', 'tree_frac': 'part d’arbres'}.get(veg_feature, veg_feature) })",
    "baseline_mean": "Moyenne (référence)",
}
for key, label in names.items():
    s, r = m["by_model"]["spatial_cv"][key], m["by_model"]["random_cv"][key]
    rows.append(
        {
            "Modèle": label,
            "R² spatial": fr.num(s["r2"], 2),
            "Erreur spatiale (RMSE)": fr.temp(s["rmse_c"], 2),
            "Erreur absolue moyenne": fr.temp(s["mae_c"], 2),
            "R² aléatoire": fr.num(r["r2"], 2),
        }
    )
st.dataframe(pd.DataFrame(rows), hide_index=True)
cov = meta["training"].get("interval_coverage")
if cov:
    st.caption(
        f"Fourchettes de température prédite (îlots sous les nuages) : elles contiennent la valeur observée pour "
        f"{fr.pct(cov['overall'])} des îlots testés sur des quartiers non vus, "
        f"{fr.pct(cov['hottest_third_predicted'])} "
        f"dans le tiers prédit le plus chaud et {fr.pct(cov['hottest_third_observed'])} dans le tiers observé le plus "
        f"chaud (objectif 90 % ; niveau nominal retenu {fr.pct(cov['level'])})."
    )
st.caption(
    f"Validation spatiale : {meta['folds']['n_folds']} plis de tuiles de {fr.num(meta['folds']['tile_m'], 0)} m ; "
    f"{fr.num(meta['training']['n_train'], 0)} îlots d'apprentissage ; "
    f"{fr.num(meta['training']['n_excluded_low_valid'], 0)} îlots exclus (moins de la moitié de pixels valides)."
)

c1, c2 = st.columns(2)
with c1:
    st.subheader("Observé et prédit")
    fit = table[table["in_fit"]]
    target = meta.get("target", "lst_mean_c")
    chart = pd.DataFrame({"observed": blocks.loc[fit.index, target], "predicted": fit["lst_oof_c"]}).dropna()
    st.altair_chart(observed_predicted_chart(chart), use_container_width=True)
    st.caption(
        "Chaque point est un îlot prédit sans l'avoir vu (validation spatiale) ; sur la diagonale, la "
        "prédiction est exacte."
    )
with c2:
    st.subheader("Effets en °C (modèle linéaire)")
    eff = pd.DataFrame(
        [
            {
                "Facteur": e["label_fr"],
                "Effet": fr.temp(e["effect_c"], 2, True),
                "Intervalle à 90 %": f"{fr.temp(e['lo_c'], 2, True)} à {fr.temp(e['hi_c'], 2, True)}",
            }
            for e in meta["effects"].values()
        ]
    )
    st.dataframe(eff, hide_index=True)
    st.caption(
        "Référence publiée : environ −0,6 °C de température de surface pour +10 % de couvert arboré "
        "(Yang et al. 2022, 510 villes)."
    )
    foot = meta["training"].get("footprint") or {}
    sharp = m.get("spatial_cv_unmatched_ridge")
    if foot.get("matched"):
        st.caption(
            f"Le capteur thermique voit environ {fr.num(foot['fwhm_m'], 0)} m : chaque îlot y « déborde » sur ses "
            "voisins. Le modèle lit donc les parts d'arbres, d'herbe, de bâti… telles que le capteur les voit "
            "(lissées de la même façon) ; ses effets sont ceux d'un changement **sur le sol de l'îlot**, quelle que "
            "soit sa taille, au lieu d'être rognés par le flou."
            + (_footprint_gain(sharp, m["by_model"]["spatial_cv"]["ridge"]) if sharp else "")
        )
    boot = meta["training"].get("bootstrap") or {}
    if boot:
        st.caption(
            f"Intervalles : rééchantillonnage de {fr.num(boot['tiles'], 0)} tuiles entières (les erreurs se "
            "ressemblent entre voisins), élargi pour le petit nombre de tuiles"
            + (", avec l'écart entre les dates d'acquisition." if boot.get("dates") else ".")
        )

st.subheader("Carte des résidus")
st.caption(
    "Observé moins prédit : en rouge, îlots plus chauds que ce que le modèle explique (à examiner sur le terrain)."
)
res = table["residual_c"].reindex(blocks.index)
show_map(residual_map(blocks, res, terr.manifest["bounds_wgs84"]), key="residual_map", height=460)
with st.expander("Tableau : les 20 plus grands résidus (alternative à la carte)"):
    top = res.dropna().abs().sort_values(ascending=False).index[:20]
    st.dataframe(
        french_table(
            pd.DataFrame(
                {"Résidu": res[top], "Observé": blocks.loc[top, target], "Prédit": table.loc[top, "lst_pred_c"]},
                index=pd.Index(top, name="Îlot"),
            ),
            {"Résidu": lambda v: fr.temp(v, 1, True), "Observé": fr.temp, "Prédit": fr.temp},
        )
    )

st.subheader("Sensibilité de l'indice de risque")
sens = meta["risk"].get("sensitivity")
params = meta["risk"]["params"]
if sens:
    tau = sens["kendall_tau_min"]
    st.markdown(
        f"L'indice (**{meta['risk']['mode']}**) dépend de références choisies, pas de seuils officiels. Sur "
        f"{sens['n_settings']} réglages plausibles (écart de +2 à +4 °C pour l'aléa maximal, 100 à 250 habitants/ha, "
        f"références de vulnérabilité ±25 %), le nombre d'îlots en risque élevé ou très élevé va de "
        f"**{fr.num(sens['high_risk_blocks'][0], 0)} à {fr.num(sens['high_risk_blocks'][1], 0)}** "
        f"({fr.num(sens['high_risk_blocks_chosen'], 0)} avec le réglage retenu)"
        + (
            f", tandis que le classement des îlots bouge peu (τ de Kendall d'au moins {fr.num(tau, 2)})."
            if tau
            else "."
        )
        + " Lisez donc les classes comme un ordre de priorité, et les effectifs par classe comme un ordre de grandeur."
    )
st.caption(
    f"Références retenues : aléa de {fr.temp(params['anomaly_low_c'], 0, True)} à "
    f"{fr.temp(params['anomaly_high_c'], 0, True)} autour de la médiane ; {fr.num(params['dense_per_ha'], 0)} "
    f"habitants/ha ; part de personnes âgées {fr.pct(params['elderly_ref'])} et de ménages pauvres "
    f"{fr.pct(params['low_income_ref'])}, calées sur les 10 % d'îlots les plus concernés du territoire."
    + (
        f" {fr.num(meta['risk']['n_population_unknown'], 0)} îlots sans donnée de population sont « non "
        "évaluables » : leur aléa reste affiché."
        if meta["risk"].get("n_population_unknown")
        else ""
    )
)

with st.expander("Facteurs utilisés et écartés"):
    st.dataframe(
        pd.DataFrame(
            [
                {"Facteur": k, "Utilisé": "oui" if v["used"] else "non", "Raison": v.get("reason") or ""}
                for k, v in meta["features"].items()
            ]
        ),
        hide_index=True,
    )

st.subheader("Les scénarios face aux réalisations")
stored = read_monitor_results(terr.path)
check = prediction_check(stored) if stored else pd.DataFrame()
if check.empty:
    st.caption(
        "Aucun projet achevé n'a encore été mesuré sur ce territoire : la page « Suivi des réalisations » (ou "
        "`python -m ilots monitor`) compare ce que les scénarios prévoient à ce que le satellite mesure après les "
        "travaux. C'est la validation du modèle par la réalité."
    )
else:
    agree = int(check["accord"].sum())
    st.markdown(
        f"Sur **{len(check)}** projet(s) achevé(s) mesuré(s) par le satellite, la prévision du modèle pour la même "
        f"mesure au même endroit est compatible avec la mesure (intervalles à 90 % qui se recouvrent) pour "
        f"**{agree}**. Un écart dit que le modèle, qui apprend des différences entre îlots d'un même été, "
        "surestime ou sous-estime l'effet d'un changement réel : lisez ses scénarios en conséquence."
    )
    st.dataframe(
        french_table(
            pd.DataFrame(
                {
                    "Projet": check["nom"],
                    "Mesure": check["mesure"],
                    "Mesuré (90 %)": [
                        fr.temp_interval(v, lo, hi)
                        for v, lo, hi in zip(
                            check["mesure_c"], check["mesure_bas_c"], check["mesure_haut_c"], strict=True
                        )
                    ],
                    "Prévu (90 %)": [
                        fr.temp_interval(v, lo, hi)
                        for v, lo, hi in zip(check["prevu_c"], check["prevu_bas_c"], check["prevu_haut_c"], strict=True)
                    ],
                    "Compatibles": ["oui" if a else "non" for a in check["accord"]],
                }
            )
        ),
        hide_index=True,
    )
    st.caption(
        "Effets sur la température de surface au-dessus du projet, la prévision passée par l'empreinte de la "
        "bande thermique comme la mesure. Méthode : docs/monitoring.md."
    )

st.subheader("Limites")
st.markdown(
    "- Température **de surface** (toits, sols, végétation) vers **11 h solaire** le jour du passage du satellite : "
    "ce n'est pas la température de l'air ressentie, ni la chaleur de la nuit qui pèse le plus sur la santé.\n"
    "- Résolution thermique native d'environ **100 m** : des îlots voisins partagent les mêmes pixels.\n"
    "- Les dates dépendent des nuages ; une image est la météo d'un seul jour.\n"
    "- Les effets sont des **associations** observées sur ce territoire, pas des lois physiques : à confirmer "
    "par des mesures de terrain avant d'engager des travaux."
)
