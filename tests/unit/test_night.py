"""The night layer: SLSTR granules read from NetCDF samples in the product's layout, blocks given the pixel
that covers them, LCZ zones, and where day and night disagree — hand-computed cases."""

from __future__ import annotations

import datetime as dt
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from ilots.errors import (
    AllPixelsMaskedError,
    EmptyFileError,
    InputFileError,
    MissingColumnError,
    MissingLayerError,
    NoOverlapError,
    UnreadableFileError,
)
from ilots.night import (
    block_lcz,
    block_night,
    check_lcz,
    day_night_classes,
    day_night_summary,
    lcz_codes,
    pixel_spacing,
    scene_points,
)
from ilots.sources.slstr import read_slstr, solar_hour, write_slstr_granule

NIGHT = dt.datetime(2022, 7, 14, 21, 20, tzinfo=dt.UTC)
X0, Y0 = 650_000.0, 6_860_000.0  # Lambert-93, central France (lon ≈ 2,9° E: 21:20 UTC is ≈ 21:32 solar)


def granule(tmp_path, lst_c, *, when=NIGHT, cloudy=None, day=False, name=None, spacing=1000.0):
    """A granule whose pixel centres are exactly on a Lambert-93 grid (row 0 north), ``lst_c`` in °C."""
    lst_c = np.asarray(lst_c, dtype="float64")
    rows, cols = lst_c.shape
    xs, ys = np.meshgrid(X0 + spacing * np.arange(cols), Y0 - spacing * np.arange(rows))
    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(xs, ys)
    name = name or f"S3A_SL_2_LST____{when:%Y%m%dT%H%M%S}_{when:%Y%m%dT%H%M%S}_x.SEN3"
    return write_slstr_granule(tmp_path / name, lat, lon, lst_c + 273.15, when, cloudy=cloudy, day=day)


def test_reads_lst_in_celsius_at_pixel_centres_and_drops_fill_and_cloud(tmp_path):
    lst = np.array([[20.0, 21.0, np.nan], [22.0, 23.0, 24.0]])
    cloudy = np.array([[False, False, False], [False, True, False]])
    scene = read_slstr(granule(tmp_path, lst, cloudy=cloudy))
    assert scene.n_pixels == 6 and scene.n_cloudy == 1
    assert sorted(np.round(scene.lst_c, 2)) == [20.0, 21.0, 22.0, 24.0]  # fill and cloud left out
    k = int(np.argmin(np.abs(scene.lst_c - 24.0)))
    assert scene.x[k] == pytest.approx(X0 + 2000.0, abs=0.5) and scene.y[k] == pytest.approx(Y0 - 1000.0, abs=0.5)
    assert scene.start == NIGHT and scene.platform == "Sentinel-3A"
    assert 21.4 < scene.solar_hour < 21.7
    assert scene.summary()["n_clear"] == 4


def test_bounds_keep_only_the_pixels_near_the_territory(tmp_path):
    path = granule(tmp_path, np.full((5, 5), 18.0))
    scene = read_slstr(path, bounds=(X0, Y0 - 1000, X0 + 1000, Y0), margin_m=100.0)
    assert scene.n_pixels == 4
    with pytest.raises(NoOverlapError, match="ne couvre pas"):
        read_slstr(path, bounds=(X0 + 50_000, Y0, X0 + 51_000, Y0 + 1000))


def test_solar_hour_follows_longitude():
    assert solar_hour(dt.datetime(2022, 7, 14, 21, 0, tzinfo=dt.UTC), 15.0) == pytest.approx(22.0)
    assert solar_hour(dt.datetime(2022, 7, 14, 23, 30, tzinfo=dt.UTC), 15.0) == pytest.approx(0.5)


def test_a_day_granule_is_refused_by_its_flag_and_by_its_hour(tmp_path):
    with pytest.raises(InputFileError, match="passage de jour"):
        read_slstr(granule(tmp_path, np.full((2, 2), 30.0), day=True))
    morning = dt.datetime(2022, 7, 14, 9, 50, tzinfo=dt.UTC)
    path = granule(tmp_path / "m", np.full((2, 2), 30.0), when=morning)
    (path / "flags_in.nc").unlink()  # no flags: the hour alone decides
    with pytest.raises(InputFileError, match="de jour"):
        read_slstr(path)


def test_all_cloud_over_the_territory_is_said(tmp_path):
    path = granule(tmp_path, np.full((3, 3), 18.0), cloudy=np.ones((3, 3), dtype=bool))
    with pytest.raises(AllPixelsMaskedError, match="nuageuse"):
        read_slstr(path)


def test_missing_empty_corrupt_files_and_variables_get_precise_errors(tmp_path):
    path = granule(tmp_path, np.full((2, 2), 18.0))
    with pytest.raises(MissingLayerError, match="introuvable"):
        read_slstr(tmp_path / "absent.SEN3")
    (path / "geodetic_in.nc").rename(tmp_path / "geo.nc")
    with pytest.raises(MissingLayerError, match="geodetic_in.nc"):
        read_slstr(path)
    (tmp_path / "geo.nc").rename(path / "geodetic_in.nc")
    (path / "LST_in.nc").write_bytes(b"")
    with pytest.raises(EmptyFileError, match="vide"):
        read_slstr(path)
    (path / "LST_in.nc").write_bytes(b"CDF\x01" + b"\x00garbage" * 10)
    with pytest.raises(UnreadableFileError, match="NetCDF"):
        read_slstr(path)
    # A NetCDF without the LST variable (the flags file under the LST name).
    (path / "LST_in.nc").write_bytes((path / "flags_in.nc").read_bytes())
    with pytest.raises(MissingLayerError, match="LST"):
        read_slstr(path)


def test_netcdf4_as_distributed_is_read_too(tmp_path):
    """Granules are distributed as NetCDF-4 (HDF5): the same reader, through GDAL, reads them."""
    import rasterio
    import rasterio.shutil
    from rasterio.errors import NotGeoreferencedWarning

    path = granule(tmp_path, np.array([[19.5, 20.5], [21.5, 22.5]]))
    nc3 = path / "LST_in.nc"
    tif = tmp_path / "lst.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(f'netcdf:"{nc3}":LST') as src:
            raw, profile, tags = src.read(1), src.profile, src.tags()
        profile.update(driver="GTiff")
        with rasterio.open(tif, "w", **profile) as dst:
            dst.write(raw, 1)
            dst.scales, dst.offsets = (0.002,), (290.0,)
            dst.update_tags(1, NETCDF_VARNAME="LST", units="K")
            dst.update_tags(start_time=tags["NC_GLOBAL#start_time"])
        nc3.unlink()
        rasterio.shutil.copy(tif, nc3, driver="netCDF", FORMAT="NC4")
    assert nc3.read_bytes()[:4] == b"\x89HDF"
    scene = read_slstr(path)
    assert sorted(np.round(scene.lst_c, 2)) == [19.5, 20.5, 21.5, 22.5]
    assert scene.start == NIGHT


def _squares(centres, side=100.0):
    geoms = [shapely.box(x - side / 2, y - side / 2, x + side / 2, y + side / 2) for x, y in centres]
    return gpd.GeoDataFrame(
        {"residents": [100.0] * len(geoms)}, geometry=geoms, crs=2154, index=[f"b{i}" for i in range(len(geoms))]
    )


def _points(scene_id, values, spacing=1000.0):
    values = np.asarray(values, dtype="float64")
    rows, cols = values.shape
    xs, ys = np.meshgrid(X0 + spacing * np.arange(cols), Y0 - spacing * np.arange(rows))
    keep = np.isfinite(values)
    return pd.DataFrame({"scene_id": scene_id, "x": xs[keep], "y": ys[keep], "lst_c": values[keep]})


def test_each_block_takes_the_pixel_covering_it_and_the_median_of_the_nights():
    blocks = _squares([(X0 + 100, Y0 - 200), (X0 + 1000, Y0 - 1000), (X0 + 500, Y0 - 500), (X0 + 2400, Y0)])
    nights = pd.concat(
        [
            _points("n1", [[20.0, 21.0, 22.0], [23.0, 24.0, 25.0]]),
            _points("n2", [[18.0, 19.0, 20.0], [21.0, 26.0, 23.0]]),
            _points("n3", [[19.0, np.nan, 21.0], [22.0, 25.0, 24.0]]),
        ]
    )
    out = block_night(nights, blocks).table
    # b0 sits 224 m from pixel (0, 0): 20, 18, 19 → median 19 °C, range 2 °C.
    assert out.loc["b0", "night_lst_c"] == pytest.approx(19.0)
    assert out.loc["b0", "night_n"] == 3 and out.loc["b0", "night_spread_c"] == pytest.approx(2.0)
    # b1 on pixel (1, 1): 24, 26, 25 → 25 °C.
    assert out.loc["b1", "night_lst_c"] == pytest.approx(25.0)
    # b2 is 707 m from four centres, within 0.75 × 1000 m: it takes the nearest (ties: one of them), each night.
    assert out.loc["b2", "night_n"] == 3
    # b3 is 400 m from (0, 2) of every night: 22, 20, 21 → 21 °C.
    assert out.loc["b3", "night_lst_c"] == pytest.approx(21.0)
    assert out["night_anomaly_c"].median() == pytest.approx(0.0)


def test_a_block_no_pixel_covers_is_left_unknown_not_zero():
    blocks = _squares([(X0, Y0), (X0 + 5000, Y0 - 5000)])
    out = block_night(_points("n1", [[20.0, 21.0], [22.0, 23.0]]), blocks).table
    assert out.loc["b0", "night_lst_c"] == pytest.approx(20.0)
    assert np.isnan(out.loc["b1", "night_lst_c"]) and out.loc["b1", "night_n"] == 0


def test_no_night_covering_any_block_is_an_error():
    with pytest.raises(NoOverlapError):
        block_night(_points("n1", [[20.0, 21.0]]), _squares([(X0 + 9000, Y0 + 9000)]))


def test_pixel_spacing_and_scene_points(tmp_path):
    scene = read_slstr(granule(tmp_path, np.full((3, 4), 18.0)))
    assert pixel_spacing(scene.x, scene.y) == pytest.approx(1000.0, abs=1.0)
    points = scene_points([scene])
    assert list(points.columns) == ["scene_id", "x", "y", "lst_c"] and len(points) == 12


def test_lcz_codes_are_normalised():
    got = lcz_codes(pd.Series(["LCZ 2", "2.0", "a", 104, 17, "10", "Z", None, 3]))
    assert got.tolist() == ["2", "2", "A", "D", "G", "10", None, None, "3"]


def test_lcz_layer_by_code_or_by_grouped_class():
    g = shapely.box(0, 0, 10, 10)
    coded = check_lcz(gpd.GeoDataFrame({"LCZ_PRIMARY": [2, 104]}, geometry=[g, g], crs=2154))
    assert coded["lcz"].tolist() == ["2", "D"] and coded["tendency"].tolist() == ["forte", "faible"]
    grouped = check_lcz(gpd.GeoDataFrame({"heat_score": ["High", "Low"]}, geometry=[g, g], crs=2154))
    assert grouped["lcz"].isna().all() and grouped["tendency"].tolist() == ["forte", "faible"]
    with pytest.raises(MissingColumnError, match="zone climatique locale"):
        check_lcz(gpd.GeoDataFrame({"nom": ["x"]}, geometry=[g], crs=2154))
    with pytest.raises(EmptyFileError):
        check_lcz(gpd.GeoDataFrame({"lcz": []}, geometry=[], crs=2154))


def test_a_block_takes_the_zone_covering_most_of_it():
    blocks = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100), shapely.box(500, 500, 600, 600)], crs=2154)
    zones = check_lcz(
        gpd.GeoDataFrame(
            {"lcz": ["2", "6"]}, geometry=[shapely.box(0, 0, 60, 100), shapely.box(60, 0, 200, 100)], crs=2154
        )
    )
    out = block_lcz(blocks, zones)
    assert out.loc[0, "lcz"] == "2" and out.loc[0, "lcz_share"] == pytest.approx(0.6)
    assert out.loc[0, "lcz_name"] == "Ensemble compact d'immeubles" and out.loc[0, "lcz_tendency"] == "forte"
    assert pd.isna(out.loc[1, "lcz"])


def test_day_and_night_thirds_tell_where_they_disagree():
    idx = [f"b{i}" for i in range(6)]
    day = pd.Series([40.0, 41.0, 42.0, 43.0, 44.0, 45.0], index=idx)
    night = pd.Series([22.0, 17.0, 19.0, 19.5, 23.0, 16.0], index=idx)
    got = day_night_classes(day, night)
    assert got.tolist() == ["night_only", "neither", "middle", "middle", "both", "day_only"]
    day.iloc[2] = np.nan
    assert day_night_classes(day, night).iloc[2] == "unknown"
    tendency = pd.Series(["forte", "faible", "moyenne", "moyenne", "forte", "faible"], index=idx)
    assert day_night_classes(day, None, tendency).tolist() == [
        "night_only",
        "neither",
        "unknown",
        "middle",
        "both",
        "day_only",
    ]
    summary = day_night_summary(got, pd.Series(100.0, index=idx))
    assert summary["both"] == {"blocks": 1, "residents": 100.0} and summary["middle"]["blocks"] == 2
