"""Command line: ``python -m ilots build | fetch | build-many | restat | monitor | refuges | facilities | night | info |
demo | fit | scenario``.

User mistakes (bad file, no overlap, ...) print one clear French line on stderr and exit with
code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from . import fr
from .errors import BuildError, FitError, IlotsError, WriteError, describe_os_error
from .lean import without_dask_arrays

__all__ = ["main", "territory_summary"]

EXIT_USER_ERROR = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE: a defect, not a user mistake


class _Progress:
    """A tqdm bar on stderr, or nothing when stderr is not a terminal and quiet is asked."""

    def __init__(self, enabled: bool):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=100, file=sys.stderr, bar_format="{percentage:3.0f}% |{bar:30}| {desc}", leave=False, disable=None
            )

    def __call__(self, message: str, fraction: float | None) -> None:
        if self.bar is not None:
            self.bar.set_description_str(message)
            if fraction is not None:  # an unknown share keeps the bar where it was
                self.bar.n = int(round(fraction * 100))
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _range(text: str, lo: int, hi: int, expected: str) -> tuple[int, int]:
    """« 6-8 » or « 7 » → (6, 8) / (7, 7), within [lo, hi]; else argparse's error with ``expected``."""
    try:
        parts = [int(v) for v in text.replace("–", "-").split("-")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not (lo <= parts[0] <= parts[1] <= hi):
        raise argparse.ArgumentTypeError(f"attendu {expected}")
    return parts[0], parts[1]


def _months(text: str) -> tuple[int, int]:
    return _range(text, 1, 12, "un mois ou un intervalle de mois, ex. 6-8 pour juin à août")


def _years(text: str) -> tuple[int, int]:
    return _range(text, 1982, 2100, "une année ou un intervalle d'années, ex. 2016-2024")


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.replace(";", ",").split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not (values[0] < values[2] and values[1] < values[3]):
        raise argparse.ArgumentTypeError("attendu lon_min,lat_min,lon_max,lat_max, ex. 4.80,45.74,4.87,45.78")
    return values


def _bounded(kind, lo: float, hi: float, what: str):
    """An argparse type: a number of ``kind`` within [lo, hi], refused with a French sentence otherwise."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not np.isfinite(value) or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{what} : attendu un nombre entre {lo:g} et {hi:g}, reçu « {text} »")
        return value

    return parse


_ARGPARSE_FR = (
    ("the following arguments are required: ", "options obligatoires manquantes : "),
    ("unrecognized arguments: ", "options inconnues : "),
    ("expected one argument", "une valeur est attendue"),
    ("invalid choice: ", "choix invalide : "),
    ("(choose from ", "(au choix "),
    ("invalid int value: ", "nombre entier attendu, reçu "),
    ("invalid float value: ", "nombre attendu, reçu "),
    ("not allowed with argument ", "incompatible avec l'option "),
    ("argument ", "option "),
)


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors as one French sentence on stderr (exit code 2)."""

    def error(self, message: str):  # noqa: D102 (argparse's hook)
        for en, fr_ in _ARGPARSE_FR:
            message = message.replace(en, fr_)
        self.exit(EXIT_USER_ERROR, f"Erreur : {message} (voir « {self.prog} --help »).\n")


def _summer_download_options(parser: argparse.ArgumentParser, flag: str) -> None:
    """The options of a verb that downloads summer scenes (``flag``): months, and the hidden service and cache."""
    parser.add_argument("--months", type=_months, default=(6, 8), help=f"avec {flag} : mois des scènes (défaut 6-8)")
    parser.add_argument("--stac-url", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m ilots", description="Îlots de chaleur : préparer et décrire un territoire.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    b = sub.add_parser("build", help="construire un territoire à partir de fichiers locaux")
    b.add_argument("--out", required=True, help="dossier du territoire à écrire")
    b.add_argument("--name", required=True, help="nom du territoire (ex. « Lyon »)")
    b.add_argument(
        "--lst",
        action="append",
        required=True,
        help="température de surface : GeoTIFF (K ou °C) ou scène Landsat C2 L2 (dossier, .tar, liste) ; répétable",
    )
    b.add_argument("--landcover", help="raster d'occupation du sol (classes ESA WorldCover)")
    b.add_argument("--ndvi", help="raster de NDVI")
    b.add_argument("--bdtopo", help="BD TOPO v3 : GeoPackage ou dossier de shapefiles")
    b.add_argument("--buildings", help="emprises de bâtiments (tout format vectoriel), à la place de la BD TOPO")
    b.add_argument("--blocks", help="polygones d'îlots fournis (IRIS, sections cadastrales…)")
    b.add_argument("--blocks-id", help="colonne identifiant des îlots fournis")
    b.add_argument(
        "--population",
        action="append",
        default=[],
        help="population : carroyage Filosofi 200 m, polygones ou tableau joint sur l'identifiant ; répétable",
    )
    b.add_argument("--population-key", help="colonne de jointure du tableau de population")
    b.add_argument(
        "--indicators",
        action="append",
        default=[],
        help="vos indicateurs par îlot (part d'arbres, imperméabilisation, hauteur… en 0–1 ou en %%) : "
        "tableau joint sur l'identifiant, ou polygones ; répétable",
    )
    b.add_argument("--indicators-key", help="colonne de jointure du tableau d'indicateurs")
    b.add_argument("--vegetation", help="polygones de végétation (carte de canopée…) : part d'arbres de chaque îlot")
    b.add_argument("--area", help="zone d'étude : polygone(s) (limite communale…) ; les îlots y sont découpés")
    b.add_argument("--bbox", type=_bbox, help="zone d'étude en degrés WGS84 : lon_min,lat_min,lon_max,lat_max")
    b.add_argument(
        "--lst-band",
        action="append",
        default=[],
        help="bande de température d'un raster à plusieurs bandes (numéro à partir de 1, ou description "
        "comme ST_B10) ; une par --lst, ou une seule pour tous",
    )
    b.add_argument(
        "--tile-km",
        type=_bounded(float, 0.01, 100.0, "côté des tuiles"),
        help="construire par tuiles de ce côté en km (mémoire bornée, pour une métropole ou un département)",
    )
    b.add_argument(
        "--workers",
        type=_bounded(int, 1, 64, "nombre de processus"),
        default=1,
        help="avec --tile-km : construire autant de tuiles à la fois, chacune dans son processus (un par cœur ; "
        "mémoire : une tuile par processus)",
    )
    b.add_argument("--quiet", action="store_true", help="sans barre de progression")

    g = sub.add_parser(
        "fetch", help="télécharger les données ouvertes d'une commune (IGN, Landsat, WorldCover) et la construire"
    )
    g.add_argument(
        "--commune",
        action="append",
        required=True,
        help="code INSEE (ex. 37261) ou nom exact de commune ; répétable, ou codes séparés par des virgules",
    )
    g.add_argument("--year", type=int, required=True, help="année de l'été étudié (ex. 2023)")
    g.add_argument("--out", required=True, help="dossier du territoire à écrire")
    g.add_argument("--name", help="nom du territoire (défaut : nom de la commune)")
    g.add_argument("--months", type=_months, default=(6, 8), help="mois des scènes Landsat (défaut 6-8 : juin à août)")
    g.add_argument("--scenes", type=int, default=3, help="nombre de scènes les plus claires gardées (défaut 3)")
    g.add_argument(
        "--max-cloud",
        type=float,
        default=20.0,
        help="part maximale de nuages sur le territoire pour garder une scène, en %% (défaut 20)",
    )
    g.add_argument(
        "--population",
        action="append",
        default=[],
        help="carroyage INSEE Filosofi 200 m local (CSV ou GeoPackage) ; voir le README pour l'obtenir",
    )
    g.add_argument("--no-worldcover", action="store_true", help="ne pas télécharger l'occupation du sol ESA WorldCover")
    g.add_argument("--cache", help="dossier du cache des téléchargements (défaut : $ILOTS_CACHE_DIR ou ~/.cache/ilots)")
    g.add_argument("--wfs-url", help="adresse du service WFS (défaut : Géoplateforme IGN, ou $ILOTS_WFS_URL)")
    g.add_argument("--stac-url", help="adresse de l'API STAC (défaut : Planetary Computer, ou $ILOTS_STAC_URL)")
    g.add_argument("--quiet", action="store_true", help="sans barres de progression")

    m = sub.add_parser("build-many", help="construire une commune par tâche Dask (LocalCluster ou cluster existant)")
    m.add_argument(
        "--communes",
        required=True,
        help="fichier de polygones de communes (code_insee, nom), fichier texte de codes, "
        "ou codes séparés par des virgules",
    )
    m.add_argument("--out", required=True, help="dossier de sortie : un territoire par commune, blocks/ et summary.csv")
    m.add_argument(
        "--scheduler", help="adresse d'un ordonnanceur Dask (ex. tcp://10.0.0.5:8786) ; défaut : LocalCluster"
    )
    m.add_argument("--workers", type=int, default=2, help="workers du LocalCluster (défaut 2)")
    m.add_argument("--lst", action="append", default=[], help="comme pour build (avec un fichier de communes)")
    m.add_argument("--landcover")
    m.add_argument("--ndvi")
    m.add_argument("--bdtopo")
    m.add_argument("--population", action="append", default=[])
    m.add_argument("--year", type=int, help="avec des codes INSEE : année de l'été (téléchargement, voir fetch)")
    m.add_argument("--months", type=_months, default=(6, 8))
    m.add_argument("--max-cloud", type=float, default=20.0)
    m.add_argument("--quiet", action="store_true")

    r = sub.add_parser("restat", help="moyennes par îlot d'une autre date de température, sans nouveau calcul zonal")
    r.add_argument("dir", help="dossier du territoire")
    r.add_argument("--lst", required=True, help="scène Landsat C2 L2 (dossier, .tar) ou GeoTIFF de température")
    r.add_argument("--out", help="fichier CSV à écrire (block_id, lst_mean_c, lst_mean_c_stored, difference_c)")

    mo = sub.add_parser(
        "monitor",
        help="suivi des réalisations : les travaux faits ont-ils rafraîchi ? (avant/après sur plusieurs étés)",
    )
    mo.add_argument("dir", help="dossier du territoire")
    mo.add_argument(
        "--works",
        help="réalisations (GeoPackage, GeoJSON, shapefile) : polygone, mesure, date d'achèvement, surface, coût ; "
        "défaut : celles enregistrées avec le territoire",
    )
    mo.add_argument("--save-works", action="store_true", help="enregistrer ces réalisations avec le territoire")
    mo.add_argument(
        "--lst",
        action="append",
        default=[],
        help="un été de température à ajouter : [ANNÉE=]scène Landsat C2 L2 ou GeoTIFF[,autre…] (répétable ; "
        "sans ANNÉE, l'année de la date d'acquisition)",
    )
    mo.add_argument(
        "--fetch-years", type=_years, help="télécharger les étés de ces années (ex. 2016-2024, service STAC du fetch)"
    )
    _summer_download_options(mo, "--fetch-years")
    mo.add_argument("--max-cloud", type=float, default=20.0, help="avec --fetch-years : nuages tolérés (%%)")
    mo.add_argument("--years", type=_years, help="ne garder que ces étés (ex. 2016-2024)")
    mo.add_argument("--json", action="store_true", help="sortie JSON")
    mo.add_argument("--csv", help="tableau des projets à écrire (CSV, séparateur ;)")
    mo.add_argument("--pdf", help="fiche d'impact à écrire (PDF, une page par projet et une synthèse)")
    mo.add_argument("--quiet", action="store_true")

    rf = sub.add_parser("refuges", help="distance à pied de chaque îlot au refuge frais le plus proche (parcs, eau)")
    rf.add_argument("dir", help="dossier du territoire")
    rf.add_argument(
        "--points", help="bâtiments frais ouverts au public (points : bibliothèques, églises, salles climatisées)"
    )
    rf.add_argument(
        "--add", help="polygones à rendre refuges (scénario : un parc créé, une cour d'école ouverte l'été)"
    )
    rf.add_argument(
        "--min-park-ha", type=float, default=0.5, help="surface minimale d'un parc ou bois (ha, défaut 0,5)"
    )
    rf.add_argument("--json", action="store_true", help="sortie JSON")
    rf.add_argument("--csv", help="distances par îlot à écrire (CSV, séparateur ;)")

    fa = sub.add_parser(
        "facilities", help="établissements sensibles (écoles, crèches, EHPAD, hôpitaux) et chaleur de leur lieu"
    )
    fa.add_argument("dir", help="dossier du territoire")
    fa.add_argument(
        "--file", action="append", default=[], help="établissements en plus (FINESS, BPE en CSV, ou points/polygones)"
    )
    fa.add_argument("--save", action="store_true", help="garder les établissements de --file avec le territoire")
    fa.add_argument("--json", action="store_true", help="sortie JSON")
    fa.add_argument("--csv", help="tableau à écrire (CSV, séparateur ;)")
    fa.add_argument("--gpkg", help="établissements et chaleur de leur lieu à écrire (GeoPackage, pour QGIS)")

    ni = sub.add_parser(
        "night",
        help="chaleur de nuit à côté du jour : Sentinel-3 SLSTR de nuit (≈ 1 km) et zones climatiques locales (LCZ)",
    )
    ni.add_argument("dir", help="dossier du territoire")
    ni.add_argument(
        "--slstr",
        action="append",
        default=[],
        help="granule Sentinel-3 SLSTR SL_2_LST de nuit à ajouter (dossier .SEN3 ; répétable)",
    )
    ni.add_argument("--lcz", help="zones climatiques locales (Cerema LCZ, GeoClimate rsu_lcz, ou classe regroupée)")
    ni.add_argument("--fetch-year", type=int, help="télécharger les nuits claires de cet été (service STAC du fetch)")
    _summer_download_options(ni, "--fetch-year")
    ni.add_argument("--nights", type=_bounded(int, 1, 30, "nombre de nuits"), default=6, help="nuits à garder")
    ni.add_argument("--json", action="store_true", help="sortie JSON")
    ni.add_argument("--csv", help="valeurs par îlot à écrire (CSV, séparateur ;)")
    ni.add_argument("--quiet", action="store_true")

    f = sub.add_parser("fit", help="ajuster le modèle de chaleur, l'indice de risque et les explications")
    f.add_argument("dir", help="dossier du territoire")
    f.add_argument(
        "--tile-m",
        type=_bounded(float, 100.0, 50_000.0, "taille des tuiles"),
        default=None,
        help="taille des tuiles de validation spatiale en m (défaut 1000, réduite jusqu'à 500 sur un petit "
        "territoire pour avoir 3 tuiles par pli)",
    )
    f.add_argument(
        "--folds", type=_bounded(int, 2, 50, "nombre de plis"), default=5, help="nombre de plis (2 à 50, défaut 5)"
    )
    f.add_argument("--json", action="store_true", help="sortie JSON")

    s = sub.add_parser("scenario", help="simuler un scénario de végétalisation")
    s.add_argument("dir", help="dossier du territoire")
    s.add_argument("--trees", type=float, default=0.0, help="points de couvert arboré ajoutés (0–100)")
    s.add_argument("--depave", type=float, default=0.0, help="%% du sol revêtu hors toits désimperméabilisé")
    s.add_argument("--green-roofs", type=float, default=0.0, help="%% des toits plats végétalisés")
    s.add_argument("--cool-roofs", type=float, default=0.0, help="%% des toits rendus réfléchissants")
    s.add_argument("--cool-pavements", type=float, default=0.0, help="%% des chaussées rendues réfléchissantes")
    s.add_argument("--where", default="all", help="îlots visés : all (défaut) ou risk>=N")
    s.add_argument("--blocks", help="îlots visés : identifiants séparés par des virgules")
    s.add_argument("--polygon", help="îlots visés : ceux qui touchent ce(s) polygone(s) (fichier vectoriel)")
    s.add_argument("--name", help="nom du scénario (défaut : celui de --save, sinon « Scénario »)")
    s.add_argument("--save", metavar="NAME", help="enregistrer le scénario sous ce nom")
    s.add_argument("--load", metavar="NAME", help="rejouer un scénario enregistré")
    s.add_argument("--list", action="store_true", help="lister les scénarios enregistrés")
    s.add_argument("--delete", metavar="NAME", help="supprimer un scénario enregistré")
    s.add_argument(
        "--costs",
        help="coûts unitaires en €/m² à la place des valeurs par défaut : fichier JSON, ou "
        "objet JSON en ligne, ex. '{\"trees_eur_m2\": 120}'",
    )
    s.add_argument("--json", action="store_true", help="sortie JSON")

    i = sub.add_parser("info", help="résumé d'un territoire")
    i.add_argument("dir", help="dossier du territoire")
    i.add_argument("--json", action="store_true", help="sortie JSON")

    d = sub.add_parser("demo", help="générer et construire le territoire de démonstration (données synthétiques)")
    d.add_argument("--out", default="data/demo", help="dossier du territoire (défaut : data/demo)")
    d.add_argument(
        "--size-km",
        type=_bounded(float, 1.0, 100.0, "côté de la ville"),
        default=5.0,
        help="côté de la ville synthétique en km (1 à 100, défaut 5)",
    )
    d.add_argument("--seed", type=int, default=2154, help="graine aléatoire (défaut 2154)")
    d.add_argument("--quiet", action="store_true")
    return p


def _num(x) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 2)


def territory_summary(path: str | Path) -> dict:
    """The JSON summary printed by ``info``: name, blocks, bounds, dates, LST figures, features."""
    from .store import load_territory

    terr = load_territory(path)
    m = terr.manifest
    lst = terr.blocks["lst_mean_c"]
    extra = {}
    stored = terr.model()
    if stored is not None:
        from .analysis import model_summary

        meta, table = stored
        extra["metrics"] = model_summary(meta)
        extra["risk"] = {
            "mode": meta["risk"]["mode"],
            "blocks_by_class": {str(k): int(v) for k, v in table["risk_class"].value_counts().sort_index().items()},
        }
    return {
        "name": m["name"],
        "path": str(terr.path),
        "synthetic": terr.synthetic,
        "crs": m["crs"]["label"],
        "n_blocks": int(len(terr.blocks)),
        "n_blocks_with_lst": int(lst.notna().sum()),
        "area_km2": m.get("area_km2"),
        "bounds": m["bounds"],
        "bounds_wgs84": m["bounds_wgs84"],
        "acquisition_dates": m["acquisition_dates"],
        "lst_block_mean_c": _num(lst.mean()),
        "lst_block_min_c": _num(lst.min()),
        "lst_block_max_c": _num(lst.max()),
        "features": {k: v["available"] for k, v in m["features"].items() if not v.get("matched_of")},
        "created": m["created"],
        **extra,
    }


def _print_info(summary: dict) -> None:
    print(f"Territoire : {summary['name']}{' (données synthétiques)' if summary['synthetic'] else ''}")
    print(
        f"Îlots : {summary['n_blocks']} ({summary['n_blocks_with_lst']} avec température), "
        f"{fr.num(summary['area_km2'], 1)} km²"
    )
    print(f"Dates d'acquisition : {', '.join(summary['acquisition_dates']) or 'inconnues'}")
    print(
        f"Température de surface des îlots : moyenne {fr.num(summary['lst_block_mean_c'], 1)} °C, "
        f"min {fr.num(summary['lst_block_min_c'], 1)} °C, max {fr.num(summary['lst_block_max_c'], 1)} °C"
    )
    missing = [k for k, v in summary["features"].items() if not v]
    print(f"Indicateurs indisponibles : {', '.join(missing) or 'aucun'}")
    if "metrics" in summary:
        sp, rd = summary["metrics"]["spatial_cv"], summary["metrics"]["random_cv"]
        print(
            f"Modèle ({summary['metrics']['model']}) : validation spatiale R² {fr.num(sp['r2'] * 100, 1)} %, "
            f"erreur {fr.num(sp['rmse_c'], 1)} °C ; validation aléatoire R² {fr.num(rd['r2'] * 100, 1)} %"
        )
        for warning in summary["metrics"].get("warnings", []):
            print(f"Attention : {warning}")


def _print_scenario(s: dict) -> None:

    lo, hi = s["delta_mean_interval_c"]
    band = f" (intervalle à 90 % : {fr.temp(lo, signed=True)} à {fr.temp(hi, signed=True)})" if lo is not None else ""
    print(f"Scénario « {s['name']} » : {s['n_blocks_changed']} îlots modifiés")
    print(
        "Variation moyenne de température de surface des îlots modifiés : "
        f"{fr.temp(s['delta_mean_c'], 2, signed=True)}{band}"
    )
    if s.get("delta_air_mean_c") is not None:
        alo, ahi = s["delta_air_interval_c"]
        print(
            f"Revêtements réfléchissants, température de l'air (ordre de grandeur publié, à part) : "
            f"{fr.temp(s['delta_air_mean_c'], 2, signed=True)} (de {fr.temp(alo, 2, True)} à {fr.temp(ahi, 2, True)})"
        )
    if s["residents_reached"] is None:
        print("Habitants : pas de données de population sur ce territoire.")
    else:
        olo, ohi = s["residents_out_of_high_risk_interval"]
        print(
            f"Degrés·habitants évités : {fr.num(s['person_degrees_avoided'], 0)} ; variation pour les habitants des "
            f"îlots les plus chauds : {fr.temp(s['delta_hot_residents_c'], 2, signed=True)} ; pondérée par les "
            "habitants : "
            f"{fr.temp(s['delta_pop_weighted_c'], 2, signed=True)}"
        )
        print(
            f"Habitants sortis des classes de risque élevé : {fr.num(s['residents_out_of_high_risk'], 0)}"
            + (f" (intervalle à 90 % : {fr.num(olo, 0)} à {fr.num(ohi, 0)})" if olo is not None else "")
        )
    print(f"Coût estimé : {fr.num(s['cost_eur'], 0)} € ; îlots en extrapolation : {s['n_extrapolated']}")
    for band_ in s["sanity"].values():
        if band_.get("note"):
            print(f"Attention : {band_['note']}")


def _fit(args, argv=None) -> None:
    without_dask_arrays()
    from .analysis import fit_territory, model_summary
    from .store import load_territory

    terr = load_territory(args.dir)
    meta, table = fit_territory(terr, tile_m=args.tile_m, n_folds=args.folds)
    summary = model_summary(meta)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        _print_info(territory_summary(args.dir))


def _scenario(args, argv=None) -> None:
    from .analysis import ensure_model, unreliable_reason
    from .scenarios import (
        Intervention,
        Scenario,
        ScenarioEngine,
        ScenarioError,
        Target,
        delete_scenario,
        from_previous_build,
        list_scenarios,
        load_scenario,
        parse_where,
        save_scenario,
    )
    from .sources.vectors import read_vector
    from .store import load_territory

    terr = load_territory(args.dir)
    if args.list:
        good, problems = list_scenarios(terr.path)
        if args.json:
            print(
                json.dumps(
                    {"scenarios": [s.to_dict() for s in good], "problems": problems}, ensure_ascii=False, indent=2
                )
            )
        else:
            for s in good:
                older = (
                    " (fait sur une construction précédente du territoire)"
                    if from_previous_build(s, terr.manifest)
                    else ""
                )
                print(f"- {s.name}{older} : " + ", ".join(f"{i.kind} {i.intensity:g}" for i in s.interventions))
            for p in problems:
                print(f"! {p}", file=sys.stderr)
        return
    if args.delete:
        delete_scenario(terr.path, args.delete)
        print(f"Scénario « {args.delete} » supprimé.")
        return
    if args.load:
        scenario = load_scenario(terr.path, args.load)
    else:
        if args.blocks:
            target = Target("ids", ids=[b.strip() for b in args.blocks.split(",") if b.strip()])
        elif args.polygon:
            poly = read_vector(args.polygon, terr.manifest["crs"]["epsg"], allow_empty=False)
            import shapely

            target = Target("polygon", polygon_wkt=shapely.union_all(poly.geometry.values).wkt)
        else:
            target = parse_where(args.where)
        items = [
            Intervention(kind, value, target)
            for kind, value in (
                ("trees", args.trees),
                ("depave", args.depave),
                ("green_roofs", args.green_roofs),
                ("cool_roofs", args.cool_roofs),
                ("cool_pavements", args.cool_pavements),
            )
            if value
        ]
        scenario = Scenario(args.name or args.save or "Scénario", items).validate()
    costs = _costs(args.costs) if args.costs else None
    meta, table = ensure_model(terr)
    reason = unreliable_reason(meta)
    if reason is not None:
        raise FitError(reason)
    _, summary = ScenarioEngine(terr.blocks, meta, table, costs).apply(scenario)
    if summary["n_blocks_changed"] == 0 and scenario.interventions:
        where = (
            "la zone donnée (--polygon) ne touche aucun îlot du territoire"
            if args.polygon
            else "aucun îlot ne correspond à la cible choisie"
        )
        raise ScenarioError(f"Scénario sans effet : {where}.")
    if args.save:
        save_scenario(terr.path, scenario)
        summary["saved_as"] = args.save
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        _print_scenario(summary)


def _costs(spec: str):
    """Unit costs from a JSON file or an inline JSON object."""
    from .scenarios import ScenarioError, UnitCosts

    text, where = spec, "en ligne"
    if not spec.lstrip().startswith(("{", "[")):
        try:
            text, where = Path(spec).read_text(encoding="utf-8"), spec
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(
                f"Coûts unitaires illisibles : « {spec} » n'est ni un fichier lisible ni un objet JSON "
                '{"trees_eur_m2": 150, …}.'
            ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            f"Fichier de coûts illisible ({where}) : JSON invalide ligne {exc.lineno}, colonne {exc.colno}."
        ) from exc
    return UnitCosts.from_dict(data)


def _print_fetch(summary) -> None:
    from .fr import date_fr, num, pct

    codes = ", ".join(f"{c['nom']} ({c['code_insee']})" for c in summary.communes)
    print(f"Communes : {codes}")
    print(f"Scènes Landsat gardées ({len(summary.scenes)}) :")
    for s in summary.scenes:
        print(
            f"  {date_fr(s['date'])}  {s['product_id']}  nuages sur le territoire "
            f"{pct(s['cloud_fraction_in_territory'])}"
            f" (scène entière {pct(None if s['scene_cloud_cover_pct'] is None else s['scene_cloud_cover_pct'] / 100)})"
        )
    if summary.rejected_scenes:
        print(
            f"Scènes écartées ({len(summary.rejected_scenes)}) : "
            + ", ".join(
                f"{date_fr(s['date'])} ({pct(s['cloud_fraction_in_territory'])})" for s in summary.rejected_scenes
            )
        )
    print("BD TOPO : " + ", ".join(f"{k} {num(v, 0)}" for k, v in summary.layer_counts.items()))
    wc = summary.worldcover
    print(
        "ESA WorldCover : "
        + (f"v{wc['version']} ({wc['year']}), {len(wc['items'])} tuile(s)" if wc else "non disponible")
    )
    print(
        f"Téléchargements : {summary.downloads}, repris du cache : {summary.cache_hits} ; {num(summary.seconds, 1)} s"
    )
    print()


def _fetch(args, argv) -> None:
    from .build import build_territory
    from .fetch import FetchRequest, acquire
    from .progress import within
    from .store import check_replaceable

    communes = [
        c.strip() for arg in args.commune for c in (arg.split(",") if any(ch.isdigit() for ch in arg) else [arg])
    ]
    req = FetchRequest(
        communes=communes,
        year=args.year,
        months=args.months,
        n_scenes=args.scenes,
        max_cloud=args.max_cloud / 100.0,
        name=args.name,
        population=args.population,
        worldcover=not args.no_worldcover,
        cache_dir=Path(args.cache) if args.cache else None,
    )
    if args.wfs_url:
        req.wfs_url = args.wfs_url
    if args.stac_url:
        req.stac_url = args.stac_url
    bar = _Progress(not args.quiet)
    try:
        check_replaceable(Path(args.out), True)  # before any download
        acq = acquire(req, within(bar, 0.0, 0.3))
        build_territory(
            lambda tmp: acq.download(tmp, within(bar, 0.3, 0.5)),
            args.out,
            within(bar, 0.5, 1.0),
            command=_command(argv),
            manifest_extra=acq.provenance,
        )
    finally:
        bar.close()
    _print_fetch(acq.summary())
    _print_info(territory_summary(args.out))


def _restat(args, argv=None) -> None:
    import time

    from .fr import date_fr, num, temp
    from .restat import reaggregate_lst

    if args.out and not Path(args.out).resolve().parent.is_dir():
        raise WriteError(f"Le dossier de {args.out} n'existe pas : créez-le ou choisissez un autre fichier (--out).")
    t0 = time.perf_counter()
    table = reaggregate_lst(args.dir, args.lst)
    seconds = time.perf_counter() - t0
    valid = table["lst_mean_c"].notna()
    dates = ", ".join(date_fr(d) for d in table.attrs.get("dates", [])) or "date inconnue"
    print(
        f"Nouvelle température ({dates}) : {num(int(valid.sum()), 0)} îlots sur {num(len(table), 0)}, "
        f"moyenne {temp(float(table['lst_mean_c'].mean()))}, écart moyen à la température enregistrée "
        f"{temp(float(table['difference_c'].mean()), signed=True)} ; {num(seconds, 1)} s (lecture comprise)."
    )
    if args.out:
        table.to_csv(args.out, index_label="block_id", float_format="%.3f")
        print(f"Écrit : {args.out}")


def _check_outputs(*targets: str | None) -> None:
    """Refuse, before any work, an output file whose folder does not exist."""
    for target in targets:
        if target and not Path(target).resolve().parent.is_dir():
            raise WriteError(f"Le dossier de {target} n'existe pas : créez-le ou choisissez un autre fichier.")


def _said_written(*targets: str | None) -> None:
    for target in targets:
        if target:
            print(f"Écrit : {target}")


def _monitor(args, argv=None) -> None:
    from .analysis import ensure_model, monitor_territory
    from .export import to_csv_bytes
    from .fr import date_fr
    from .restat import add_summers, parse_summer_sources
    from .scenarios import ScenarioEngine
    from .sources.works import read_works
    from .store import load_territory, write_monitor_results, write_summer, write_works_file

    terr = load_territory(args.dir)
    _check_outputs(args.csv, args.pdf)
    bar = _Progress(not args.quiet and not args.json)
    try:
        sources = parse_summer_sources(args.lst)
        if args.fetch_years:
            import shapely

            from .fetch import fetch_summers

            fetched = fetch_summers(
                shapely.box(*terr.manifest["bounds_wgs84"]),
                args.fetch_years,
                terr.path / "monitoring" / "scenes",
                months=args.months,
                max_cloud=args.max_cloud / 100.0,
                stac_url=args.stac_url,
                cache_dir=Path(args.cache) if args.cache else None,
                progress=bar,
            )
            for year, paths in fetched.scenes.items():
                sources.setdefault(year, []).extend(paths)
            for year, why in fetched.skipped.items():
                write_summer(terr.path, year, None, {"reason": why})
        if sources:
            add_summers(terr, sources, progress=bar)  # clouded summers are recorded and said below
        works = None
        if args.works:
            works = read_works(args.works, terr.blocks.crs)
            if args.save_works:
                write_works_file(terr.path, works)

        def engine() -> ScenarioEngine:  # the model is fitted (if needed) only once the inputs suffice
            return ScenarioEngine(terr.blocks, *ensure_model(terr, progress=bar))

        result = monitor_territory(terr, works=works, years=args.years, engine=engine)
    finally:
        bar.close()
    data = result.to_dict()
    write_monitor_results(terr.path, data)
    if args.csv:
        Path(args.csv).write_bytes(to_csv_bytes(result.table()))
    if args.pdf:
        from .impact import impact_pdf

        Path(args.pdf).write_bytes(impact_pdf(result, terr.name, synthetic=terr.synthetic, blocks=terr.blocks))
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str, allow_nan=False))
        return
    summers = ", ".join(str(y) for y in result.years)
    print(f"Territoire : {terr.name}{' (données synthétiques)' if terr.synthetic else ''}")
    print(
        f"Étés comparés ({len(result.years)}) : {summers} ; îlots non traités de référence : "
        f"{fr.num(result.untreated_blocks, 0)}"
    )
    for note in result.notes:
        print(f"  {note}")
    for p in result.projects:
        print()
        print(p.sentence())
        print(
            f"  {p.kind_fr}, achevé le {date_fr(p.completed)}, étés avant : {len(p.years_before)}, après : "
            f"{len(p.years_after)} ; {p.n_controls} îlots témoins"
            + (f" (écart avant travaux {fr.temp(p.control_gap_c, 1, True)})" if p.control_gap_c is not None else "")
        )
        if p.predicted_c is not None:
            print(
                "  Prévu par le modèle (tel que le satellite le verrait, 90 %) : "
                + fr.temp_interval(p.predicted_c, p.predicted_lo_c, p.predicted_hi_c)
            )
        elif p.predicted_note:
            print(f"  Pas de prévision : {p.predicted_note}")
        for note in p.notes:
            print(f"  Note : {note}")
    print()
    print(
        "Limites : température de surface (Landsat, vers 11 h solaire), pas de l'air ; la bande thermique voit à "
        "~100 m : un projet de moins de 1 ha n'est pas mesurable ; méthode : docs/monitoring.md."
    )
    _said_written(args.csv, args.pdf)


def _refuges(args, argv=None) -> None:
    from .analysis import refuges_territory
    from .export import to_csv_bytes
    from .refuges import NEAR_M, RefugeRules
    from .sources.vectors import read_vector, require_polygons
    from .store import load_territory

    terr = load_territory(args.dir)
    _check_outputs(args.csv)
    if not 0 < args.min_park_ha <= 1000:
        raise BuildError("--min-park-ha : une surface entre 0 et 1 000 ha est attendue.")
    points = read_vector(args.points, terr.blocks.crs) if args.points else None
    added = require_polygons(read_vector(args.add, terr.blocks.crs), "Refuges ajoutés") if args.add else None
    rules = RefugeRules(min_green_m2=args.min_park_ha * 10_000)
    report = refuges_territory(terr, points=points, added=added, rules=rules)
    if args.csv:
        Path(args.csv).write_bytes(
            to_csv_bytes(terr.blocks[[terr.blocks.geometry.name]].join(report.access).reset_index())
        )
    if args.json:
        data = {
            "refuges": report.refuges["kind"].value_counts().to_dict(),
            "today": report.summary,
            "with_added": report.summary_after,
        }
        print(json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False))
        return
    counts = ", ".join(f"{n} {k}" for k, n in report.refuges["kind"].value_counts().items())
    print(f"Territoire : {terr.name}{' (données synthétiques)' if terr.synthetic else ''}")
    print(f"Refuges frais : {counts or 'aucun'} (parcs et bois d'au moins {fr.num(args.min_park_ha, 1)} ha, eau)")
    for label, summary in (("Aujourd'hui", report.summary), ("Avec les refuges ajoutés", report.summary_after)):
        if summary is None:
            continue
        if "share_residents_far" in summary and summary["share_residents_far"] is not None:
            far, known = round(summary["residents_far"], -2), round(summary["residents_known"], -2)
            print(
                f"{label} : environ {fr.num(far, 0)} habitants sur {fr.num(known, 0)} "
                f"({fr.pct(summary['share_residents_far'])}) vivent à plus de {fr.num(NEAR_M, 0)} m à pied "
                "(≈ 5 min) d'un refuge frais (habitants estimés du carroyage, à la centaine près)"
            )
        else:
            print(
                f"{label} : {summary['blocks_far']} îlots sur {summary['blocks_known']} à plus de {fr.num(NEAR_M, 0)} m"
            )
    if report.summary["blocks_unreachable"]:
        print(f"{report.summary['blocks_unreachable']} îlots sans chemin vers un refuge sur le réseau (non comptés).")
    print(
        "Distances le long des rues BD TOPO (autoroutes exclues), depuis un point de chaque îlot ; "
        "méthode : docs/places.md."
    )
    _said_written(args.csv)


def _facilities(args, argv=None) -> None:
    import pandas as pd  # here only: --help and the other verbs' argument errors answer without pandas (0.25 s)

    from .analysis import ensure_model, facilities_territory, refuges_territory
    from .export import to_csv_bytes
    from .facilities import KINDS, export_frame, read_facilities
    from .risk import CLASS_LABELS
    from .store import add_facilities, load_territory

    terr = load_territory(args.dir)
    _check_outputs(args.csv, args.gpkg)
    files = list(args.file)
    if args.save and files:
        saved = sum(add_facilities(terr.path, read_facilities(f, terr.blocks.crs)) for f in files)
        files = []  # now read back with the territory's
        print(f"{saved} établissement(s) gardé(s) avec le territoire.", file=sys.stderr)
    _, table = ensure_model(terr)
    try:
        refuges = refuges_territory(terr)
    except IlotsError:
        refuges = None  # no streets: the walk to a refuge is left out, said below
    facilities, exposure = facilities_territory(terr, files, model_table=table, refuges=refuges)
    out = export_frame(facilities, exposure)
    if args.csv:
        Path(args.csv).write_bytes(to_csv_bytes(out))
    if args.gpkg:
        from .export import geopackage_bytes

        Path(args.gpkg).write_bytes(geopackage_bytes(out, "etablissements"))
    if args.json:
        rows = exposure.assign(kind=exposure["kind"].map(KINDS)).replace({np.nan: None}).to_dict("records")
        print(json.dumps({"facilities": rows}, ensure_ascii=False, indent=2, default=str, allow_nan=False))
        return
    print(f"Territoire : {terr.name}{' (données synthétiques)' if terr.synthetic else ''}")
    if exposure.empty:
        print("Aucun établissement sensible trouvé (BD TOPO zone_d_activite_ou_d_interet, ou --file FINESS / BPE).")
        return
    counts = exposure["kind"].map(KINDS).value_counts()
    print("Établissements sensibles : " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    hot = exposure["risk_class"].fillna(0) >= 4
    print(f"Dans les îlots à risque élevé ou très élevé : {int(hot.sum())}")
    for _, r in exposure.head(15).iterrows():
        walk = (
            ""
            if "refuge_walk_m" not in r or pd.isna(r["refuge_walk_m"])
            else f", refuge frais à {fr.num(r['refuge_walk_m'], 0)} m à pied"
        )
        risk = CLASS_LABELS.get(int(r["risk_class"]), "non évalué") if pd.notna(r["risk_class"]) else "non évalué"
        name = r["name"] if pd.notna(r["name"]) else "sans nom"
        print(
            f"  {name} ({KINDS[r['kind']]}) : îlot {fr.temp(r['lst_block_c'])}, "
            f"100 m alentour {fr.temp(r['lst_around_c'])}, risque {risk}{walk}"
        )
    print("Température de surface (Landsat, vers 11 h solaire), pas de l'air ; méthode : docs/places.md.")
    _said_written(args.csv, args.gpkg)


def _night(args, argv=None) -> None:
    import datetime as dt

    from .analysis import night_territory
    from .errors import MissingLayerError, NoSceneError
    from .export import to_csv_bytes
    from .night import DAY_NIGHT_LABELS, NIGHT_SOURCE_FR, add_night_inputs
    from .store import add_nights, load_territory

    terr = load_territory(args.dir)
    _check_outputs(args.csv)
    slstr = list(args.slstr)
    added, skipped = None, {}
    if args.fetch_year:
        import shapely

        from .fetch import fetch_nights
        from .night import scene_points

        bar = _Progress(not args.quiet and not args.json)
        try:
            fetched = fetch_nights(
                shapely.box(*terr.manifest["bounds_wgs84"]),
                args.fetch_year,
                terr.path / "night" / "scenes",
                tuple(float(v) for v in terr.blocks.total_bounds),
                terr.blocks.crs.to_string(),
                months=args.months,
                n_nights=args.nights,
                stac_url=args.stac_url,
                cache_dir=Path(args.cache) if args.cache else None,
                progress=bar,
            )
        finally:
            bar.close()
        slstr += fetched.scenes
        skipped = fetched.skipped
        if not fetched.scenes:
            add_nights(terr.path, scene_points([]), [], skipped)
            reasons = " ; ".join(list(skipped.values())[:3])
            raise NoSceneError(f"Aucune nuit claire de l'été {args.fetch_year} sur le territoire : {reasons}")
    if slstr or args.lcz:
        added = add_night_inputs(terr, slstr=slstr, lcz=args.lcz, skipped=skipped)
    report = night_territory(terr)
    if report is None:
        raise MissingLayerError(
            f"{terr.name} n'a pas encore de couche de nuit : ajoutez des nuits (--slstr DOSSIER.SEN3 ou "
            "--fetch-year 2023) ou des zones climatiques locales (--lcz fichier)."
        )
    if args.csv:
        Path(args.csv).write_bytes(to_csv_bytes(terr.blocks[[terr.blocks.geometry.name]].join(report.table)))
    if args.json:
        data = {
            "added": added,
            "nights": report.nights,
            "skipped": report.skipped,
            "lcz": report.lcz_source,
            "compared_with": report.compared_with,
            "pixel_spacing_m": None if not np.isfinite(report.spacing_m) else round(report.spacing_m),
            "day_night": report.summary,
        }
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str, allow_nan=False))
        return
    print(f"Territoire : {terr.name}{' (données synthétiques)' if terr.synthetic else ''}")
    if report.nights:
        dates = ", ".join(fr.date_fr(dt.date.fromisoformat(n["start"][:10])) for n in report.nights)
        print(f"Nuits ({len(report.nights)}) : {dates} ; {NIGHT_SOURCE_FR}")
        t = report.table
        print(
            f"Température de surface de nuit des îlots (médiane des nuits) : de {fr.temp(t['night_lst_c'].min())} "
            f"à {fr.temp(t['night_lst_c'].max())}, médiane {fr.temp(t['night_lst_c'].median())}"
        )
    for scene, why in report.skipped.items():
        print(f"  Nuit écartée ({scene[:31]}…) : {why}")
    if report.lcz_source:
        print(
            f"Zones climatiques locales : {report.lcz_source.get('file')} ({report.lcz_source.get('n_polygons')} zones)"
        )
    basis = {"slstr": "la nuit Sentinel-3", "lcz": "la tendance nocturne de la zone LCZ"}.get(report.compared_with)
    if basis:
        print(f"Jour (Landsat, ≈ 11 h) et nuit ({basis}), par tiers des îlots :")
        for key, label in DAY_NIGHT_LABELS.items():
            row = report.summary[key]
            if not row["blocks"]:
                continue
            people = f", environ {fr.num(round(row['residents'], -2), 0)} habitants" if "residents" in row else ""
            print(f"  {label} : {row['blocks']} îlot{'s' if row['blocks'] > 1 else ''}{people}")
        if report.few_pixels_note():
            print(f"  Note : {report.few_pixels_note()}")
    seen = (
        "la nuit Sentinel-3 voit à ≈ 1 km (des quartiers, pas des rues)"
        if report.nights
        else "la zone LCZ donne une tendance nocturne, pas une température mesurée"
    )
    print(
        f"Limites : températures de surface, pas de l'air ; {seen} ; la couche de nuit n'entre ni dans le modèle "
        "de jour ni dans les scénarios ; docs/night.md."
    )
    _said_written(args.csv)


def _build_many(args, argv) -> None:
    from .build import BuildInputs
    from .scale import build_many, read_communes

    communes = read_communes(args.communes)
    inputs, fetch = None, None
    if isinstance(communes, list):
        if args.year is None:
            raise BuildError("Avec des codes INSEE, indiquez l'année (--year) : chaque commune est téléchargée.")
        fetch = {"year": args.year, "months": args.months, "max_cloud": args.max_cloud / 100.0}
    else:
        if not args.lst:
            raise BuildError("Avec un fichier de communes, donnez les sources communes (--lst, --bdtopo…).")
        inputs = BuildInputs(
            name="",
            lst=args.lst,
            landcover=args.landcover,
            ndvi=args.ndvi,
            bdtopo=args.bdtopo,
            population=args.population,
        )
    progress = _Progress(not args.quiet)
    try:
        summary = build_many(
            communes,
            args.out,
            inputs=inputs,
            fetch=fetch,
            scheduler=args.scheduler,
            n_workers=args.workers,
            progress=progress,
            command=_command(argv),
        )
    finally:
        progress.close()
    counts = summary["status"].value_counts()
    print(
        f"Communes : {counts.get('built', 0)} construites, {counts.get('skipped', 0)} déjà prêtes, "
        f"{counts.get('failed', 0)} en échec ; {int(summary['n_blocks'].fillna(0).sum())} îlots."
    )
    for row in summary[summary["status"] == "failed"].itertuples():
        print(f"  {row.nom} ({row.code_insee}) : {row.error}")
    print(f"Résumé : {Path(args.out) / 'summary.csv'}")


def _command(argv) -> list[str]:
    return ["python", "-m", "ilots", *(argv if argv is not None else sys.argv[1:])]


def _rebuild_notes(out, before) -> None:
    """Tell what a build did to the territory it replaced, and what to check in the new one."""
    from .store import read_manifest

    if before.previous is not None:
        if before.scenarios_kept:
            print(
                f"Scénarios enregistrés conservés : {before.scenarios_kept} (faits sur la construction précédente : "
                "vérifiez-les).",
                file=sys.stderr,
            )
        if before.model_dropped:
            print(
                f"Le modèle ajusté sur la construction précédente ne vaut plus pour ces îlots : relancez "
                f"« python -m ilots fit {out} ».",
                file=sys.stderr,
            )
    for warning in (read_manifest(out) or {}).get("warnings", []):
        print(f"Attention : {warning}", file=sys.stderr)


def _build_and_report(out_dir: str, quiet: bool, run) -> None:
    """Run ``run(progress) -> Path`` with a progress bar, then say what it replaced and describe the result."""
    from .store import describe_replacement

    before = describe_replacement(out_dir)
    progress = _Progress(not quiet)
    try:
        out = run(progress)
    finally:
        progress.close()
    _rebuild_notes(out, before)
    _print_info(territory_summary(out))


def _build(args, argv) -> None:
    without_dask_arrays()  # before the builder's imports: 0.2 s of CPU at every build
    from .build import BuildInputs, build_territory

    inputs = BuildInputs(
        name=args.name,
        lst=args.lst,
        landcover=args.landcover,
        ndvi=args.ndvi,
        bdtopo=args.bdtopo,
        buildings=args.buildings,
        blocks=args.blocks,
        blocks_id=args.blocks_id,
        population=args.population,
        population_key=args.population_key,
        area=args.area,
        bbox_wgs84=args.bbox,
        lst_bands=args.lst_band,
        indicators=args.indicators,
        indicators_key=args.indicators_key,
        vegetation=args.vegetation,
    )

    def run(progress):
        if args.tile_km:
            from .scale import build_tiled

            return build_tiled(
                inputs,
                args.out,
                tile_m=args.tile_km * 1000.0,
                progress=progress,
                command=_command(argv),
                workers=args.workers,
            )
        return build_territory(inputs, args.out, progress, command=_command(argv))

    _build_and_report(args.out, args.quiet, run)


def _demo(args, argv) -> None:
    without_dask_arrays()
    from .demo import build_demo

    _build_and_report(
        args.out,
        args.quiet,
        lambda progress: build_demo(args.out, size_km=args.size_km, seed=args.seed, progress=progress),
    )


def _info(args, argv) -> None:
    summary = territory_summary(args.dir)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        _print_info(summary)


_VERBS = {
    "build": _build,
    "fetch": _fetch,
    "build-many": _build_many,
    "restat": _restat,
    "monitor": _monitor,
    "refuges": _refuges,
    "facilities": _facilities,
    "night": _night,
    "demo": _demo,
    "fit": _fit,
    "scenario": _scenario,
    "info": _info,
}


def main(argv: list[str] | None = None) -> int:
    """Run one verb; a user's mistake or a failed write ends with one French sentence and exit code 2."""
    args = _parser().parse_args(argv)
    try:
        _VERBS[args.command](args, argv)
    except IlotsError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:  # read-only or missing folder, full disk: the environment, not a bug
        print(f"Erreur : {describe_os_error(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except MemoryError:
        print(
            "Erreur : mémoire insuffisante pour ce territoire : limitez la zone (--area, --bbox) ou construisez "
            "par tuiles (--tile-km).",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("Interrompu : aucun territoire existant n'a été modifié.", file=sys.stderr)
        return 130
    except Exception as exc:  # a defect of Îlots, not of the user's data: one sentence, the detail on request
        if os.environ.get("ILOTS_DEBUG"):
            raise
        print(
            f"Erreur interne d'Îlots ({type(exc).__name__} : {str(exc)[:200]}) : aucun territoire existant n'a été "
            "modifié ; relancez avec ILOTS_DEBUG=1 pour le détail, et signalez-la.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return 0
