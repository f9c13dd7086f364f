"""LST GeoTIFF reading: unit detection, fill values, date composites."""

import datetime as dt

import numpy as np
import pytest
from rasterio.transform import from_origin

from ilots.errors import AllPixelsMaskedError, EmptyFileError, MissingCRSError, NoOverlapError, UnreadableFileError
from ilots.sources.rasters import LstLayer, composite, date_from_name, read_lst_geotiff, to_celsius
from tests.conftest import make_raster, write_tif

T = from_origin(800000, 6500000, 30, 30)  # a 30 m Lambert-93 grid


def test_kelvin_is_detected_and_converted():
    out, unit = to_celsius(np.array([300.0, 310.0, np.nan]))
    assert unit == "kelvin"
    assert out[:2] == pytest.approx([26.85, 36.85])
    assert np.isnan(out[2])


def test_celsius_is_kept():
    out, unit = to_celsius(np.array([25.0, 41.5]))
    assert unit == "celsius"
    assert out == pytest.approx([25.0, 41.5])


def test_raw_landsat_dn_is_scaled():
    dn = np.array([44000.0])  # 44000 × 0.00341802 + 149 = 299.39 K = 26.24 °C
    out, unit = to_celsius(dn)
    assert unit == "landsat_dn"
    assert out[0] == pytest.approx(44000 * 0.00341802 + 149.0 - 273.15, abs=1e-3)


def test_read_lst_geotiff_masks_declared_nodata_and_scaled_fill(tmp_path):
    arr = np.array([[300.0, 149.0, 305.0], [-9999.0, 310.0, 315.0]])
    path = write_tif(tmp_path / "LST_2022-07-14.tif", arr, T, nodata=-9999.0)
    layer = read_lst_geotiff(path, 2154)
    values = layer.data.values
    assert np.isfinite(values).sum() == 4
    assert np.nanmax(values) == pytest.approx(315 - 273.15, abs=1e-4)
    assert layer.date == dt.date(2022, 7, 14)
    assert layer.source["unit_detected"] == "kelvin"


def test_all_fill_raster_is_reported(tmp_path):
    path = write_tif(tmp_path / "empty.tif", np.full((3, 3), 149.0), T, nodata=149.0)
    with pytest.raises(AllPixelsMaskedError):
        read_lst_geotiff(path, 2154)


def test_zero_byte_png_and_crs_less_files(tmp_path):
    (tmp_path / "zero.tif").write_bytes(b"")
    with pytest.raises(EmptyFileError):
        read_lst_geotiff(tmp_path / "zero.tif", 2154)
    (tmp_path / "image.tif").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(UnreadableFileError):
        read_lst_geotiff(tmp_path / "image.tif", 2154)
    nocrs = write_tif(tmp_path / "nocrs.tif", np.full((3, 3), 300.0), T, crs=None)
    with pytest.raises(MissingCRSError):
        read_lst_geotiff(nocrs, 2154)


def test_bounds_outside_raster_raise_no_overlap(tmp_path):
    path = write_tif(tmp_path / "lst.tif", np.full((3, 3), 300.0), T)
    with pytest.raises(NoOverlapError):
        read_lst_geotiff(path, 2154, bounds=(0, 0, 10, 10))


def test_two_date_composite_is_a_pixel_median_with_valid_count():
    a = make_raster(np.array([[30.0, np.nan], [32.0, 34.0]], dtype="float32"), res=30)
    b = make_raster(np.array([[36.0, 40.0], [np.nan, 38.0]], dtype="float32"), res=30)
    med, count = composite([LstLayer(a, None), LstLayer(b, None)])
    # Too few pixels seen by both dates: each date is levelled by its own median (32 and 38 → 35), then the
    # per-pixel median is taken: [[33, 33] → 33, 37], [35, 36 = median(37, 35)].
    assert med.values[0, 0] == pytest.approx(33.0)
    assert med.values[0, 1] == pytest.approx(37.0)  # only one valid date, levelled
    assert med.values[1, 0] == pytest.approx(35.0)
    assert med.values[1, 1] == pytest.approx(36.0)
    assert count.values.tolist() == [[2, 1], [1, 2]]


def test_a_warmer_date_covering_half_the_area_makes_no_false_hot_spot():
    """Issue 12 §1: a second date 3 °C warmer over half the area; block anomalies stay within 0.2 °C."""
    import geopandas as gpd
    import shapely

    from ilots.features import lst_features
    from ilots.sources.rasters import composite_dates

    rng = np.random.default_rng(0)
    truth = 40.0 + rng.normal(0, 1.5, (60, 60))
    second = truth + 3.0 + rng.normal(0, 0.2, truth.shape)
    second[:, 30:] = np.nan  # the second date covers the western half only
    c = composite_dates(
        [
            LstLayer(make_raster(truth.astype("float32"), res=30), None),
            LstLayer(make_raster(second.astype("float32"), res=30), None),
        ]
    )
    assert c.method == "common_area" and c.offsets_c[0] == pytest.approx(-c.offsets_c[1], abs=0.05)
    xs, ys = np.meshgrid(np.arange(0, 1800, 150), np.arange(0, 1800, 150))
    blocks = gpd.GeoDataFrame(
        geometry=shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + 150, ys.ravel() + 150), crs=2154
    )
    got = lst_features(blocks, c.lst, c.n_dates, c.spread)
    want = lst_features(blocks, make_raster(truth.astype("float32"), res=30))
    anomaly = got["lst_mean_c"] - got["lst_mean_c"].median()
    true_anomaly = want["lst_mean_c"] - want["lst_mean_c"].median()
    assert (anomaly - true_anomaly).abs().max() < 0.2
    plain = np.nanmedian(np.stack([truth, second]), axis=0)  # the old per-pixel median: a false +1.5 °C west
    assert np.nanmean(plain[:, :30]) - np.nanmean(truth[:, :30]) > 1.4
    assert got["lst_fewer_dates"].sum() == (blocks.geometry.bounds["minx"] >= 900).sum()
    assert (got["lst_date_spread_c"].dropna() < 1.5).all()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Lyon_LST_Landsat_2022-07-14.tif", dt.date(2022, 7, 14)),
        ("LC08_L2SP_008059_20191201_20200825_02_T1_ST_B10.TIF", dt.date(2019, 12, 1)),
        ("lst.tif", None),
        ("scene_2022-13-45.tif", None),
    ],
)
def test_date_from_name(name, expected):
    assert date_from_name(name) == expected


def test_clip_box_cuts_the_pixels_rioxarray_cuts_as_a_view():
    """Issue 14 §3: a tile's rasters are cut with the pixels, coordinates, transform and attributes of rioxarray's
    clip_box, without copying; a class raster whose fill value is NaN (the dates count), which rioxarray refuses
    to cut, is cut like the others instead of passed whole to every tile."""
    import xarray as xr

    from ilots.sources.rasters import clip_box

    rng = np.random.default_rng(11)
    da = make_raster(rng.random((300, 400)).astype("float32"), res=8.021032266848, x0=837_715.05, y0=6_524_881.22)
    # coordinates described as the build's reprojected rasters have them (clip_box describes them again)
    da = da.rio.write_nodata(np.nan, encoded=False).rio.write_coordinate_system()
    x0, y0, x1, y1 = da.rio.bounds()
    before = (da.spatial_ref.attrs["GeoTransform"], da.rio.transform())
    for _ in range(60):
        bx, by = rng.uniform(x0 - 500, x1), rng.uniform(y0 - 500, y1)
        box = (bx, by, bx + rng.uniform(20, 2_000), by + rng.uniform(20, 2_000))
        try:
            expected = da.rio.clip_box(*box)
        except Exception as exc:  # no pixel in the box: the same refusal
            with pytest.raises(type(exc)):
                clip_box(da, box)
            continue
        got = clip_box(da, box)
        xr.testing.assert_identical(got, expected)
        assert got.rio.transform() == expected.rio.transform() and got.encoding == expected.encoding
        assert np.shares_memory(got.values, da.values)
        assert (da.spatial_ref.attrs["GeoTransform"], da.rio.transform()) == before  # the whole raster untouched
    counts = make_raster(rng.integers(0, 5, (300, 400)).astype("uint8"), res=30.0, x0=800_000.0, y0=6_500_000.0)
    counts.attrs["_FillValue"] = np.float32("nan")  # as the composite's count of dates carries the LST's
    box = (801_000.0, 6_493_000.0, 803_000.0, 6_496_000.0)
    with pytest.raises(ValueError):
        counts.rio.clip_box(*box)
    cut = clip_box(counts, box)
    assert cut.shape == (101, 67) and (cut.values == counts.values[133:234, 33:100]).all()
