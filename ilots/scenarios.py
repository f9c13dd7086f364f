"""Greening scenarios: interventions edit block features, the linear model predicts the cooling.

A :class:`Scenario` is data: a name and a list of :class:`Intervention` (kind, target, intensity),
saved as JSON in the territory's ``scenarios/`` folder. Kinds:

- ``trees``: +N points of tree cover, taken from bare ground first, then from sealed ground that
  is not a roof (courtyards, car parks, pavements); sealing falls accordingly.
- ``depave``: N % of the sealed non-roof ground becomes vegetation (grass).
- ``green_roofs``: N % of the flat roof area is greened. Footprints do not change; seen from the
  satellite the greened roof behaves like grass, so its effect is the model's grass effect.
- ``cool_roofs`` / ``cool_pavements``: reflective coatings on N % of roofs or carriageways.

Cooling is the ridge's prediction for the edited features (the ridge is monotone and its
effects are stated in the model card); its 90 % interval comes from the spatial bootstrap of the
ridge's coefficients. The ridge reads shares as the thermal sensor sees them (footprint-matched,
ilots/footprint.py), so its effects, and the cooling here, are those of the block's own ground; a
later Landsat image would show part of a small block's cooling spread over its neighbours. The model has no albedo
feature, so reflective surfaces use a literature
coefficient — −0.3 °C per +0.1 of albedo of the block (city albedo +0.1 → −0.3 K mean air
temperature, Santamouris 2014, Solar Energy 103:682) — reported separately and labelled as such.
Edits that take a feature beyond the training range are flagged as extrapolation (the ridge
clips inputs to that range, so its effect saturates there).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from . import fr
from .errors import ScenarioError, ScenarioExistsError, ScenarioFileError
from .model import LinearModel
from .risk import THRESHOLDS, RiskParams, risk_draws, risk_index
from .store import find_scenario_file, read_manifest, read_scenario_file, scenario_files, write_scenario_file

__all__ = [
    "KINDS",
    "ScenarioError",
    "ScenarioFileError",
    "ScenarioExistsError",
    "Target",
    "Intervention",
    "Scenario",
    "UnitCosts",
    "PUBLISHED",
    "ScenarioEngine",
    "parse_where",
    "compare_scenarios",
    "save_scenario",
    "load_scenario",
    "list_scenarios",
    "delete_scenario",
    "from_previous_build",
]

KINDS = {
    "trees": "Planter des arbres (points de couvert arboré)",
    "depave": "Désimperméabiliser (% du sol revêtu hors toits)",
    "green_roofs": "Végétaliser les toits plats (% de leur surface)",
    "cool_roofs": "Toits réfléchissants (% des toits)",
    "cool_pavements": "Chaussées réfléchissantes (% des chaussées)",
}
FLAT_ROOF_SHARE_TALL = 0.7  # share of flat roofs where buildings average ≥ 12 m [our estimate]
FLAT_ROOF_SHARE_LOW = 0.3  # pitched roofs dominate among houses [our estimate]
ROOF_ALBEDO_GAIN = 0.5  # white coating: ~0.15 → ~0.65 (Santamouris 2014 review, typical products)
PAVEMENT_ALBEDO_GAIN = 0.3  # reflective pavement coatings [our estimate from the same review]
LITERATURE_C_PER_ALBEDO = -3.0  # −0.3 °C per +0.1 of block albedo (Santamouris 2014, air temperature)
AIR_RANGE_C_PER_ALBEDO = (-9.0, -1.0)  # its published spread: −0.1 to −0.9 °C per +0.1 (same review)
SCHWAAB_GRASS_TO_TREES = 0.5  # treeless green is 2–4 × less effective than trees (Schwaab et al. 2021)

# Published magnitudes shown beside the model's own effect as a sanity band.
PUBLISHED = {
    "trees": {
        "per": "+10 points de couvert arboré",
        "value_c": -0.63,
        "range_c": [-0.8, -0.4],
        "metric": "température de surface de jour",
        "source": "Yang et al. 2022, Environ. Res. Lett., doi 10.1088/1748-9326/ac4c1c",
    },
    "cool_roofs": {
        "per": "+0,1 d'albédo des toits",
        "value_c": -0.2,
        "range_c": [-0.33, -0.1],
        "metric": "température de l'air",
        "source": "Santamouris 2014, Solar Energy 103:682",
    },
    "green_roofs": {
        "per": "toit végétalisé contre toit noir",
        "value_c": -18.4,
        "range_c": None,
        "metric": "température de surface du toit (max. de jour)",
        "source": "Javits Center, New York",
    },
    "depave": {
        "per": "—",
        "value_c": None,
        "range_c": None,
        "metric": "—",
        "source": "pas d'ordre de grandeur robuste publié (PFMV / TRIBU)",
    },
    "cool_pavements": {
        "per": "+0,1 d'albédo de la ville",
        "value_c": -0.3,
        "range_c": [-0.9, -0.3],
        "metric": "température de l'air",
        "source": "Santamouris 2014, Solar Energy 103:682",
    },
}


def sanity_band(kind: str, model_c: float | None) -> dict:
    """The published magnitude of ``kind`` beside the model's own effect, with one French sentence when the
    model's effect falls outside the published range the product quotes."""
    band = {**PUBLISHED[kind], "model_c": model_c, "outside_range": None, "note": None}
    rng = band["range_c"]
    if model_c is not None and rng is not None:
        outside = not (min(rng) <= model_c <= max(rng))
        band["outside_range"] = outside
        if outside:
            band["note"] = (
                f"L'effet estimé sur ce territoire ({fr.temp(model_c, 2, True)} pour {band['per']}) sort de "
                f"la fourchette publiée ({fr.temp(rng[0], 1, True)} à {fr.temp(rng[1], 1, True)}, "
                f"{band['source'].split(',')[0]}) : à lire avec prudence."
            )
    return band


@dataclass
class Target:
    """Which blocks an intervention applies to: ``all``, ``risk`` (class ≥ ``min_class``, and ≤
    ``max_class`` when given), ``ids`` (a list of block ids) or ``polygon`` (blocks intersecting a WKT
    polygon, working CRS)."""

    kind: str = "all"
    min_class: int | None = None
    ids: list[str] | None = None
    polygon_wkt: str | None = None
    max_class: int | None = None

    def validate(self) -> None:
        if self.kind not in ("all", "risk", "ids", "polygon"):
            raise ScenarioError(f"Cible inconnue : « {self.kind} » (attendu all, risk, ids ou polygon).")
        if self.kind == "risk" and (self.min_class is None or not 1 <= int(self.min_class) <= 5):
            raise ScenarioError("La classe de risque minimale doit être comprise entre 1 et 5.")
        if self.kind == "risk" and self.max_class is not None and not int(self.min_class) <= int(self.max_class) <= 5:
            raise ScenarioError("La classe de risque maximale doit être comprise entre la minimale et 5.")
        if self.kind == "ids" and not self.ids:
            raise ScenarioError("Aucun îlot choisi.")
        if self.kind == "polygon":
            try:
                geom = shapely.from_wkt(self.polygon_wkt or "")
            except shapely.errors.GEOSException as exc:
                raise ScenarioError("La zone dessinée est illisible (géométrie WKT invalide).") from exc
            if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
                raise ScenarioError("La zone dessinée doit être un polygone.")


@dataclass
class Intervention:
    kind: str
    intensity: float
    target: Target = field(default_factory=Target)

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise ScenarioError(f"Type d'intervention inconnu : « {self.kind} » (attendu {', '.join(KINDS)}).")
        try:
            value = float(self.intensity)
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"Intensité non numérique pour « {self.kind} » : {self.intensity!r}.") from exc
        if not np.isfinite(value) or not 0 <= value <= 100:
            raise ScenarioError(f"Intensité hors limites pour « {self.kind} » : {value} (attendu entre 0 et 100).")
        self.target.validate()


@dataclass
class Scenario:
    name: str
    interventions: list[Intervention] = field(default_factory=list)
    description: str = ""
    # The ``created`` stamp of the territory build it was saved on (a rebuild keeps older scenarios).
    territory_created: str | None = None

    def validate(self) -> Scenario:
        if not isinstance(self.name, str) or not self.name.strip() or len(self.name) > 80:
            raise ScenarioError("Le nom du scénario doit compter de 1 à 80 caractères.")
        for i in self.interventions:
            i.validate()
        return self

    def to_dict(self) -> dict:
        return {"format_version": 1, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> Scenario:
        """Build and validate a scenario from JSON data; :class:`ScenarioError` if malformed."""
        if not isinstance(data, dict):
            raise ScenarioError("Un scénario doit être un objet JSON.")
        try:
            items = [
                Intervention(kind=i["kind"], intensity=i["intensity"], target=Target(**(i.get("target") or {})))
                for i in data.get("interventions", [])
            ]
            created = data.get("territory_created")
            scenario = cls(
                name=data["name"],
                interventions=items,
                description=str(data.get("description", "")),
                territory_created=None if created is None else str(created),
            )
        except (KeyError, TypeError) as exc:
            raise ScenarioError(f"Scénario mal formé : champ manquant ou inattendu ({exc}).") from exc
        return scenario.validate()


@dataclass
class UnitCosts:
    """Unit costs in € per m² treated (orders of magnitude to adapt locally; edit them freely)."""

    trees_eur_m2: float = 150.0
    depave_eur_m2: float = 100.0
    green_roofs_eur_m2: float = 80.0
    cool_roofs_eur_m2: float = 30.0
    cool_pavements_eur_m2: float = 40.0

    SOURCES = {
        "trees_eur_m2": "ADEME, Plus fraîche ma ville, fiche « Plantation d'arbres » : 1 500 à 3 000 € par arbre "
        "en ville dense avec fosse, ~15–20 m² de couvert à 15 ans (ordre de grandeur, à vérifier)",
        "depave_eur_m2": "Agence de l'eau Rhône Méditerranée Corse, « Vers la ville perméable » (2017) : 50 à 150 €/m² "
        "(à vérifier)",
        "green_roofs_eur_m2": "ADIVET / Plus fraîche ma ville, toiture végétalisée extensive : 50 à 100 €/m² "
        "(à vérifier)",
        "cool_roofs_eur_m2": "Plus fraîche ma ville, revêtement réfléchissant de toiture : 15 à 40 €/m² (à vérifier)",
        "cool_pavements_eur_m2": "revêtement de chaussée clair : 30 à 60 €/m² [notre estimation]",
    }

    @classmethod
    def from_dict(cls, data: dict) -> UnitCosts:
        """Costs from a JSON object of € per m²; :class:`ScenarioError` names a wrong key or value."""
        if not isinstance(data, dict):
            raise ScenarioError('Les coûts unitaires doivent être un objet JSON {"trees_eur_m2": 150, …}.')
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ScenarioError(
                f"Coût unitaire inconnu : « {unknown[0]} » (attendu {', '.join(cls.__dataclass_fields__)})."
            )
        known = {}
        for k, v in data.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                raise ScenarioError(
                    f"Coût unitaire « {k} » invalide : {v!r} (un nombre positif d'euros par m² est attendu, ex. 150)."
                )
            known[k] = float(v)
        return cls(**known)


def drawn_target(drawings: list[dict], crs) -> Target | None:
    """The scenario target of shapes drawn on a web map (GeoJSON features in WGS84, as Leaflet.draw gives
    them): their polygons united and brought to the blocks' ``crs``; None when nothing drawn is a polygon."""
    local = drawn_polygon(drawings, crs)
    return None if local is None else Target("polygon", polygon_wkt=local.wkt)


def target_area(blocks, target: Target) -> shapely.Geometry:
    """The ground a ``polygon`` or ``ids`` target covers (working CRS): the drawn zone, or the chosen blocks
    united — what a scenario opens as a cool refuge (:func:`ilots.analysis.refuges_territory`, ``added``)."""
    if target.kind == "polygon":
        return shapely.from_wkt(target.polygon_wkt)
    if target.kind == "ids":
        return shapely.union_all(blocks.geometry.loc[[i for i in target.ids or [] if i in blocks.index]].values)
    raise ScenarioError("Un refuge se dessine ou se choisit îlot par îlot, pas sur tout un ensemble d'îlots.")


def drawn_polygon(drawings: list[dict], crs) -> shapely.Geometry | None:
    """The polygons drawn on a web map (GeoJSON features in WGS84, as Leaflet.draw gives them), united and
    brought to ``crs``; None when nothing drawn is a polygon."""
    from pyproj import Transformer

    polys = [
        shapely.geometry.shape(d["geometry"])
        for d in drawings or []
        if isinstance(d, dict) and (d.get("geometry") or {}).get("type") in ("Polygon", "MultiPolygon")
    ]
    polys = [v for v in (shapely.make_valid(p) for p in polys) if not v.is_empty]  # a bow-tie drawn by hand
    if not polys:
        return None
    to_local = Transformer.from_crs(4326, crs, always_xy=True)
    return shapely.transform(shapely.union_all(polys), to_local.transform, interleaved=False)


def parse_where(text: str) -> Target:
    """``all``, ``risk>=4``, ``risk>3``, ``risk==5`` → a :class:`Target`."""
    t = text.strip().lower().replace(" ", "")
    if t in ("all", "tout", "tous", ""):
        return Target("all")
    m = re.fullmatch(r"risk(>=|>|==|=)([1-5])", t)
    if not m:
        raise ScenarioError(f"Condition « {text} » non comprise : utilisez all ou risk>=N (N de 1 à 5).")
    op, n = m.group(1), int(m.group(2))
    if op == ">":
        if n == 5:
            raise ScenarioError("Aucune classe de risque au-dessus de 5.")
        n += 1
    return Target("risk", min_class=n) if op in (">=", ">") else Target("risk", min_class=n, max_class=n)


class ScenarioEngine:
    """Everything needed to apply scenarios to one territory quickly (built once, then reused).

    ``blocks`` is the territory's block table (GeoDataFrame), ``meta``/``model_table`` the stored
    model (see :func:`ilots.analysis.ensure_model`).
    """

    def __init__(self, blocks, meta: dict, model_table: pd.DataFrame, costs: UnitCosts | None = None):
        self.index = blocks.index
        self.geometry = blocks.geometry
        self.table = pd.DataFrame(blocks.drop(columns=blocks.geometry.name))
        self.model = LinearModel.from_dict(meta["linear"])
        self.meta = meta
        self.costs = costs or UnitCosts()
        self.area = self.table["area_m2"].to_numpy(dtype="float64")
        known = self.table["residents"] if "residents" in self.table else pd.Series(np.nan, index=self.index)
        self.has_population = bool(known.notna().any())
        self.residents = known.fillna(0).to_numpy(dtype="float64")  # weights: a block of unknown population weighs 0
        self.base_lst = model_table["lst_used_c"].to_numpy(dtype="float64")
        self.base_class = model_table["risk_class"].to_numpy()
        self.risk_class_by_id = model_table["risk_class"]
        # The fit's draws of temperature errors and index settings (same seed, same per-block SD), so that
        # « habitants sortis du risque élevé » comes with the interval of the same simulation as p_high_risk.
        self.p_high = model_table["p_high_risk"].to_numpy(dtype="float64") if "p_high_risk" in model_table else None
        self.draws = (
            risk_draws(model_table["lst_sd_c"], RiskParams(**meta["risk"]["params"]))
            if "lst_sd_c" in model_table
            else None
        )
        self.reference_c = float(meta["risk"]["reference_median_c"])
        self.D0 = self.model.design(self.table)
        self.coef = np.asarray(self.model.coef)
        self.boot = np.asarray(self.model.boot_coef) if self.model.boot_coef else np.zeros((0, len(self.coef)))
        # Covariance of the bootstrap coefficients: per-block SDs of a delta are a quadratic form.
        self.boot_cov = np.cov(self.boot, rowvar=False) if len(self.boot) > 1 else np.zeros((len(self.coef),) * 2)
        self.lower = dict(zip(self.model.features, self.model.lower, strict=True))
        self.upper = dict(zip(self.model.features, self.model.upper, strict=True))
        self.uses = set(self.model.features)

    # -- targets ---------------------------------------------------------------------------------
    def mask(self, target: Target) -> np.ndarray:
        if target.kind == "all":
            return np.ones(len(self.index), dtype=bool)
        if target.kind == "risk":
            top = 5 if target.max_class is None else int(target.max_class)
            return (self.base_class >= int(target.min_class)) & (self.base_class <= top)
        if target.kind == "ids":
            unknown = set(target.ids) - set(self.index)
            if unknown:
                raise ScenarioError(f"Îlots inconnus : {', '.join(sorted(unknown)[:5])}.")
            return self.index.isin(target.ids)
        geom = shapely.from_wkt(target.polygon_wkt)
        return np.asarray(self.geometry.intersects(geom))

    # -- features --------------------------------------------------------------------------------
    def _col(self, name: str, default=np.nan) -> np.ndarray:
        if name in self.table:
            return self.table[name].to_numpy(dtype="float64", copy=True)
        return np.full(len(self.table), default, dtype="float64")

    def ground_shares(self) -> dict[str, np.ndarray]:
        """Per block, the shares of its area an intervention can use: ``roof`` (building footprints),
        ``sealed`` (sealed ground that is not a roof: built-up land cover minus footprints, else roads) and
        ``flat_roof_share`` (of the roofs, those flat enough to green)."""
        built, cover, imperv = self._col("built_frac"), self._col("building_coverage"), self._col("impervious_frac")
        c0 = np.nan_to_num(cover)
        sealed = np.where(
            np.isfinite(built),
            np.maximum(np.nan_to_num(built) - c0, 0.0),
            np.nan_to_num(np.where(np.isfinite(imperv), imperv - c0, 0.0)),
        )
        height = self._col("building_height_m")
        flat = np.where(np.nan_to_num(height) >= 12.0, FLAT_ROOF_SHARE_TALL, FLAT_ROOF_SHARE_LOW)
        return {"roof": c0, "sealed": sealed, "flat_roof_share": flat}

    def edit(self, scenario: Scenario) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, dict]:
        """The block features after the scenario's interventions: (edited table, changed mask,
        block albedo gain, m² treated by kind). Fractions stay in [0, 1]; footprints never change."""
        scenario.validate()
        n = len(self.index)
        tree, grass, built, bare = (self._col(c) for c in ("tree_frac", "grass_frac", "built_frac", "bare_frac"))
        imperv, road = self._col("impervious_frac"), self._col("road_frac")
        shares = self.ground_shares()
        c0, sealed, flat_share = shares["roof"], shares["sealed"], shares["flat_roof_share"]
        bare0 = np.nan_to_num(bare)
        m2 = dict.fromkeys(KINDS, 0.0)
        albedo = np.zeros(n)
        changed = np.zeros(n, dtype=bool)
        d_tree, d_grass, d_sealed, d_bare, d_roof_green = (np.zeros(n) for _ in range(5))
        for item in scenario.interventions:
            sel = self.mask(item.target)
            share = float(item.intensity) / 100.0
            if share == 0 or not sel.any():
                continue
            if item.kind == "trees":
                want = np.where(sel, share, 0.0)
                from_bare = np.minimum(want, np.maximum(bare0 + d_bare, 0))
                from_sealed = np.minimum(want - from_bare, np.maximum(sealed + d_sealed, 0))
                d_bare -= from_bare
                d_sealed -= from_sealed
                d_tree += from_bare + from_sealed
                m2["trees"] += float(((from_bare + from_sealed) * self.area).sum())
            elif item.kind == "depave":
                x = np.where(sel, share * np.maximum(sealed + d_sealed, 0), 0.0)
                d_sealed -= x
                d_grass += x
                m2["depave"] += float((x * self.area).sum())
            elif item.kind == "green_roofs":
                g = np.where(sel, share * flat_share * c0, 0.0)
                g = np.minimum(g, np.maximum(flat_share * c0 - d_roof_green, 0))
                d_roof_green += g
                m2["green_roofs"] += float((g * self.area).sum())
            elif item.kind == "cool_roofs":
                r = np.where(sel, share * c0, 0.0)
                albedo += r * ROOF_ALBEDO_GAIN
                m2["cool_roofs"] += float((r * self.area).sum())
            elif item.kind == "cool_pavements":
                r = np.where(sel, share * np.nan_to_num(road), 0.0)
                albedo += r * PAVEMENT_ALBEDO_GAIN
                m2["cool_pavements"] += float((r * self.area).sum())
            changed |= sel
        # Consistent fraction edits: trees and depaving replace bare or sealed ground; green roofs
        # turn roof (built-up land cover) into apparent grass; footprints never change.
        new = self.table.copy()
        if np.isfinite(tree).any():
            new["tree_frac"] = np.clip(tree + d_tree, 0, 1)
        if np.isfinite(grass).any():
            new["grass_frac"] = np.clip(grass + d_grass + d_roof_green, 0, 1)
        if np.isfinite(bare).any():
            new["bare_frac"] = np.clip(bare + d_bare, 0, 1)
        if np.isfinite(built).any():
            new["built_frac"] = np.clip(built + d_sealed - d_roof_green, 0, 1)
        if np.isfinite(imperv).any():
            new["impervious_frac"] = np.clip(np.maximum(imperv + d_sealed, c0), 0, 1)
        new.attrs["greened"] = d_grass + d_roof_green  # ground or roofs turned green, share of block
        return new, changed, albedo, m2

    def _as_seen(self, edited: pd.DataFrame) -> pd.DataFrame:
        """The edit carried onto the footprint-matched columns the model reads: a block's matched share moves
        by the change made on its ground, so the cooling is the model's effect of that change on the block's
        own surface (Landsat, blurring it over ~100 m, would show part of it on the neighbours)."""
        if not self.model.inputs:
            return edited
        moved = {
            col: self.table[col] + (edited[f] - self.table[f])
            for f, col in self.model.inputs.items()
            if f in edited and col in self.table
        }
        return edited.assign(**moved)

    def apply(self, scenario: Scenario) -> tuple[pd.DataFrame, dict]:
        """Per-block results and the summary of ``scenario`` (validated first)."""
        new, changed, albedo, m2 = self.edit(scenario)
        n = len(self.index)
        model_input = new
        if "grass_frac" not in self.uses and "tree_frac" in self.uses and "tree_frac" in new:
            # Without a grass term, greened ground and roofs count as half a tree (Schwaab et al. 2021).
            model_input = new.assign(
                tree_frac=np.clip(new["tree_frac"] + SCHWAAB_GRASS_TO_TREES * new.attrs["greened"], 0, 1)
            )
        model_input = self._as_seen(model_input)
        D1 = self.model.design(model_input)
        dD = D1 - self.D0
        # Two quantities, never added: the model's surface temperature, and the literature's air temperature
        # for reflective coatings (the model has no albedo feature).
        delta_model = dD @ self.coef
        delta_lit = LITERATURE_C_PER_ALBEDO * albedo
        delta = delta_model
        sd = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", dD, np.atleast_2d(self.boot_cov), dD), 0.0))
        # Extrapolation: an edited feature leaves the range the model was trained on.
        extrap = np.zeros(n, dtype=bool)
        for f, col in zip(self.model.features, self.model.input_columns(), strict=True):
            if col in model_input:
                v = model_input[col].to_numpy(dtype="float64")
                moved = np.abs(np.nan_to_num(v) - np.nan_to_num(self.table[col].to_numpy(dtype="float64"))) > 1e-12
                extrap |= moved & ((v < self.lower[f] - 1e-9) | (v > self.upper[f] + 1e-9))
        new_lst = self.base_lst + delta
        table = self.table.assign(lst_mean_c=new_lst)
        risk, _ = risk_index(
            table, pd.Series(new_lst - self.reference_c, index=self.index), RiskParams(**self.meta["risk"]["params"])
        )
        new_class = risk["risk_class"].to_numpy()
        per_block = pd.DataFrame(
            {
                "lst_before_c": self.base_lst,
                "lst_after_c": new_lst,
                "delta_c": delta,
                "delta_lo_c": delta - 1.645 * sd,
                "delta_hi_c": delta + 1.645 * sd,
                "delta_model_c": delta_model,
                "delta_air_c": delta_lit,
                "risk_class_before": self.base_class,
                "risk_class_after": new_class,
                "changed": changed,
                "extrapolated": extrap & changed,
            },
            index=self.index,
        )
        return per_block, self._summary(scenario, per_block, dD, m2, changed)

    def _summary(self, scenario, pb, dD, m2, changed) -> dict:
        area_w = self.area * changed
        res_w = self.residents * changed
        delta = pb["delta_c"].to_numpy()
        air = pb["delta_air_c"].to_numpy()
        surface_edit = bool(np.any(np.abs(dD) > 0))

        def wmean(values, w):
            """Weighted mean, or None when nothing weighs (no block reached, no resident known): unknown, never 0."""
            return float(np.sum(values * w) / np.sum(w)) if np.sum(w) > 0 else None

        def wmean_boot(w):
            """90 % interval of a weighted mean surface delta over the bootstrap coefficient samples; None
            where there is no surface edit or no weight (never a zero-width interval)."""
            if len(self.boot) == 0 or np.sum(w) <= 0 or not surface_edit:
                return [None, None]
            per = ((w @ dD) @ self.boot.T) / np.sum(w)
            lo, hi = float(np.quantile(per, 0.05)), float(np.quantile(per, 0.95))
            return [lo, hi] if hi > lo else [None, None]

        def air_interval(w):
            """The published range of the reflective measures, scaled like their central value."""
            if np.sum(w) <= 0 or not np.any(air != 0):
                return [None, None]
            scale = wmean(air, w) / LITERATURE_C_PER_ALBEDO  # mean albedo gain of the blocks reached
            lo, hi = AIR_RANGE_C_PER_ALBEDO
            return [lo * scale, hi * scale]

        has_pop = self.has_population
        before, after = pb["risk_class_before"].to_numpy(), pb["risk_class_after"].to_numpy()
        out_of_high = (before >= 4) & (after < 4)
        out_interval, out_median = [None, None], None
        # Only changed blocks that some draw puts in a high class before can leave it (p_high_risk > 0).
        movable = changed & (np.nan_to_num(self.p_high) > 0) if self.p_high is not None else changed
        if has_pop and self.draws is not None and changed.any():
            cols = np.flatnonzero(movable)
            sub = self.table.iloc[cols]
            base = self.base_lst[cols] - self.reference_c
            draws = self.draws.at(cols)
            people = 100.0 * draws.people(sub)  # the same for before and after: computed once
            hi_before = draws.hazard(base) * people >= THRESHOLDS[2]
            hi_after = draws.hazard(base + delta[cols]) * people >= THRESHOLDS[2]
            moved = ((hi_before & ~hi_after) * self.residents[cols][None, :]).sum(axis=1)
            out_interval = [float(np.quantile(moved, 0.05)), float(np.quantile(moved, 0.95))]
            out_median = float(np.median(moved))
        hot = self.p_high >= 0.5 if self.p_high is not None else before >= 4
        hot_w = self.residents * hot * changed
        costs = {
            "trees": m2["trees"] * self.costs.trees_eur_m2,
            "depave": m2["depave"] * self.costs.depave_eur_m2,
            "green_roofs": m2["green_roofs"] * self.costs.green_roofs_eur_m2,
            "cool_roofs": m2["cool_roofs"] * self.costs.cool_roofs_eur_m2,
            "cool_pavements": m2["cool_pavements"] * self.costs.cool_pavements_eur_m2,
        }
        kinds = {i.kind for i in scenario.interventions if float(i.intensity) > 0}
        tree_effect = self.model.effect("tree_frac") * 0.1 if "tree_frac" in self.uses else None
        return {
            "name": scenario.name,
            "n_blocks_changed": int(changed.sum()),
            "area_changed_m2": float(self.area[changed].sum()),
            "delta_mean_c": wmean(delta, area_w) if surface_edit else None,
            "delta_mean_interval_c": wmean_boot(area_w),
            "delta_pop_weighted_c": wmean(delta, res_w) if has_pop and surface_edit else None,
            "delta_pop_weighted_interval_c": wmean_boot(res_w) if has_pop else [None, None],
            "delta_territory_mean_c": wmean(delta, self.area) if surface_edit else None,
            "delta_air_mean_c": wmean(air, area_w) if np.any(air != 0) else None,
            "delta_air_interval_c": air_interval(area_w),
            "air_what": "température de l'air (ordre de grandeur publié pour l'albédo, Santamouris 2014), pas la "
            "température de surface du modèle : les deux ne s'additionnent pas",
            "residents_reached": float(res_w.sum()) if has_pop else None,
            # Residents leaving classes 4–5: the simulation's median and 90 % interval over temperature errors and
            # index settings (a count at one setting is a threshold artefact; kept for reference only).
            "residents_out_of_high_risk": out_median
            if out_median is not None
            else (float(self.residents[out_of_high].sum()) if has_pop else None),
            "residents_out_of_high_risk_interval": out_interval,
            "residents_out_of_high_risk_chosen_setting": float(self.residents[out_of_high].sum()) if has_pop else None,
            # Threshold-free headlines: residents × °C avoided, and the mean change for residents of hot blocks.
            "person_degrees_avoided": float(-(delta * res_w).sum()) if has_pop and surface_edit else None,
            "delta_hot_residents_c": wmean(delta, hot_w) if has_pop and surface_edit else None,
            "blocks_out_of_high_risk": int(out_of_high.sum()),
            "n_extrapolated": int(pb["extrapolated"].sum()),
            "m2": m2,
            "cost_eur": float(sum(costs.values())),
            "cost_by_measure_eur": costs,
            "unit_costs": asdict(self.costs),
            "sanity": {k: sanity_band(k, tree_effect if k == "trees" else None) for k in sorted(kinds)},
            "engine": "ridge (effets du modèle) + littérature pour l'albédo",
            "what": "température de surface (LST) vers 11 h solaire, pas température de l'air",
        }


def compare_scenarios(engine: ScenarioEngine, scenarios: list[Scenario]) -> pd.DataFrame:
    """One row per scenario with its headline figures, for side-by-side tables and charts."""
    rows = []
    for sc in scenarios:
        _, s = engine.apply(sc)
        lo, hi = s["delta_mean_interval_c"]
        rows.append(
            {
                "scenario": s["name"],
                "n_blocks_changed": s["n_blocks_changed"],
                "delta_mean_c": s["delta_mean_c"],
                "delta_mean_lo_c": lo,
                "delta_mean_hi_c": hi,
                "delta_pop_weighted_c": s["delta_pop_weighted_c"],
                "residents_out_of_high_risk": s["residents_out_of_high_risk"],
                "cost_eur": s["cost_eur"],
                "eur_per_resident_reached": s["cost_eur"] / s["residents_reached"] if s["residents_reached"] else None,
                "n_extrapolated": s["n_extrapolated"],
            }
        )
    return pd.DataFrame(rows).set_index("scenario") if rows else pd.DataFrame()


# -- persistence (the files themselves are the store's: ilots.store.write_scenario_file and friends) -----------


def save_scenario(territory_dir: str | Path, scenario: Scenario, overwrite: bool = False) -> Path:
    """Save ``scenario`` atomically under its exact name; refuse to replace one of that name unless
    ``overwrite``. It is stamped with the territory build it was made on."""
    scenario.validate()
    stamped = replace(scenario, territory_created=(read_manifest(territory_dir) or {}).get("created"))
    return write_scenario_file(territory_dir, scenario.name, stamped.to_dict(), overwrite=overwrite)


def load_scenario(territory_dir: str | Path, name: str) -> Scenario:
    path = find_scenario_file(territory_dir, name)
    if path is None:
        raise ScenarioFileError(f"Aucun scénario nommé « {name} ».")
    return _read(path)


def _read(path: Path) -> Scenario:
    data = read_scenario_file(path)
    try:
        return Scenario.from_dict(data)
    except ScenarioError as exc:
        raise ScenarioFileError(f"{path.name} : {exc}") from exc


def list_scenarios(territory_dir: str | Path) -> tuple[list[Scenario], list[str]]:
    """Saved scenarios, and one French message per file that could not be read (never raised)."""
    good, problems = [], []
    for path in scenario_files(territory_dir):
        try:
            good.append(_read(path))
        except ScenarioFileError as exc:
            problems.append(str(exc))
    return good, problems


def from_previous_build(scenario: Scenario, manifest: dict) -> bool:
    """Whether ``scenario`` was saved on an earlier build of the territory than ``manifest``'s."""
    return scenario.territory_created is not None and scenario.territory_created != manifest.get("created")


def delete_scenario(territory_dir: str | Path, name: str) -> None:
    """Delete the scenario named exactly ``name`` (and no other)."""
    path = find_scenario_file(territory_dir, name)
    if path is None:
        raise ScenarioFileError(f"Aucun scénario nommé « {name} ».")
    path.unlink()
