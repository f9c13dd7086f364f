"""Scale: tiled builds equal untiled ones; many communes as Dask tasks (LocalCluster, two workers)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ilots.build import BuildInputs, build_territory
from ilots.cli import main
from ilots.scale import build_many, build_tiled, read_communes
from ilots.store import is_territory, load_territory


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    from ilots.demo import generate_demo_sources

    return generate_demo_sources(tmp_path_factory.mktemp("scale") / "src", size_km=2.0, seed=7)


@pytest.fixture(scope="module")
def inputs(sources):
    return BuildInputs(
        name="Îlotville",
        lst=[str(sources.landsat)],
        landcover=str(sources.landcover),
        bdtopo=str(sources.bdtopo),
        population=[str(sources.population)],
    )


@pytest.fixture(scope="module")
def untiled(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("untiled") / "t"
    build_territory(inputs, out)
    return load_territory(out)


@pytest.mark.parametrize(("halo_m", "workers"), [(2500.0, 1), (300.0, 1), (20.0, 1), (300.0, 2)])
def test_tiled_build_is_identical_to_the_untiled_one(inputs, untiled, tmp_path, halo_m, workers):
    out = build_tiled(inputs, tmp_path / "t", tile_m=700.0, halo_m=halo_m, workers=workers)
    tiled = load_territory(out)
    a, b = untiled.blocks, tiled.blocks
    assert b.index.is_unique and list(a.index) == list(b.index)  # every block once, same ids
    assert a.geometry.normalize().geom_equals_exact(b.geometry.normalize(), 1e-6).all()  # edge blocks kept whole
    num = list(a.select_dtypes("number").columns)
    assert "dist_green_m" in num and "lst_mean_c" in num and "residents" in num
    assert np.allclose(a[num].to_numpy(float), b[num].to_numpy(float), equal_nan=True, atol=1e-9)
    assert tiled.manifest["tiling"]["tiles"] == 9 and tiled.coverage() is not None
    assert tiled.manifest["tiling"]["blocks_computed"] == len(b)  # issue 14 §3: no block's features computed twice
    assert tiled.manifest["buildings"] == untiled.manifest["buildings"]  # each building counted once
    assert tiled.manifest["sources"] == untiled.manifest["sources"]  # every source file hashed
    for col in ("dist_water_m", "dist_green_m", "lst_mean_c"):
        assert tiled.manifest["features"][col] == untiled.manifest["features"][col], col
    if halo_m < 100:  # blocks larger than the halo: their tiles were built again with a wider one
        assert tiled.manifest["tiling"]["halo_widened"] > 0


def _communes(sources) -> gpd.GeoDataFrame:
    roads = gpd.read_file(sources.bdtopo, layer="troncon_de_route")
    x0, y0, x1, y1 = roads.total_bounds
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    boxes = [
        shapely.box(x0, y0, xm, ym),
        shapely.box(xm, y0, x1, ym),
        shapely.box(x0, ym, xm, y1),
        shapely.box(xm, ym, x1, y1),
        shapely.box(x1 + 50_000, y1 + 50_000, x1 + 51_000, y1 + 51_000),
    ]
    return gpd.GeoDataFrame(
        {
            "INSEE_COM": ["37901", "37902", "37903", "37904", "37905"],
            "NOM": ["Sud-Ouest", "Sud-Est", "Nord-Ouest", "Nord-Est", "Hors-Champ"],
        },
        geometry=boxes,
        crs=roads.crs,
    )


def test_build_many_on_a_local_cluster_reports_failures_and_resumes(sources, inputs, tmp_path):
    path = tmp_path / "communes.gpkg"
    _communes(sources).to_file(path, driver="GPKG")
    communes = read_communes(str(path))
    out = tmp_path / "many"
    summary = build_many(communes, out, inputs=inputs, n_workers=2)
    status = dict(zip(summary["code_insee"], summary["status"], strict=True))
    assert status == {"37901": "built", "37902": "built", "37903": "built", "37904": "built", "37905": "failed"}
    failed = summary.set_index("code_insee").loc["37905", "error"]
    assert "ne recouvre pas" in failed or "recouvre" in failed
    for code in ("37901", "37902", "37903", "37904"):
        assert is_territory(out / code)
    allb = gpd.read_parquet(out / "blocks")
    assert set(allb["code_insee"].astype(str)) == {"37901", "37902", "37903", "37904"}
    assert len(allb) == int(summary["n_blocks"].sum())
    assert (out / "summary.csv").exists() and (out / "summary.json").exists()

    stamp = (out / "37901" / "territory.json").read_bytes()
    again = build_many(communes, out, inputs=inputs, n_workers=2)
    assert list(again["status"]) == ["skipped"] * 4 + ["failed"]
    assert (out / "37901" / "territory.json").read_bytes() == stamp


def test_build_many_command_line(sources, tmp_path, capsys):
    path = tmp_path / "communes.gpkg"
    _communes(sources).iloc[:2].to_file(path, driver="GPKG")
    code = main(
        [
            "build-many",
            "--quiet",
            "--communes",
            str(path),
            "--out",
            str(tmp_path / "m"),
            "--workers",
            "2",
            "--lst",
            str(sources.landsat),
            "--bdtopo",
            str(sources.bdtopo),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "2 construites" in out and "0 en échec" in out


def test_read_communes_accepts_codes(tmp_path):
    assert read_communes("37261, 37122") == ["37261", "37122"]
    (tmp_path / "codes.txt").write_text("# Touraine\n37261\n37122\n", encoding="utf-8")
    assert read_communes(str(tmp_path / "codes.txt")) == ["37261", "37122"]


def test_tiles_are_equal_and_leave_no_sliver():
    from ilots.scale.tiled import _tiles

    tiles = _tiles((0.0, 0.0, 10_400.0, 4_000.0), 5_000.0)
    assert tiles == [(0.0, 0.0, 5_200.0, 4_000.0), (5_200.0, 0.0, 10_400.0, 4_000.0)]  # not 5 + 5 + 0.4 km
    assert len(_tiles((0.0, 0.0, 31_600.0, 31_600.0), 5_000.0)) == 36  # 6 × 6 of 5.27 km, not 7 × 7 with slivers
    assert _tiles((0.0, 0.0, 300.0, 300.0), 5_000.0) == [(0.0, 0.0, 300.0, 300.0)]


def test_a_tile_holds_what_its_representative_point_says_computing_it_only_across_its_edges():
    """Issue 14 §3: which tile holds a building or block is decided from its bounding box where the box is wholly
    inside or outside the tile, and from its representative point only across an edge: the same rule as the point
    everywhere, every geometry in exactly one tile, an empty one in none."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from ilots.scale.tiled import _holds, _tile_box, _tiles

    rng = np.random.default_rng(5)
    x, y = rng.uniform(-50, 1_050, 3_000), rng.uniform(-50, 1_050, 3_000)
    w, h = rng.uniform(2, 60, 3_000), rng.uniform(2, 60, 3_000)
    shapes = list(shapely.box(x, y, x + w, y + h))
    shapes[:200] = [
        shapely.Polygon([(a, b), (a + 40, b), (a + 40, b + 5), (a + 5, b + 5), (a + 5, b + 40), (a, b + 40)])
        for a, b in zip(x[:200], y[:200], strict=True)
    ]  # L-shapes: the point is not the box's centre
    shapes[200:203] = [shapely.box(250.0, 100.0, 260.0, 110.0), shapely.box(245.0, 0.0, 250.0, 5.0), shapely.Polygon()]
    geoms = gpd.GeoSeries(shapes, crs=2154)
    study = (0.0, 0.0, 1_000.0, 1_000.0)
    pts = [g.representative_point() for g in geoms]
    px = np.array([np.nan if p.is_empty else p.x for p in pts])  # NaN for the empty polygon
    py = np.array([np.nan if p.is_empty else p.y for p in pts])
    held = np.zeros(len(geoms), dtype=int)
    for tile in _tiles(study, 250.0):
        x0, y0, x1, y1 = _tile_box(tile, study)
        by_point = (px >= x0) & (px < x1) & (py >= y0) & (py < y1)
        mine = _holds(tile, study, geoms)
        assert (mine == by_point).all(), tile
        held += mine
    assert (np.delete(held, 202) == 1).all() and held[202] == 0  # once each; the empty polygon nowhere


def test_a_halo_is_widened_only_towards_the_blocks_it_cuts(inputs, monkeypatch):
    """Issue 14 §3: a tile whose blocks reach some edges of its halo reads the network again wider on those sides
    only (before: on all four, up to three times the area at 1,000 km²), and keeps the same blocks."""
    import ilots.sources.bdtopo as bdtopo
    from ilots.build import study_extent
    from ilots.scale.tiled import _own_blocks, _tiles

    wcrs, study, _ = study_extent(inputs)
    reads = []
    real = bdtopo.read_bdtopo
    monkeypatch.setattr(
        bdtopo, "read_bdtopo", lambda *a, bbox=None, **k: reads.append(bbox) or real(*a, bbox=bbox, **k)
    )
    grew_on_some_sides_only = 0
    for tile in _tiles(study, 700.0):
        reads.clear()
        narrow, _, widened = _own_blocks(inputs, (wcrs, study), tile, 20.0)
        wide, _, _ = _own_blocks(inputs, (wcrs, study), tile, 5_000.0)
        same = [sorted(shapely.to_wkt(shapely.normalize(b.geometry.values), 3)) for b in (narrow, wide)]
        assert same[0] == same[1]  # the same blocks (ids are given later, over the whole territory)
        passes = reads[: widened + 1]
        for before, after in zip(passes, passes[1:], strict=False):
            grew = [abs(a - b) > 1e-6 for a, b in zip(before, after, strict=True)]
            free = [abs(a - e) > 1e-6 for a, e in zip(after, study, strict=True)]  # not stopped by the study's edge
            assert any(grew)
            grew_on_some_sides_only += not all(g for g, f in zip(grew, free, strict=True) if f)
    assert grew_on_some_sides_only > 0


def test_a_tiled_build_reads_each_layers_metadata_once(inputs, untiled, tmp_path, monkeypatch):
    """Issue 14 §3: the layers' metadata (and the BD TOPO's list of layers) are read once for all the tiles, not
    for each tile and layer (9 tiles here; 36 × 9 openings of the GeoPackage at 1,000 km²); the same blocks."""
    import pyogrio

    import ilots.sources.bdtopo as bdtopo

    calls = {"info": 0, "list": 0}
    real_info, real_list = pyogrio.read_info, bdtopo.list_bdtopo_layers
    monkeypatch.setattr(
        pyogrio, "read_info", lambda *a, **k: calls.__setitem__("info", calls["info"] + 1) or real_info(*a, **k)
    )
    monkeypatch.setattr(
        bdtopo, "list_bdtopo_layers", lambda *a: calls.__setitem__("list", calls["list"] + 1) or real_list(*a)
    )
    tiled = load_territory(build_tiled(inputs, tmp_path / "t", tile_m=700.0, halo_m=300.0))
    layers = len(real_list(inputs.bdtopo))
    assert calls["list"] <= 1 and calls["info"] <= 2 * layers, calls  # the territory's extent, then the tiles'
    assert list(tiled.blocks.index) == list(untiled.blocks.index)


def test_an_untiled_build_reads_each_layers_metadata_once(inputs, tmp_path, monkeypatch):
    """The working CRS, the study's bounds and the reading of the layers all need a layer's metadata: one read for
    all of them (the roads' and buildings' were read three times, the BD TOPO listed three times)."""
    from collections import Counter

    import pyogrio

    import ilots.sources.bdtopo as bdtopo

    reads, lists = Counter(), Counter()
    real_info, real_list = pyogrio.read_info, bdtopo.list_bdtopo_layers

    def info(path, layer=None, *a, **k):
        reads[(str(path), layer)] += 1
        return real_info(path, layer, *a, **k)

    monkeypatch.setattr(pyogrio, "read_info", info)
    monkeypatch.setattr(bdtopo, "list_bdtopo_layers", lambda *a: lists.update([str(a[0])]) or real_list(*a))
    build_territory(inputs, tmp_path / "u")
    assert reads and max(reads.values()) == 1, reads
    assert list(lists.values()) == [1], lists


def test_build_command_line_builds_by_tiles(sources, tmp_path, capsys):
    args = ["build", "--quiet", "--name", "Îlotville", "--lst", str(sources.landsat), "--bdtopo", str(sources.bdtopo)]
    assert main([*args, "--out", str(tmp_path / "t"), "--tile-km", "1", "--workers", "2"]) == 0
    terr = load_territory(tmp_path / "t")
    assert terr.manifest["tiling"]["tile_m"] == 1000.0 and len(terr.blocks) > 200
    with pytest.raises(SystemExit) as refused:
        main([*args, "--out", str(tmp_path / "w"), "--tile-km", "1", "--workers", "0"])
    assert refused.value.code == 2 and "nombre de processus" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "u"), "--tile-km", "0.01"]) == 2
    assert "au moins 0,5 km" in capsys.readouterr().err


def test_restat_gives_another_date_by_the_stored_weights(demo_territory, tmp_path, capsys):
    from ilots.demo import PRODUCT_ID

    scene = demo_territory / "sources" / "landsat" / PRODUCT_ID
    assert main(["restat", str(demo_territory), "--lst", str(scene), "--out", str(tmp_path / "same.csv")]) == 0
    same = pd.read_csv(tmp_path / "same.csv", index_col="block_id")
    both = same["lst_mean_c"].notna() & same["lst_mean_c_stored"].notna()
    assert both.mean() > 0.9 and same.loc[both, "difference_c"].abs().max() < 0.05  # the same scene again
    capsys.readouterr()
    # A warmer raster (an LST GeoTIFF in °C, 2 °C above the stored one): the blocks follow, by a sparse product.
    terr = load_territory(demo_territory)
    warm = terr.lst() + 2.0
    warm.attrs = {}
    warm = warm.rio.write_nodata(np.nan)
    warm.rio.to_raster(tmp_path / "warm_LST_2024-07-01.tif")
    assert (
        main(
            [
                "restat",
                str(demo_territory),
                "--lst",
                str(tmp_path / "warm_LST_2024-07-01.tif"),
                "--out",
                str(tmp_path / "warm.csv"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "1er juillet 2024" in out and "+2,0\u00a0°C" in out
    table = pd.read_csv(tmp_path / "warm.csv", index_col="block_id")
    ok = table["difference_c"].notna()
    assert ok.mean() > 0.9 and np.allclose(table.loc[ok, "difference_c"], 2.0, atol=0.05)


def test_build_many_fetches_codes_on_an_existing_scheduler(fake_world, tmp_path, monkeypatch):
    """INSEE codes are fetched (local fake services) by workers of a cluster given by its address."""
    from dask.distributed import LocalCluster

    _, url, _ = fake_world
    monkeypatch.setenv("ILOTS_WFS_URL", f"{url}/wfs")  # workers inherit the environment
    monkeypatch.setenv("ILOTS_STAC_URL", f"{url}/stac/")
    monkeypatch.setenv("ILOTS_CACHE_DIR", str(tmp_path / "cache"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        summary = build_many(
            ["37999", "99999"], tmp_path / "m", fetch={"year": 2023}, scheduler=cluster.scheduler_address
        )
    rows = summary.set_index("code_insee")
    assert rows.loc["37999", "status"] == "built" and rows.loc["37999", "n_blocks"] > 200
    assert rows.loc["99999", "status"] == "failed" and "Aucune commune" in rows.loc["99999", "error"]
    assert load_territory(tmp_path / "m" / "37999").manifest["fetch"]["communes"][0]["nom"] == "Îlotville"
