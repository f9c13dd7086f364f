"""Vector tiles of the blocks (issue 14 §4): every block in the tiles at every zoom, colours and tooltips as the
inlined maps draw them, no geometry in the map's HTML, atomic writes and precise errors."""

import glob
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from ilots.maps import (
    LAYERS,
    OVERVIEW_MIN_CELL_M,
    TOOLTIP_FIELDS,
    add_block_layer,
    base_map,
    block_tile_frame,
    day_night_map,
    day_night_maps,
    grid_overview,
    grid_tile_frame,
    layer_range,
    localise_assets,
    night_tile_layers,
    overview_cell_m,
    territory_map,
    territory_tile_layers,
    write_assets,
)
from ilots.tiles import MAX_ZOOM, Overview, TileError, detail_zoom, read_tileset, write_tiles, zoom_range
from tests.unit.test_maps_export import BOUNDS, blocks


def grid_blocks(n=12, hostile=True):
    """``n`` × ``n`` blocks of 90 m every 100 m in Lambert-93 (Lyon), one with an HTML id, some without values."""
    geoms, ids = [], []
    for i in range(n):
        for j in range(n):
            x, y = 842000 + i * 100, 6519000 + j * 100
            geoms.append(shapely.box(x, y, x + 90, y + 90))
            ids.append(f"I{i:02d}{j:02d}")
    if hostile:
        ids[5] = "<img src=x onerror=alert(1)>"
    k = n * n
    df = pd.DataFrame(
        {
            "lst_mean_c": np.linspace(36, 46, k),
            "risk_class": np.arange(k) % 6,
            "tree_frac": np.linspace(0, 0.6, k),
            "impervious_frac": np.linspace(0.95, 0.1, k),
            "building_height_m": np.linspace(3, 30, k),
        },
        index=pd.Index(ids, name="block_id"),
    )
    if k > 7:
        df.loc[df.index[7], "lst_mean_c"] = np.nan  # a cloud: grey, « — » in the tooltip
    return gpd.GeoDataFrame(df, geometry=geoms, crs=2154)


def read_zoom(directory, z) -> gpd.GeoDataFrame:
    """Every feature of the tiles of zoom ``z`` (a block cut by tile edges appears in each tile it touches)."""
    frames = [pyogrio.read_dataframe(path) for path in sorted(glob.glob(f"{directory}/{z}/*/*.pbf"))]
    assert frames, f"no tile at zoom {z}"
    return pd.concat(frames, ignore_index=True)


def test_every_block_is_in_the_tiles_at_every_zoom_with_its_colour_and_escaped_tooltip(tmp_path):
    b = grid_blocks()
    frame = block_tile_frame(b, territory_tile_layers(b))
    tiles = write_tiles(frame, tmp_path / "t")
    assert (tiles.minzoom, tiles.maxzoom) == (zoom_range(tiles.bounds_wgs84)[0], MAX_ZOOM)
    assert tiles.n_features == len(b) and tiles.n_tiles > 0 and tiles.n_bytes > 0
    for z in range(tiles.minzoom, tiles.maxzoom + 1):
        got = read_zoom(tmp_path / "t", z)
        assert set(got["block_id"]) == set(map(str, b.index)), z  # GDAL dropped nothing, at no zoom
    top = read_zoom(tmp_path / "t", MAX_ZOOM).drop_duplicates("block_id").set_index("block_id")
    # colours are those of the inlined GeoJSON map of the same layer and range
    m = base_map(BOUNDS)
    lo, hi = layer_range(b, "lst")
    gj = add_block_layer(m, b, LAYERS["lst"], lo, hi)
    inlined = {f["properties"]["block_id"]: f["properties"]["_colour"] for f in gj.data["features"]}
    assert {i: top.loc[i, "c_lst"] for i in inlined} == inlined
    assert top.loc["I0007", "c_lst"] == "#bdbdbd" and top.loc["I0007", "t_lst_mean_c"] == "—"
    hostile = "<img src=x onerror=alert(1)>"
    assert top.loc[hostile, "t_block_id"] == "&lt;img src=x onerror=alert(1)&gt;"
    assert "t_block_id" not in frame or frame["t_block_id"].isna().sum() == 0
    assert top.loc["I0003", "t_risk_class"] == "moyen"


def test_rewriting_replaces_the_tiles_and_leaves_no_temporary_folder(tmp_path):
    b = grid_blocks(4, hostile=False)
    first = write_tiles(block_tile_frame(b, territory_tile_layers(b)), tmp_path / "t", meta={"path": "x"})
    b2 = b.iloc[:3]
    second = write_tiles(block_tile_frame(b2, territory_tile_layers(b2)), tmp_path / "t")
    assert first.n_features == 16 and second.n_features == 3 and read_tileset(tmp_path / "t").n_features == 3
    assert read_tileset(tmp_path / "t").meta == {} and first.meta == {"path": "x"}
    assert set(read_zoom(tmp_path / "t", MAX_ZOOM)["block_id"]) == set(b2.index)
    assert [p.name for p in tmp_path.iterdir()] == ["t"]


def test_gdal_gathers_the_tiles_in_memory_and_frees_it(tmp_path, monkeypatch):
    """Issue 14 §5: GDAL's temporary database of the features of every tile is kept in memory, not written on disk
    beside the tiles (20 % of the demo's tile writing at its first view), and freed once the tiles are written."""
    import pyogrio

    seen = []
    write = pyogrio.write_dataframe
    monkeypatch.setattr(pyogrio, "write_dataframe", lambda *a, **kw: seen.append(kw) or write(*a, **kw))
    b = grid_blocks(4, hostile=False)
    for _ in range(2):
        write_tiles(block_tile_frame(b, territory_tile_layers(b)), tmp_path / "t")
    databases = [kw["dataset_options"]["TEMPORARY_DB"] for kw in seen]
    assert len(set(databases)) == 2 and all(d.startswith("/vsimem/") for d in databases)
    assert not [p for p in pyogrio.vsi_listtree("/vsimem/") if "ilots-tiles" in p]
    assert not list(tmp_path.rglob("*.db")) and read_tileset(tmp_path / "t").n_features == 16


def test_bad_frames_raise_a_tile_error_and_write_nothing(tmp_path):
    b = grid_blocks(2, hostile=False)
    with pytest.raises(TileError, match="no feature"):
        write_tiles(b.iloc[:0], tmp_path / "t")
    with pytest.raises(TileError, match="no CRS"):
        write_tiles(gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.box(0, 0, 1, 1)]), tmp_path / "t")
    with pytest.raises(TileError, match="no complete tile set"):
        read_tileset(tmp_path / "t")
    assert list(tmp_path.iterdir()) == []


def test_zoom_range_starts_below_the_zoom_that_fits_the_territory():
    # 5 km square at 45.75° N: 1,024 px hold it from zoom 14 down; a phone shows it two or three zooms lower
    assert zoom_range((4.80, 45.73, 4.864, 45.775)) == (11, MAX_ZOOM)
    assert zoom_range((4.2, 45.4, 5.4, 46.2))[0] == 7  # a 90 km wide area
    assert zoom_range((4.85, 45.76, 4.8501, 45.7601))[0] == MAX_ZOOM  # one block: never above the top zoom


def test_a_tiled_territory_map_carries_no_geometry_and_every_legend(tmp_path):
    b = grid_blocks()
    tiles = write_tiles(block_tile_frame(b, territory_tile_layers(b)), tmp_path / "t")
    url = "../../app/static/tiles/t/{z}/{x}/{y}.pbf"
    m = territory_map(b, BOUNDS, ["lst", "risk", "trees"], tiles=(url, tiles))
    html = m.get_root().render()
    assert "FeatureCollection" not in html and '"coordinates"' not in html  # no block drawn inline
    assert html.count("L.vectorGrid.protobuf(") == 3 and json.dumps(url) in html
    assert "I0003" not in html  # ids come with the tiles, not the page
    assert "Température de surface (°C)" in html and "très élevé" in html and "Part d&#x27;arbres" in html
    assert "pas de mesure" in html  # the cloud's grey is in the legend
    assert 'prefer_canvas": true' not in html.replace("'", '"').lower()  # markers must not hide the tiles' events
    urls = write_assets(tmp_path / "vendor", "v/")
    served = localise_assets(territory_map(b, BOUNDS, ["lst", "risk", "trees"], tiles=(url, tiles)), urls)
    inlined = localise_assets(territory_map(b, BOUNDS, ["lst", "risk", "trees"]), urls)
    assert len(served.get_root().render()) < len(inlined.get_root().render()) / 3  # 144 blocks: already a third


def test_served_assets_replace_the_inlined_ones(tmp_path):
    urls = write_assets(tmp_path / "vendor", "../../app/static/vendor/")
    assert set(urls) == {"leaflet", "leaflet_css", "leaflet_draw_js", "leaflet_draw_css", "vectorGrid"}
    for url in urls.values():
        name = url.rsplit("/", 1)[1]
        assert re.fullmatch(r"[a-z.]+\.[0-9a-f]{10}\.(js|css)", name) and (tmp_path / "vendor" / name).stat().st_size
    b = blocks(hostile=False)
    m = localise_assets(territory_map(b, BOUNDS, ["lst"], draw=True), urls)
    html = m.get_root().render()
    assert "data:text/javascript;base64" not in html and urls["leaflet"] in html
    assert write_assets(tmp_path / "vendor", "x/") == {k: "x/" + v.rsplit("/", 1)[1] for k, v in urls.items()}


def test_night_maps_from_tiles_carry_no_geometry(tmp_path):
    b = grid_blocks(5, hostile=False)
    night = pd.DataFrame(
        {
            "day_lst_c": b["lst_mean_c"],
            "night_lst_c": np.linspace(15, 21, len(b)),
            "day_night": (["both", "day_only", "night_only", "neither", "unknown"] * 5)[: len(b)],
        },
        index=b.index,
    )
    frame, layers, fields = night_tile_layers(b, night)
    assert set(layers) == {"day", "night", "day_night"} and "t_night_lst_c" in block_tile_frame(frame, layers, fields)
    tiles = ("t/{z}/{x}/{y}.pbf", write_tiles(block_tile_frame(frame, layers, fields), tmp_path / "n"))
    maps = (*day_night_maps(b, night, BOUNDS, tiles=tiles), day_night_map(b, night, BOUNDS, tiles=tiles))
    for m in maps:
        html = m.get_root().render()
        assert "FeatureCollection" not in html and "L.vectorGrid.protobuf(" in html
    assert "inconnu" in maps[2].get_root().render()  # « unknown » blocks are grey and named in the legend
    top = read_zoom(tmp_path / "n", MAX_ZOOM).drop_duplicates("block_id").set_index("block_id")
    assert top.loc[b.index[4], "t_day_night"] == "nuit ou jour inconnu" and top.loc[b.index[4], "c_day_night"] == (
        "#bdbdbd"
    )


def test_the_night_maps_overview_reads_classes_by_the_largest_area(tmp_path):
    b = grid_blocks(4, hostile=False)
    night = pd.DataFrame(
        {
            "day_lst_c": b["lst_mean_c"],
            "night_lst_c": np.linspace(15, 21, len(b)),
            "day_night": ["both"] * 10 + ["neither"] * (len(b) - 10),
        },
        index=b.index,
    )
    frame, layers, fields = night_tile_layers(b, night)
    cells = grid_overview(frame, layers, fields, min_blocks=0).frame
    assert len(cells) == 4  # 16 blocks over 400 × 400 m: 2 × 2 cells of 250 m
    assert set(cells["t_day_night"]) <= {
        "chaud de jour et de nuit (majoritaire)",
        "frais de jour et de nuit (majoritaire)",
    }
    assert cells["t_night_lst_c"].str.endswith("°C").all() and cells["c_day_night"].notna().all()


def test_tooltip_fields_default_to_the_map_ones():
    b = grid_blocks(2, hostile=False)
    cols = set(block_tile_frame(b, territory_tile_layers(b)).columns)
    assert {f"t_{c}" for c in TOOLTIP_FIELDS if c != "block_id"} <= cols
    assert {f"c_{k}" for k in ("lst", "risk", "trees", "sealing", "height")} <= cols and "c_p_high" not in cols


def test_detail_zoom_is_where_the_median_block_is_six_pixels_wide():
    # a 100 m square at 45.7° N is 100 / cos(45.7°) ≈ 143 Web Mercator metres wide; a pixel at zoom z is
    # 40,075,017 / (256 × 2^z) of them: 6 px need 2^z ≥ 6 × 40,075,017 / (256 × 143) ≈ 6,570 → zoom 13 (12.7)
    square = gpd.GeoSeries([shapely.box(842000, 6519000, 842100, 6519100)] * 3, crs=2154).to_crs(3857)
    assert detail_zoom(square) == 13
    assert detail_zoom(square.scale(4, 4)) == 11  # four times wider: two zooms lower
    assert detail_zoom(square.scale(1e-4, 1e-4)) == MAX_ZOOM  # tiny: never above the top zoom
    assert detail_zoom(square.iloc[:0]) == MAX_ZOOM


def test_grid_cells_carry_area_weighted_means_and_the_largest_class():
    # two cells of 250 m: the first holds a 1 ha block at 40 °C and a 3 ha one at 44 °C (mean 43 °C), risk classes
    # 5 (1 ha) and 2 (3 ha); the second one block whose temperature is unknown (a cloud)
    geoms = [
        shapely.box(842000, 6519000, 842100, 6519100),
        shapely.box(842100, 6519000, 842250, 6519200),
        shapely.box(842260, 6519000, 842360, 6519100),
    ]
    b = gpd.GeoDataFrame(
        {"lst_mean_c": [40.0, 44.0, np.nan], "risk_class": [5, 2, 3], "tree_frac": [0.1, 0.3, 0.2]},
        geometry=geoms,
        crs=2154,
        index=pd.Index(["a", "b", "<b>c</b>"], name="block_id"),
    )
    layers = {"lst": (LAYERS["lst"], 40.0, 44.0), "risk": (LAYERS["risk"], 0.0, 1.0)}
    g = grid_tile_frame(b, layers, cell_m=250.0)
    assert len(g) == 2 and set(g.geometry.area.round()) == {62_500.0}
    first, second = g.iloc[0], g.iloc[1]
    assert first["t_lst_mean_c"] == "43,0\xa0°C" and first["t_risk_class"] == "faible (majoritaire)"
    assert first["t_tree_frac"] == "25\xa0%" and first["t_cell"].startswith("2 îlots dans ce carré de 250 m")
    assert second["t_lst_mean_c"] == "—" and second["c_lst"] == "#bdbdbd"  # unknown, grey: never 0
    assert second["t_cell"].startswith("1 îlot dans")
    assert "block_id" not in g and "t_block_id" not in g  # a cell is no block: a click zooms in
    # 43 °C is coloured as the nearest of 32 steps of 40–44 °C: 40 + 23 × 4/31 ≈ 42.97 °C
    stepped = gpd.GeoDataFrame({"lst_mean_c": [40 + 23 * 4 / 31]}, geometry=[geoms[0]], crs=2154)
    assert first["c_lst"] == block_tile_frame(stepped, layers).iloc[0]["c_lst"]
    assert first["c_risk"] == block_tile_frame(b.iloc[[1]], layers).iloc[0]["c_risk"]


def test_overview_cells_grow_with_the_territory():
    assert overview_cell_m(grid_blocks(4, hostile=False)) == OVERVIEW_MIN_CELL_M
    big = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 20_000, 20_000)], crs=2154)  # 400 km²: 2,500 cells of 400 m
    assert overview_cell_m(big) == 400.0


def test_a_large_territory_is_drawn_whole_from_light_overview_tiles_and_every_block_from_the_detail_zoom(tmp_path):
    # 1,600 blocks of 0.81 ha over 4 km (Lyon): the tiles start at zoom 11, blocks are 6 px wide from zoom 13
    b = grid_blocks(40)
    layers = territory_tile_layers(b)
    frame = block_tile_frame(b, layers)
    assert grid_overview(b, layers) is None  # up to 5,000 blocks, the tiles carry every block at every zoom
    overview = grid_overview(b, layers, min_blocks=1000)
    tiles = write_tiles(frame, tmp_path / "t", overview=overview)
    assert (tiles.minzoom, tiles.detail_zoom, tiles.overview_cell_m) == (11, 13, 250.0)
    for z in (11, 12):
        got = read_zoom(tmp_path / "t", z)
        assert got["t_cell"].notna().all() and ("block_id" not in got or got["block_id"].isna().all())  # cells only
        assert set(got["c_lst"]) <= set(overview.frame["c_lst"])
    for z in range(13, MAX_ZOOM + 1):
        assert set(read_zoom(tmp_path / "t", z)["block_id"]) == set(map(str, b.index)), z
    # the whole territory (zoom 11 or 12) weighs a fraction of the same zoom drawn block by block
    plain = write_tiles(frame, tmp_path / "plain")
    assert plain.detail_zoom is None and plain.first_block_zoom == plain.minzoom
    for z in (11, 12):
        light = sum(p.stat().st_size for p in (tmp_path / "t" / str(z)).rglob("*.pbf"))
        full = sum(p.stat().st_size for p in (tmp_path / "plain" / str(z)).rglob("*.pbf"))
        assert light < full / 3, (z, light, full)
    html = territory_map(b, BOUNDS, ["lst"], tiles=("t/{z}/{x}/{y}.pbf", tiles)).get_root().render()
    assert '"detailZoom": 13' in html and "par carr\\u00e9 de 250 m" in html  # the note over the overview
    # a territory that fits in a few zooms keeps its blocks at every zoom: the overview is not used
    small = grid_blocks(4, hostile=False)
    overview = grid_overview(small, territory_tile_layers(small), min_blocks=0)
    kept = write_tiles(block_tile_frame(small, territory_tile_layers(small)), tmp_path / "s", overview=overview)
    assert kept.detail_zoom is None and kept.overview_cell_m is None


def test_an_overview_without_crs_or_cells_is_refused(tmp_path):
    b = grid_blocks(2, hostile=False)
    frame = block_tile_frame(b, territory_tile_layers(b))
    with pytest.raises(TileError, match="no feature"):
        write_tiles(frame, tmp_path / "t", overview=Overview(frame.iloc[:0], 250.0))
    with pytest.raises(TileError, match="no CRS"):
        write_tiles(frame, tmp_path / "t", overview=Overview(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]), 250))
    assert list(tmp_path.iterdir()) == []


def test_the_map_is_fitted_to_the_territory_without_a_zoom_animation():
    # an animated fit from the start zoom made a tile layer fetch the start zoom's tiles as well (bench/tiles.py)
    html = base_map(BOUNDS).get_root().render()
    assert re.search(r"fitBounds\(\s*\[\[[^]]+\], \[[^]]+\]\],\s*\{[^}]*\"animate\": false", html)
