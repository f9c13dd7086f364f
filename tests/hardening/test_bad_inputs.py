"""A corpus of bad inputs, generated here: each gives its precise exception in the library, exit code 2
with one French sentence on the command line, and leaves an existing territory untouched."""

import json
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import Affine, from_origin

from ilots import errors as E
from ilots.build import BuildInputs, compute_territory
from ilots.cli import main
from ilots.store import load_territory
from tests.conftest import write_tif


@dataclass
class Case:
    name: str
    exc: type
    fragment: str
    make: object  # (tmp: Path, src: dict) -> dict of BuildInputs overrides
    extra: dict = field(default_factory=dict)


def _valid_lst_window(src):
    """A 30 m Lambert-93 grid over the demo town (for synthetic LST variants)."""
    with rasterio.open(src["landcover"]) as ds:
        b = rasterio.warp.transform_bounds(ds.crs, 2154, *ds.bounds)
    return from_origin(b[0], b[3], 30, 30), (int((b[3] - b[1]) // 30), int((b[2] - b[0]) // 30))


def lst_variant(fill, dtype="float32", crs=2154, transform=None, count=1, nodata=None, name="lst_2023-08-22.tif"):
    def make(tmp, src):
        t, shape = _valid_lst_window(src)
        arr = np.full(shape, fill, dtype=dtype)
        path = tmp / name
        profile = dict(
            driver="GTiff",
            height=shape[0],
            width=shape[1],
            count=count,
            dtype=dtype,
            transform=transform or t,
            nodata=nodata,
        )
        if crs is not None:
            profile["crs"] = crs
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.stack([arr] * count))
        return {"lst": [str(path)]}

    return make


def raw_file(name, content: bytes, role="lst"):
    def make(tmp, src):
        path = tmp / name
        path.write_bytes(content)
        return {role: [str(path)] if role in ("lst", "population") else str(path)}

    return make


def truncated_tif(tmp, src):
    good = lst_variant(305.0)(tmp, src)["lst"][0]
    data = Path(good).read_bytes()
    bad = tmp / "truncated.tif"
    bad.write_bytes(data[: len(data) // 3])
    return {"lst": [str(bad)]}


def rotated(tmp, src):
    t, _ = _valid_lst_window(src)
    return lst_variant(305.0, transform=Affine(30, 3, t.c, 3, -30, t.f))(tmp, src)


def huge(tmp, src):
    """A few MB on disk (sparse) declaring 2.5 billion 5 cm pixels over the study area."""
    t, _ = _valid_lst_window(src)
    path = tmp / "huge.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=50_000,
        width=50_000,
        count=1,
        dtype="float32",
        transform=from_origin(t.c, t.f, 0.05, 0.05),
        crs=2154,
        tiled=True,
        sparse_ok=True,
    ):
        pass
    return {"lst": [str(path)]}


def far_away(tmp, src):
    path = write_tif(
        tmp / "far_2023-08-22.tif", np.full((20, 20), 305.0, dtype="float32"), from_origin(200000, 6200000, 30, 30)
    )
    return {"lst": [str(path)]}


def cloudy_scene(tmp, src):
    scene = tmp / Path(src["lst"][0]).name
    shutil.copytree(src["lst"][0], scene)
    qa = next(scene.glob("*_QA_PIXEL.TIF"))
    with rasterio.open(qa, "r+") as ds:
        ds.write(np.full((ds.height, ds.width), 22280, dtype="uint16"), 1)
    return {"lst": [str(scene)]}


def scene_without_st(tmp, src):
    scene = tmp / "scene"
    shutil.copytree(src["lst"][0], scene)
    next(scene.glob("*_ST_B10.TIF")).unlink()
    return {"lst": [str(scene)]}


def scene_bad_mtl(tmp, src):
    scene = tmp / Path(src["lst"][0]).name
    shutil.copytree(src["lst"][0], scene)
    next(scene.glob("*_MTL.json")).write_text('{"LANDSAT_METADATA_FILE": {"IMAGE_ATTRIBUTES": ')
    return {"lst": [str(scene)]}


def landcover_variant(dtype, count=1):
    def make(tmp, src):
        t, shape = _valid_lst_window(src)
        path = tmp / "landcover.tif"
        with rasterio.open(
            path, "w", driver="GTiff", height=shape[0], width=shape[1], count=count, dtype=dtype, transform=t, crs=2154
        ) as dst:
            dst.write(np.full((count, *shape), 50, dtype=dtype))
        return {"landcover": str(path)}

    return make


def shapefile_bdtopo(drop_suffix):
    def make(tmp, src):
        folder = tmp / "BDTOPO"
        folder.mkdir()
        for layer in ("batiment", "troncon_de_route"):
            gdf = gpd.read_file(src["bdtopo"], layer=layer).iloc[:200]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # GDAL truncates field names to 10 characters, as IGN's do
                gdf.to_file(folder / f"{layer.upper()}.shp", encoding="utf-8")
        (folder / f"BATIMENT{drop_suffix}").unlink()
        return {"bdtopo": str(folder)}

    return make


def blocks_file(geoms_fn, columns=None, name="blocks.gpkg"):
    def make(tmp, src):
        roads = gpd.read_file(src["bdtopo"], layer="troncon_de_route")
        x0, y0, x1, y1 = roads.total_bounds
        geoms = geoms_fn(x0, y0, x1, y1)
        data = columns(len(geoms)) if columns else {"code": [f"B{i}" for i in range(len(geoms))]}
        path = tmp / name
        gpd.GeoDataFrame(data, geometry=geoms, crs=2154).to_file(path)
        return {"blocks": str(path), "blocks_id": "code", "bdtopo": None}

    return make


def squares(x0, y0, x1, y1, n=4):
    w = (x1 - x0) / (n + 1)
    return [shapely.box(x0 + i * w, y0 + w, x0 + (i + 1) * w - 5, y0 + 2 * w) for i in range(n)]


def population_csv(frame: pd.DataFrame):
    def make(tmp, src):
        path = tmp / "pop.csv"
        frame.to_csv(path, index=False)
        return {"population": [str(path)]}

    return make


CASES = [
    Case("zero-byte tif", E.EmptyFileError, "vide", raw_file("lst.tif", b"")),
    Case("truncated tif", E.UnreadableFileError, "tronqué", truncated_tif),
    Case("png renamed tif", E.UnreadableFileError, "lisible", raw_file("lst.tif", b"\x89PNG\r\n\x1a\n" + bytes(200))),
    Case("html renamed tif", E.UnreadableFileError, "lisible", raw_file("lst.tif", b"<html><script>x</script></html>")),
    Case("raster without crs", E.MissingCRSError, "coordonnées", lst_variant(305.0, crs=None)),
    Case("rotated raster", E.RotatedRasterError, "tourné", rotated),
    Case("all-nodata raster", E.AllPixelsMaskedError, "aucun pixel", lst_variant(-9999.0, nodata=-9999.0)),
    Case("all-cloud landsat qa", E.AllPixelsMaskedError, "nuages", cloudy_scene),
    Case("three-band raster", E.BandCountError, "bandes", lst_variant(305.0, count=3)),
    Case("kelvin or celsius ambiguity", E.AmbiguousInputError, "Unité", lst_variant(150.0)),
    Case("raster far from vectors", E.NoOverlapError, "recouvre", far_away),
    Case("huge declared raster", E.TooLargeError, "millions de pixels", huge),
    Case("landsat folder without ST_B10", E.MissingLayerError, "ST_B10", scene_without_st),
    Case("truncated MTL json", E.UnreadableFileError, "MTL", scene_bad_mtl),
    Case("float land cover", E.UnreadableFileError, "classes", landcover_variant("float32")),
    Case("three-band land cover", E.BandCountError, "bandes", landcover_variant("uint8", count=3)),
    Case("shapefile without shx", E.UnreadableFileError, ".shx", shapefile_bdtopo(".shx")),
    Case("shapefile without prj", E.MissingCRSError, "coordonnées", shapefile_bdtopo(".prj")),
    Case("bdtopo gpkg that is text", E.UnreadableFileError, "GeoPackage", raw_file("bd.gpkg", b"hello", role="bdtopo")),
    Case("zero-byte blocks", E.EmptyFileError, "vide", raw_file("blocks.geojson", b"", role="blocks")),
    Case(
        "lines as blocks",
        E.GeometryTypeError,
        "polygones",
        blocks_file(lambda *b: [shapely.LineString([(b[0], b[1]), (b[2], b[3])])]),
    ),
    Case(
        "mixed geometries",
        E.GeometryTypeError,
        "mélange",
        blocks_file(lambda *b: squares(*b) + [shapely.Point(b[0] + 10, b[1] + 10)], name="mixed.geojson"),
    ),
    Case(
        "missing id column", E.MissingColumnError, "absente", blocks_file(squares, columns=lambda n: {"nom": ["x"] * n})
    ),
    Case(
        "duplicate ids", E.MissingColumnError, "unique", blocks_file(squares, columns=lambda n: {"code": ["same"] * n})
    ),
    Case(
        "blocks far away",
        E.NoOverlapError,
        "recouvre",
        blocks_file(lambda *b: [shapely.box(100000, 6100000, 100100, 6100100)]),
    ),
    Case(
        "population without residents",
        E.MissingColumnError,
        "habitants",
        population_csv(pd.DataFrame({"IRIS": ["1"], "age": [3]})),
    ),
    Case(
        "population key matches nothing",
        E.MissingColumnError,
        "jointure",
        population_csv(pd.DataFrame({"IRIS": ["x", "y"], "population": [1, 2]})),
    ),
    Case("zero-byte population", E.EmptyFileError, "vide", raw_file("pop.csv", b"", role="population")),
    Case(
        "bad filosofi ids",
        E.UnreadableFileError,
        "Filosofi",
        population_csv(pd.DataFrame({"Idcar_200m": ["CRS3035RES200mNxxE"], "Ind": [3.0]})),
    ),
    Case("missing file", E.UnreadableFileError, "introuvable", lambda tmp, src: {"lst": [str(tmp / "nope.tif")]}),
    Case("no roads and no blocks", E.BuildError, "îlots", lambda tmp, src: {"bdtopo": None}),
    Case("no temperature at all", E.BuildError, "température", lambda tmp, src: {"lst": []}),
]


@pytest.fixture(scope="module")
def src(demo_territory):
    s = demo_territory / "sources"
    return {
        "lst": [str(next((s / "landsat").iterdir()))],
        "bdtopo": str(s / "bdtopo_ilotville.gpkg"),
        "landcover": str(s / "worldcover_ilotville_10m.tif"),
        "population": [],
    }


def _inputs(case, tmp, src) -> BuildInputs:
    kw = {"name": "x", "lst": src["lst"], "bdtopo": src["bdtopo"]}
    kw.update(case.make(tmp, src))
    return BuildInputs(**kw)


def _argv(inputs: BuildInputs, out: Path) -> list[str]:
    argv = ["build", "--quiet", "--out", str(out), "--name", inputs.name]
    if not inputs.lst:
        argv += ["--lst", ""]
    for p in inputs.lst:
        argv += ["--lst", p]
    for flag, value in (
        ("--landcover", inputs.landcover),
        ("--bdtopo", inputs.bdtopo),
        ("--blocks", inputs.blocks),
        ("--blocks-id", inputs.blocks_id),
    ):
        if value:
            argv += [flag, value]
    for p in inputs.population:
        argv += ["--population", p]
    return argv


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, src, demo_territory, tmp_path, capsys):
    inputs = _inputs(case, tmp_path, src)
    with pytest.raises(E.IlotsError) as info:
        compute_territory(inputs)
    assert type(info.value) is case.exc, (type(info.value), str(info.value))
    assert case.fragment.lower() in str(info.value).lower()
    # The command line: exit code 2, one French line, and an existing territory left as it was.
    target = tmp_path / "existing"
    shutil.copytree(demo_territory, target)
    before = (target / "territory.json").read_bytes()
    code = main(_argv(inputs, target))
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("Erreur : ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert (target / "territory.json").read_bytes() == before
    assert len(load_territory(target).blocks) > 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".existing.")]  # no staging left behind


def test_latin1_dbf_without_cpg_is_decoded(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"NATURE": ["Forêt fermée"], "HAUTEUR": [9.0]}, geometry=[shapely.box(0, 0, 10, 10)], crs=2154
    )
    gdf.to_file(tmp_path / "BATIMENT.shp", encoding="ISO-8859-1")
    (tmp_path / "BATIMENT.cpg").unlink(missing_ok=True)
    from ilots.sources.vectors import read_vector

    assert read_vector(tmp_path / "BATIMENT.shp", 2154)["NATURE"].iloc[0] == "Forêt fermée"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--trees", "150"], "hors limites"),
        (["--trees", "-3"], "hors limites"),
        (["--where", "risque"], "non comprise"),
        (["--blocks", "nope1,nope2", "--trees", "5"], "inconnus"),
        (["--load", "jamais-vu"], "Aucun scénario"),
    ],
)
def test_scenario_cli_errors(demo_territory, tmp_path, capsys, argv, fragment):
    target = tmp_path / "t"
    shutil.copytree(demo_territory, target)
    assert main(["scenario", str(target), *argv]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_malformed_costs_file(demo_territory, tmp_path, capsys):
    target = tmp_path / "t"
    shutil.copytree(demo_territory, target)
    (tmp_path / "costs.json").write_text("{nope")
    assert main(["scenario", str(target), "--trees", "5", "--costs", str(tmp_path / "costs.json")]) == 2
    assert "coûts" in capsys.readouterr().err


def test_corrupt_model_is_refitted_not_fatal(demo_territory, tmp_path):
    from ilots.analysis import ensure_model

    target = tmp_path / "t"
    shutil.copytree(demo_territory, target)
    (target / "model.json").write_text("{broken")
    (target / "model.parquet").write_bytes(b"not parquet")
    meta, table = ensure_model(load_territory(target))
    assert len(table) == len(load_territory(target).blocks)
    assert json.loads((target / "model.json").read_text())["chosen"] in ("ridge", "boosting")
