"""The BD TOPO shapefile reader on the real Olemps extract (IGN v3 schema, real quirks)."""

import pytest
import shapely

from ilots.blocks import blocks_from_network
from ilots.sources.bdtopo import read_bdtopo
from ilots.sources.vectors import shapefile_encoding

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def olemps(real_dir):
    return read_bdtopo(real_dir / "olemps_bdtopo", 2154)


def test_utf8_dbf_without_cpg_is_decoded(real_dir, olemps):
    assert shapefile_encoding(real_dir / "olemps_bdtopo" / "ZONE_DE_VEGETATION.shp") == "UTF-8"
    natures = set(olemps.get("zone_de_vegetation")["nature"])
    assert "Forêt fermée de feuillus" in natures
    assert not any("Ã" in n for n in natures)


def test_layers_counts_z_dropped_and_geometry_only_roads(olemps):
    assert {k: len(v) for k, v in olemps.layers.items()} == {
        "batiment": 2273,
        "zone_de_vegetation": 665,
        "troncon_de_route": 1094,
        "troncon_de_voie_ferree": 6,
        "surface_hydrographique": 28,
        "commune": 1,
        "zone_d_activite_ou_d_interet": 21,  # places of interest: the sensitive facilities come from them
    }
    assert not olemps.get("batiment").geometry.has_z.any()
    roads = olemps.get("troncon_de_route")  # no .dbf: geometry only, default width
    assert roads["nature"].isna().all()
    assert (roads["width_m"] == 5.0).all()


def test_null_heights_are_imputed_and_flagged(olemps):
    b = olemps.get("batiment")
    assert (b["height_source"] != "measured").sum() >= 269  # 269 null + zero heights
    assert set(b["height_source"]) == {"measured", "floors", "local_median"}
    assert b["height_m"].notna().all() and (b["height_m"] > 0).all()


def test_bbox_reads_only_the_study_area(real_dir):
    small = read_bdtopo(real_dir / "olemps_bdtopo", 2154, bbox=(663000, 6359000, 664000, 6360000))
    assert 0 < len(small.get("batiment")) < 2273


def test_blocks_from_real_roads(olemps):
    roads = olemps.get("troncon_de_route")
    area = shapely.box(*roads.total_bounds)
    blocks = blocks_from_network(
        roads, area, olemps.get("troncon_de_voie_ferree"), olemps.get("surface_hydrographique")
    )
    assert len(blocks) > 100
    assert blocks.area.min() >= 500
    assert blocks.index.is_unique


def test_real_enclosures_are_momepys(olemps):
    """Issue 14 §1: the shapely enclosures give momepy's polygons on real BD TOPO roads, railways and rivers."""
    momepy = pytest.importorskip("momepy")
    import geopandas as gpd
    import numpy as np

    from ilots.blocks import barrier_roads, enclosures

    roads = barrier_roads(olemps.get("troncon_de_route"))
    area = shapely.box(*roads.total_bounds).buffer(-150)
    extra = [olemps.get("troncon_de_voie_ferree").geometry, olemps.get("surface_hydrographique").geometry.boundary]
    old = momepy.enclosures(roads, limit=gpd.GeoSeries([area], crs=roads.crs), additional_barriers=extra, clip=True)
    new = enclosures(roads.geometry.to_numpy(), area, np.concatenate([e.to_numpy() for e in extra]))
    assert len(new) == len(old) > 200 and shapely.equals_exact(new, old.geometry.to_numpy(), 0).all()


def test_empty_layers_are_reported_missing(real_dir, tmp_path):
    folder = tmp_path / "bd"
    folder.mkdir()
    for f in (real_dir / "olemps_bdtopo").glob("AERODROME.*"):
        (folder / f.name.replace("AERODROME", "SURFACE_HYDROGRAPHIQUE")).write_bytes(f.read_bytes())
    bd = read_bdtopo(folder, 2154)
    assert "surface_hydrographique" in bd.missing and "batiment" in bd.missing


def test_area_restricts_blocks_to_a_commune_boundary(real_dir, tmp_path):
    """--area: blocks cut from roads inside the commune polygon only (Olemps has no LST: a fake one)."""
    import numpy as np
    from rasterio.transform import from_origin

    from ilots.build import BuildInputs, compute_territory
    from tests.conftest import write_tif

    bd = real_dir / "olemps_bdtopo"
    lst = write_tif(tmp_path / "lst_2022-07-14.tif", np.full((200, 200), 310.0), from_origin(660000, 6364000, 30, 30))
    built = compute_territory(BuildInputs(name="Olemps", lst=[str(lst)], bdtopo=str(bd), area=str(bd / "COMMUNE.shp")))
    commune = __import__("geopandas").read_file(bd / "COMMUNE.shp").to_crs(2154).geometry.iloc[0]
    assert built.blocks.within(commune.buffer(1.0)).all()
    assert built.manifest["study_area_source"] == "area"
    assert built.manifest["features"]["tree_frac"]["source"] == "bdtopo:zone_de_vegetation"
    assert 0 < built.blocks["tree_frac"].mean() < 1
    assert built.blocks["lst_mean_c"].round(2).eq(36.85).all()
    # The commune name is searchable offline (the roads have no names: their .dbf is missing).
    from ilots.search import search_places

    hit = search_places("olemps", built.blocks, built.streets)[0]
    assert hit["kind"] == "commune" and hit["block_id"] in built.blocks.index


def test_wfs_geojson_buildings_as_footprints(real_dir):
    """The Géoplateforme WFS response (lon/lat 3D MultiPolygons, lower-case v3 fields) as --buildings."""
    from ilots.sources.buildings import impute_heights, normalise_buildings
    from ilots.sources.vectors import read_vector, require_polygons

    path = real_dir / "formats" / "wfs" / "BDTOPO_V3_batiment_Lyon_getfeature.geojson"
    b = impute_heights(normalise_buildings(require_polygons(read_vector(path, 2154), "WFS")))
    assert len(b) == 1532
    assert (b["height_source"] != "measured").sum() >= 195
    assert b.crs.to_epsg() == 2154 and not b.geometry.has_z.any()
    assert 840_000 < b.total_bounds[0] < 845_000  # Lyon in Lambert-93: lon/lat axis order handled
