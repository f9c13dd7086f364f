"""Issue 17 §4–5: printed maps a reader can read alone (place names, no-data grey in the legend, scale bar), the
PNG download, and the side-by-side before/after maps of a scenario — on tiny hand-built territories."""

from __future__ import annotations

import io

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
import shapely

from ilots.maps import RISK_NO_DATA, comparison_maps, territory_map
from ilots.staticmap import PlaceLabel, draw_place_names, layer_note, map_png, place_labels

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

X0, Y0 = 840000.0, 6520000.0
BOUNDS = (4.80, 45.74, 4.86, 45.78)


def town(n=6, **columns) -> gpd.GeoDataFrame:
    """n × n blocks of 100 m in Lambert-93."""
    geoms = [
        shapely.box(X0 + i * 100, Y0 + j * 100, X0 + i * 100 + 90, Y0 + j * 100 + 90)
        for j in range(n)
        for i in range(n)
    ]
    df = pd.DataFrame(
        {"lst_mean_c": np.linspace(36, 44, n * n), "risk_class": np.arange(n * n) % 6, "area_m2": 8100.0, **columns},
        index=pd.Index([f"B{k}" for k in range(n * n)], name="block_id"),
    )
    return gpd.GeoDataFrame(df, geometry=geoms, crs=2154)


def streets(*rows):
    return gpd.GeoDataFrame(
        {"name": [r[0] for r in rows], "kind": [r[1] for r in rows]}, geometry=[r[2] for r in rows], crs=2154
    )


def test_communes_are_named_first_when_the_territory_spans_several():
    s = streets(
        ("Rue Longue", "rue", shapely.LineString([(X0, Y0 + 50), (X0 + 600, Y0 + 50)])),
        ("Amont", "commune", shapely.box(X0, Y0, X0 + 300, Y0 + 600)),
        ("Aval", "commune", shapely.box(X0 + 300, Y0, X0 + 600, Y0 + 600)),
    )
    assert sorted(p.name for p in place_labels(town(), s)) == ["Amont", "Aval"]


def test_the_coarsest_naming_column_of_the_blocks_is_used_not_a_class_column():
    n = 6
    b = town(n)
    col = np.arange(n * n) % n
    b["attr_nom_com"] = np.where(col < 3, "Lyon 1er", "Lyon 2e")
    b["attr_nom_iris"] = [f"Quartier {k // 4}" for k in range(n * n)]
    b["attr_heat_score"] = np.where(col % 2 == 0, "High", "Low")  # a class, scattered: never a place name
    names = [p.name for p in place_labels(b)]
    assert sorted(names) == ["Lyon 1er", "Lyon 2e"]
    one = b.assign(attr_nom_com="Lyon 1er")  # a single commune: the quarters name the map instead
    assert all(n.startswith("Quartier") for n in (p.name for p in place_labels(one)))


def test_longest_streets_spread_over_the_map_otherwise():
    s = streets(
        ("Grande Rue", "rue", shapely.LineString([(X0, Y0 + 300), (X0 + 600, Y0 + 300)])),
        ("Rue Voisine", "rue", shapely.LineString([(X0 + 250, Y0 + 320), (X0 + 350, Y0 + 320)])),
        ("Rue du Nord", "rue", shapely.LineString([(X0 + 300, Y0 + 560), (X0 + 500, Y0 + 560)])),
        ("Rue Ailleurs", "rue", shapely.LineString([(X0 + 9000, Y0), (X0 + 9500, Y0)])),
    )
    names = [p.name for p in place_labels(town(), s)]
    assert names[0] == "Grande Rue"
    assert "Rue Voisine" not in names  # its midpoint sits on the Grande Rue's label
    assert "Rue Ailleurs" not in names  # outside the territory
    assert "Rue du Nord" in names
    assert place_labels(town(), None) == []


def test_printed_names_never_overlap_each_other():
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    kept = draw_place_names(
        ax,
        [
            PlaceLabel("Quartier de la Gare", 50, 50, 3),
            PlaceLabel("Quartier du Port", 51, 50, 2),
            PlaceLabel("Bords", 50, 10, 1),
            PlaceLabel("Hors carte", 500, 500, 0),
        ],
    )
    plt.close(fig)
    assert [t.get_text().replace("\n", " ") for t in kept] == ["Quartier de la Gare", "Bords"]


def test_png_map_has_the_size_of_a_report_figure():
    b = town()
    b.loc[b.index[:3], "lst_mean_c"] = np.nan
    png = map_png(b, "lst", "Température de surface — Essai", layer_note("lst", "le 14 juillet 2022"), credit="x")
    assert png.startswith(b"\x89PNG")
    image = plt.imread(io.BytesIO(png))
    assert image.shape[0] > 1000 and image.shape[1] > 1000
    assert "pas celle de l'air" in layer_note("lst", "le 14 juillet 2022")
    assert "14 juillet 2022" in layer_note("risk", "le 14 juillet 2022")


def test_grey_blocks_are_in_every_legend():
    b = town()
    b.loc[b.index[:3], "lst_mean_c"] = np.nan
    html = territory_map(b, BOUNDS, ["lst"]).get_root().render()
    assert "pas de mesure" in html
    assert "pas de mesure" not in territory_map(town(), BOUNDS, ["lst"]).get_root().render()  # none missing
    assert RISK_NO_DATA in territory_map(b, BOUNDS, ["risk"]).get_root().render()


@pytest.mark.parametrize("kind", ["lst", "risk"])
def test_before_and_after_maps_share_one_scale_and_outline_the_changed_blocks(kind):
    b = town()
    changed = np.arange(len(b)) < 10
    per_block = pd.DataFrame(
        {
            "lst_before_c": b["lst_mean_c"],
            "lst_after_c": b["lst_mean_c"] - 1.5 * changed,
            "risk_class_before": b["risk_class"],
            "risk_class_after": np.where(changed, 1, b["risk_class"]),
            "changed": changed,
        },
        index=b.index,
    )
    before, after = comparison_maps(b, per_block, BOUNDS, kind)
    h1, h2 = before.get_root().render(), after.get_root().render()
    outlined = [h.count('"weight": 1.6') for h in (h1, h2)]
    assert outlined == [0, 1]  # the changed blocks' outline, on the second map only
    legends = [h[h.index("ilots-legend") :].split("</div></div>")[0] for h in (h1, h2)]
    if kind == "lst":
        ticks = [[t.split("</span>")[0] for t in legend.split("<span>")[1:]] for legend in legends]
        assert ticks[0] == ticks[1] and len(ticks[0]) == 5  # one colour scale for both maps
    else:
        assert all(RISK_NO_DATA in legend for legend in legends)


def test_maps_are_drawn_from_any_server_thread():
    """A Streamlit server draws in its script and download threads: each figure has its own Agg canvas (no
    pyplot state), so a PNG after a PDF, in another thread, still measures its text."""
    import threading

    from matplotlib.backends.backend_pdf import PdfPages

    from ilots.staticmap import new_figure, renderer_of

    out = {}

    def pdf():
        fig = new_figure((3, 3))
        fig.text(0.1, 0.5, "Îlots")
        with PdfPages(io.BytesIO()) as doc:
            doc.savefig(fig)

    def png():
        b = town()
        out["png"] = map_png(b, "risk", "Risque — Essai", layer_note("risk", "le 14 juillet 2022"))
        out["renderer"] = type(renderer_of(new_figure((1, 1)))).__name__

    for target in (pdf, png):
        t = threading.Thread(target=target)
        t.start()
        t.join()
    assert out["png"].startswith(b"\x89PNG") and out["renderer"] == "RendererAgg"


def test_drawn_shapes_become_a_polygon_target_in_the_working_crs():
    """Issue 13 §2: a drawn zone to a scenario target is library code, tested here."""
    from ilots.scenarios import drawn_target

    square = {
        "type": "Polygon",
        "coordinates": [[[4.83, 45.75], [4.84, 45.75], [4.84, 45.76], [4.83, 45.76], [4.83, 45.75]]],
    }
    bow_tie = {
        "type": "Polygon",
        "coordinates": [[[4.85, 45.75], [4.86, 45.76], [4.86, 45.75], [4.85, 45.76], [4.85, 45.75]]],
    }
    marker = {"type": "Point", "coordinates": [4.83, 45.75]}
    target = drawn_target([{"geometry": square}, {"geometry": bow_tie}, {"geometry": marker}], 2154)
    zone = shapely.from_wkt(target.polygon_wkt)
    assert target.kind == "polygon" and zone.is_valid
    assert 800_000 < zone.bounds[0] < 900_000 and 6_500_000 < zone.bounds[1] < 6_600_000  # Lambert-93 metres
    assert 0.7e6 < shapely.get_parts(zone)[0].area < 1.3e6 or zone.area > 0.7e6  # ~0.8 km × 1.1 km square
    assert drawn_target([{"geometry": marker}], 2154) is None and drawn_target([], 2154) is None


def test_residual_map_is_symmetric_about_zero():
    from ilots.maps import residual_map

    b = town()
    res = pd.Series(np.linspace(-2.0, 1.0, len(b)), index=b.index)
    res.iloc[0] = np.nan
    html = residual_map(b, res, BOUNDS).get_root().render()
    legend = html[html.index("ilots-legend") :].split("</div></div>")[0]
    ticks = [t.split("</span>")[0] for t in legend.split("<span>")[1:]]
    assert ticks[0] == "\u2212" + ticks[-1] and ticks[2] == "0,0" and "valeur inconnue" in legend
