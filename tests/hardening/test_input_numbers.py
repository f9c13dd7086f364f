"""Issue 11 §3: no silent wrong number from an input file (scale, units, fill, class rasters, bands,
French spreadsheets, name clashes, duplicate blocks)."""

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from ilots import errors as E
from ilots.build import BuildInputs, compute_territory
from ilots.cli import main
from ilots.sources.population import read_population
from ilots.sources.rasters import read_lst_geotiff

T = from_origin(800000, 6500000, 30, 30)
RNG = np.random.default_rng(5)
TRUE_C = 30.0 + RNG.normal(0, 3, size=(40, 40))  # a summer city, °C


def _tif(path, arr, dtype, nodata=None, scale=None, offset=None, units=None, tags=None, count=1, descriptions=None):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=arr.shape[-2],
        width=arr.shape[-1],
        count=count,
        dtype=dtype,
        transform=T,
        crs=2154,
        nodata=nodata,
    ) as ds:
        ds.write(arr.astype(dtype) if count > 1 else arr.astype(dtype)[None])
        if scale is not None or offset is not None:
            ds.scales, ds.offsets = [scale or 1.0] * count, [offset or 0.0] * count
        if units:
            ds.units = [units] * count
        if tags:
            ds.update_tags(1, **tags)
        for i, d in enumerate(descriptions or []):
            ds.set_band_description(i + 1, d)
    return path


@pytest.mark.parametrize(
    ("raw", "dtype", "kw"),
    [
        ((TRUE_C + 273.15) / 0.02, "uint16", {"scale": 0.02}),  # MODIS style: K / 0.02
        (TRUE_C * 10, "int16", {"scale": 0.1, "units": "degC"}),  # tenths of °C, declared
        ((TRUE_C + 273.15) * 100, "uint16", {"scale": 0.01}),  # Kelvin × 100
        (TRUE_C * 10, "int16", {"tags": {"scale_factor": "0.1", "units": "degC"}}),  # netCDF-style tags
        ((TRUE_C + 273.15) * 50, "uint16", {"scale": 0.02, "units": "K"}),
    ],
)
def test_scale_offset_and_units_are_honoured(tmp_path, raw, dtype, kw):
    layer = read_lst_geotiff(_tif(tmp_path / "lst.tif", np.round(raw), dtype, **kw), 2154)
    assert np.nanmedian(layer.data.values) == pytest.approx(np.median(TRUE_C), abs=0.1)


@pytest.mark.parametrize(
    ("raw", "dtype", "kw", "found"),
    [
        (TRUE_C * 10, "int16", {"units": "degC"}, "301,"),  # tenths of °C declared as °C without a scale
        (TRUE_C - 100.0, "float32", {}, "médiane de −"),  # far too cold for any city
    ],
)
def test_implausible_medians_are_refused_naming_file_and_values(tmp_path, raw, dtype, kw, found, capsys):
    path = _tif(tmp_path / "chaleur.tif", raw, dtype, **kw)
    with pytest.raises(E.ImplausibleValuesError) as info:
        read_lst_geotiff(path, 2154)
    assert (
        "chaleur.tif" in str(info.value) and found in str(info.value) and "−30\u00a0°C à 70\u00a0°C" in str(info.value)
    )


def test_undeclared_zero_fill_is_masked_and_said(tmp_path):
    arr = TRUE_C.copy()
    arr[:, :20] = 0.0  # half the raster is an undeclared fill value
    layer = read_lst_geotiff(_tif(tmp_path / "lst.tif", arr, "float32"), 2154)
    assert np.nanmin(layer.data.values) > 15.0
    assert np.isfinite(layer.data.values).mean() == pytest.approx(0.5, abs=0.05)
    assert any("exactement 0" in n for n in layer.source["notes"])


def test_a_land_cover_raster_is_refused_as_temperature(tmp_path):
    classes = RNG.choice([10, 20, 30, 40, 50, 60, 80], size=(40, 40))
    with pytest.raises(E.ClassRasterError, match="classes"):
        read_lst_geotiff(_tif(tmp_path / "worldcover.tif", classes, "uint8"), 2154)


def test_multiband_export_picks_the_temperature_band(tmp_path):
    qa = np.full((40, 40), 21824)
    path = _tif(tmp_path / "gee.tif", np.stack([qa, TRUE_C]), "float32", count=2, descriptions=["QA_PIXEL", "ST_B10"])
    layer = read_lst_geotiff(path, 2154)
    assert layer.source["band"] == 2
    assert np.nanmedian(layer.data.values) == pytest.approx(np.median(TRUE_C), abs=0.1)


def test_multiband_without_names_says_how_to_choose(tmp_path, capsys):
    path = _tif(tmp_path / "two.tif", np.stack([TRUE_C, TRUE_C + 2]), "float32", count=2)
    with pytest.raises(E.BandCountError, match="--lst-band"):
        read_lst_geotiff(path, 2154)
    layer = read_lst_geotiff(path, 2154, band="2")
    assert np.nanmedian(layer.data.values) == pytest.approx(np.median(TRUE_C) + 2, abs=0.1)


# -- population tables as French Excel saves them ---------------------------------------------------

FRENCH = "IRIS;Population;Part_65_plus\n693810101;2094,5;12,5\n693810102;1 530;8\n"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "utf-8"])
def test_french_excel_csv_is_read(tmp_path, encoding):
    path = tmp_path / "population.csv"
    path.write_bytes(FRENCH.replace("Part_65_plus", "Libellé_âge").encode(encoding))
    pop = read_population(path, 2154)
    assert pop.data["residents"].tolist() == [2094.5, 1530.0]


def test_non_numeric_population_column_is_named(tmp_path):
    path = tmp_path / "population.csv"
    path.write_text("IRIS;population\n1;12\n2;douze\n", encoding="utf-8")
    with pytest.raises(E.UnreadableFileError, match="population") as info:
        read_population(path, 2154)
    assert "douze" in str(info.value)


def test_empty_population_cells_are_unknown_not_zero(tmp_path):
    path = tmp_path / "population.csv"
    path.write_text("IRIS;population\n1;12\n2;\n", encoding="utf-8")
    assert read_population(path, 2154).data["residents"].isna().tolist() == [False, True]


@pytest.fixture(scope="module")
def src(demo_territory):
    s = demo_territory / "sources"
    return {"lst": str(next((s / "landsat").iterdir())), "bdtopo": str(s / "bdtopo_ilotville.gpkg")}


def _squares(bdtopo, n=6):
    roads = gpd.read_file(bdtopo, layer="troncon_de_route")
    x0, y0, x1, y1 = roads.total_bounds
    w = (x1 - x0) / (n + 2)
    return [shapely.box(x0 + (i + 1) * w, y0 + w, x0 + (i + 2) * w - 5, y0 + 2 * w) for i in range(n)]


def test_iris_table_saved_by_french_excel_is_joined(src, tmp_path):
    squares = _squares(src["bdtopo"])
    blocks = gpd.GeoDataFrame(
        {"code_iris": [f"3799900{i:02d}" for i in range(len(squares))]}, geometry=squares, crs=2154
    )
    blocks.to_file(tmp_path / "iris.gpkg")
    rows = "".join(f"{c};{100 + 10 * i},5\n" for i, c in enumerate(blocks["code_iris"]))
    (tmp_path / "pop.csv").write_bytes(("\ufeffcode_iris;Population\n" + rows).encode("utf-8"))
    built = compute_territory(
        BuildInputs(
            name="x",
            lst=[src["lst"]],
            blocks=str(tmp_path / "iris.gpkg"),
            blocks_id="code_iris",
            population=[str(tmp_path / "pop.csv")],
        )
    )
    assert built.blocks["residents"].tolist() == [100.5 + 10 * i for i in range(len(squares))]
    assert built.manifest["population"][0]["matched_blocks"] == len(squares)


def test_duplicate_blocks_are_warned(src, tmp_path, capsys):
    squares = _squares(src["bdtopo"])
    squares.append(squares[0])
    gpd.GeoDataFrame({"code": [f"B{i}" for i in range(len(squares))]}, geometry=squares, crs=2154).to_file(
        tmp_path / "b.gpkg"
    )
    out = tmp_path / "t"
    assert (
        main(
            [
                "build",
                "--quiet",
                "--out",
                str(out),
                "--name",
                "x",
                "--lst",
                src["lst"],
                "--blocks",
                str(tmp_path / "b.gpkg"),
                "--blocks-id",
                "code",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "même géométrie" in err and "B0" in err


def test_same_lst_file_twice_is_refused(src):
    with pytest.raises(E.BuildError, match="deux fois"):
        compute_territory(BuildInputs(name="x", lst=[src["lst"], src["lst"] + "/"], bdtopo=src["bdtopo"]))


def test_uploads_whose_names_clash_never_overwrite_each_other(tmp_path):
    from ilots.uploads import unique_path

    first = unique_path(tmp_path, "LST 2023-08-22.tif")
    first.write_bytes(b"a")
    second = unique_path(tmp_path, "LST_2023-08-22.tif")
    assert second != first and not second.exists()


def test_a_too_good_fit_is_flagged():
    from ilots.analysis import fit_warnings

    meta = {"metrics": {"spatial_cv": {"r2": 0.998}}}
    assert "trop bon" in fit_warnings(meta)[0]
    assert fit_warnings({"metrics": {"spatial_cv": {"r2": 0.8}}}) == []
