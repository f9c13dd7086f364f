"""Issue 12 §8: a territory's own per-block indicators and vegetation polygons are model features, with
their provenance, so a territory without BD TOPO or WorldCover can still be fitted."""

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from ilots.cli import main
from ilots.errors import UnreadableFileError
from ilots.features import landcover_features
from ilots.sources.indicators import read_indicators
from ilots.sources.rasters import read_class_raster
from ilots.store import load_territory


@pytest.fixture(scope="module")
def own(demo_territory, tmp_path_factory):
    """Square blocks over the demo town, with a canopy table (French Excel, in %) derived from its land cover."""
    tmp = tmp_path_factory.mktemp("own")
    s = demo_territory / "sources"
    lc = read_class_raster(s / "worldcover_ilotville_10m.tif", 2154)
    x0, y0, x1, y1 = lc.rio.bounds()
    xs, ys = np.meshgrid(np.arange(x0 + 100, x1 - 200, 150), np.arange(y0 + 100, y1 - 200, 150))
    blocks = gpd.GeoDataFrame(
        {"code": [f"Q{i:03d}" for i in range(xs.size)]},
        geometry=shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + 140, ys.ravel() + 140),
        crs=2154,
    )
    blocks.to_file(tmp / "quartiers.gpkg")
    fr = landcover_features(blocks.set_index("code"), lc)
    lines = ["code;Part d'arbres (%);Imperméabilisation"] + [
        f"{c};{str(round(100 * t, 1)).replace('.', ',')};{str(round(b, 3)).replace('.', ',')}"
        for c, t, b in zip(fr.index, fr["tree_frac"], fr["built_frac"], strict=True)
    ]
    (tmp / "indicateurs.csv").write_bytes(("\ufeff" + "\n".join(lines)).encode("utf-8"))
    return {
        "lst": str(next((s / "landsat").iterdir())),
        "blocks": tmp / "quartiers.gpkg",
        "indicators": tmp / "indicateurs.csv",
        "truth": fr,
        "tmp": tmp,
    }


def test_indicators_are_read_with_units_and_provenance(own):
    source = read_indicators(own["indicators"], 2154)
    assert source.columns == {"tree_frac": "Part d'arbres (%) (%)", "impervious_frac": "Imperméabilisation"}
    assert source.data["tree_frac"].max() <= 1.0


def test_a_territory_of_own_indicators_only_is_built_and_fitted(own, capsys):
    out = own["tmp"] / "t"
    assert (
        main(
            [
                "build",
                "--quiet",
                "--out",
                str(out),
                "--name",
                "Quartiers",
                "--lst",
                own["lst"],
                "--blocks",
                str(own["blocks"]),
                "--blocks-id",
                "code",
                "--indicators",
                str(own["indicators"]),
            ]
        )
        == 0
    )
    terr = load_territory(out)
    feats = terr.manifest["features"]
    assert feats["tree_frac"]["available"] and feats["tree_frac"]["source"] == "indicators:indicateurs.csv"
    assert terr.manifest["indicators"][0]["matched_blocks"] == len(terr.blocks)
    assert terr.blocks["tree_frac"].to_numpy() == pytest.approx(own["truth"]["tree_frac"].round(3).to_numpy(), abs=1e-3)
    assert main(["fit", str(out), "--json"]) == 0
    meta = json.loads((out / "model.json").read_text())
    assert meta["features"]["tree_frac"]["used"] and meta["effects"]["tree_frac"]["effect_c"] < 0  # trees cool


def test_vegetation_polygons_give_tree_cover(own, demo_territory):
    veg = gpd.read_file(demo_territory / "sources" / "bdtopo_ilotville.gpkg", layer="zone_de_vegetation")
    veg.to_file(own["tmp"] / "canopee.gpkg")
    out = own["tmp"] / "v"
    assert (
        main(
            [
                "build",
                "--quiet",
                "--out",
                str(out),
                "--name",
                "V",
                "--lst",
                own["lst"],
                "--blocks",
                str(own["blocks"]),
                "--blocks-id",
                "code",
                "--vegetation",
                str(own["tmp"] / "canopee.gpkg"),
            ]
        )
        == 0
    )
    terr = load_territory(out)
    assert terr.manifest["features"]["tree_frac"]["source"] == "vegetation:canopee.gpkg"
    assert terr.blocks["tree_frac"].between(0, 1).all() and terr.blocks["tree_frac"].max() > 0.2


def test_shares_above_100_percent_are_refused(tmp_path):
    (tmp_path / "i.csv").write_text("code;arbres\nA;40\nB;140\n", encoding="utf-8")
    with pytest.raises(UnreadableFileError, match="arbres"):
        read_indicators(tmp_path / "i.csv", 2154)
