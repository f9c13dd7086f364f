"""Folium maps checked in their HTML; exports opened the way QGIS and spreadsheet users open them."""

import io
import re
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from ilots.export import LAYER_NAME, export_table, to_csv_bytes, to_geopackage
from ilots.maps import (
    LAYERS,
    MAX_POLYGONS,
    add_block_layer,
    aggregate_to_grid,
    base_map,
    localise_assets,
    territory_map,
)
from tests.conftest import make_raster


def blocks(n=6, hostile=True):
    geoms = [shapely.box(840000 + i * 100, 6520000, 840000 + i * 100 + 90, 6520090) for i in range(n)]
    df = pd.DataFrame(
        {
            "lst_mean_c": np.linspace(38, 46, n),
            "risk_class": [1, 2, 3, 4, 5, 0][:n],
            "tree_frac": np.linspace(0, 0.5, n),
            "impervious_frac": np.linspace(0.9, 0.2, n),
            "building_height_m": np.linspace(5, 25, n),
            "residents": np.arange(n) * 10.0,
        }
    )
    ids = [f"I{i:05d}" for i in range(n)]
    if hostile:
        ids[0] = "<script>alert('x')</script>"
    df.index = pd.Index(ids, name="block_id")
    return gpd.GeoDataFrame(df, geometry=geoms, crs=2154)


BOUNDS = (4.80, 45.74, 4.86, 45.78)


def test_map_has_layers_legends_and_escaped_tooltips():
    lst = make_raster(np.full((4, 4), 42.0, dtype="float32"), res=100, x0=840000, y0=6520400)
    html = territory_map(blocks(), BOUNDS, ["lst", "risk", "trees"], lst=lst).get_root().render()
    for title in ("Température de surface (°C)", "Risque de chaleur", "Part d&#x27;arbres (%)"):  # each legend, escaped
        assert title in html, title
    assert "L.control.layers" in html and "L.imageOverlay" in html
    assert "<script>alert(" not in html
    assert "\\u0026lt;script\\u0026gt;alert(" in html  # HTML-escaped, then JSON-escaped
    ticks = re.findall(r"<span>([^<]*)</span>", html)
    assert ticks[:5] == ["38,2", "40,1", "42,0", "43,9", "45,8"]  # LST 2–98 % range, French decimal commas
    assert ticks[5:10] == ["0", "25", "50", "75", "100"]  # tree share in %
    for cdn in ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "d3js.org"):
        assert cdn not in html  # assets are inlined: the map works offline


def test_draw_tool_is_available_offline():
    html = territory_map(blocks(), BOUNDS, ["risk"], draw=True).get_root().render()
    assert "L.Control.Draw" in html and "data:text/javascript;base64" in html


def test_offline_assets_are_leaflet_and_leaflet_draw_with_their_images_inlined():
    import base64

    from ilots.maps import offline_assets

    def decoded(url):
        return base64.b64decode(url.split(",", 1)[1]).decode()

    assets = offline_assets()
    assert "Leaflet 1.9" in decoded(assets["leaflet"])
    assert 'L.drawVersion="1.0.4"' in decoded(assets["leaflet_draw_js"])
    for key in ("leaflet_css", "leaflet_draw_css"):
        css = decoded(assets[key])
        assert "url(data:image/" in css and "images/" not in css, key  # sprites travel inside the CSS


def test_polygon_budget_aggregates_to_a_grid():
    n = MAX_POLYGONS + 10
    xs = np.arange(n) % 100 * 50.0
    ys = np.arange(n) // 100 * 50.0
    big = gpd.GeoDataFrame(
        {"lst_mean_c": np.random.default_rng(0).normal(40, 2, n)},
        geometry=shapely.box(xs, ys, xs + 45, ys + 45),
        crs=2154,
    )
    m = base_map(BOUNDS)
    gj = add_block_layer(m, big, LAYERS["lst"], 35, 45, cell_m=500)
    assert len(gj.data["features"]) <= MAX_POLYGONS
    grid = aggregate_to_grid(big, "lst_mean_c", 500)
    assert grid["n_blocks"].sum() == n


def test_geopackage_opens_in_gdal_with_layer_crs_and_fields(tmp_path):
    table = export_table(
        blocks(hostile=False).drop(columns="risk_class"),
        pd.DataFrame(
            {"risk_class": [1, 2, 3, 4, 5, 0], "risk_label": ["a"] * 6, "explanation": ["Cet îlot est plus chaud"] * 6},
            index=blocks(hostile=False).index,
        ),
    )
    path = to_geopackage(table, tmp_path / "ilots.gpkg")
    info = pyogrio.read_info(path, layer=LAYER_NAME)
    assert info["crs"] == "EPSG:2154" and info["features"] == 6
    for field in ("block_id", "lst_mean_c", "tree_frac", "risk_class", "explanation"):
        assert field in info["fields"]
    if shutil.which("ogrinfo"):
        out = subprocess.run(
            ["ogrinfo", "-so", str(path), LAYER_NAME], capture_output=True, text=True, check=True
        ).stdout
        assert 'EPSG",2154' in out.replace(" ", "") or "Lambert-93" in out or "RGF93" in out
        assert "lst_mean_c: Real" in out


def test_csv_uses_french_conventions(tmp_path):
    data = to_csv_bytes(export_table(blocks(hostile=False)))
    assert data.startswith("\ufeff".encode())
    df = pd.read_csv(io.BytesIO(data), sep=";", decimal=",", encoding="utf-8-sig")
    assert df["lst_mean_c"].iloc[0] == pytest.approx(38.0)
    assert {"block_id", "lon", "lat"} <= set(df.columns)
    assert 4 < df["lon"].iloc[0] < 6 and 45 < df["lat"].iloc[0] < 46


def test_localise_assets_drops_unused_cdn_dependencies():
    m = localise_assets(base_map(BOUNDS))
    assert [k for k, _ in m.default_js] == ["leaflet"]
    assert all(v.startswith("data:") for _, v in m.default_css)


def test_frozen_geojson_renders_exactly_like_folium(monkeypatch):
    """The precomputed-JSON template must give the same page as folium's own GeoJson template."""
    import re

    from ilots.maps import FrozenGeoJson, session_copy

    assert FrozenGeoJson._fast_template is not None  # folium's template still has the expected shape
    fast = territory_map(blocks(), BOUNDS, ["lst", "risk"])
    first = session_copy(fast).get_root().render()
    again = session_copy(fast).get_root().render()  # styles and JSON reused from the first render
    monkeypatch.setattr(FrozenGeoJson, "_fast_template", None)
    plain = territory_map(blocks(), BOUNDS, ["lst", "risk"]).get_root().render()

    def norm(html):
        return re.sub(r"_[0-9a-f]{32}", "_ID", html)

    assert norm(first) == norm(again) == norm(plain)
