"""The night layer on a built territory: the demo's granules and LCZ, the CLI verb, rebuilds, the model kept
apart, the real Lyon IRIS LCZ classes, and the download against the local fake STAC service."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from ilots.analysis import night_territory
from ilots.cli import main
from ilots.errors import NoSceneError, ServiceUnavailableError
from ilots.fetch.http import RetryPolicy
from ilots.fetch.nights import SLSTR_COLLECTION, fetch_nights, night_items
from ilots.night import add_night_inputs
from ilots.sources.slstr import write_slstr_granule
from ilots.store import load_territory, night_index, sha256_file
from tests.fetchserver import FakeServices, LocalServer


def test_the_demo_has_three_nights_and_lcz_zones_read_from_their_files(demo_territory):
    terr = load_territory(demo_territory)
    report = night_territory(terr)
    assert [n["start"][:10] for n in report.nights] == ["2023-07-10", "2023-08-09", "2023-08-22"]
    assert all(20.5 < n["solar_hour"] < 22.5 for n in report.nights)
    assert report.nights[1]["n_cloudy"] > 0  # the clouded night lost pixels, and was kept
    t = report.table
    assert t["night_lst_c"].notna().mean() > 0.95 and t["night_n"].max() == 3
    assert t["day_lst_c"].median() > t["night_lst_c"].median() + 10
    assert report.spacing_m == pytest.approx(1000.0, abs=5.0)
    assert t["lcz"].notna().all() and set(t["lcz_tendency"]) <= {"forte", "moyenne", "faible"}
    # The dense centre keeps its heat: compact zones are warmer at night than sparse and natural ones.
    by = t.groupby("lcz_tendency")["night_lst_c"].mean()
    assert by["forte"] > by["faible"] + 0.5
    assert report.summary["day_only"]["blocks"] + report.summary["night_only"]["blocks"] > 0


def test_the_night_never_enters_the_day_model(fitted_copy):
    """The night layer lives in night/: blocks.parquet and the model's inputs are those of the day alone."""
    terr = load_territory(fitted_copy)
    meta = json.loads((fitted_copy / "model.json").read_text(encoding="utf-8"))
    assert not any("night" in f or "lcz" in f for f in meta["features"])
    before = sha256_file(fitted_copy / "blocks.parquet")
    shutil.rmtree(fitted_copy / "night")
    assert night_territory(load_territory(fitted_copy)) is None
    lcz = fitted_copy / "sources" / "nuit" / "rsu_lcz_ilotville.gpkg"
    add_night_inputs(terr, lcz=str(lcz))
    assert sha256_file(fitted_copy / "blocks.parquet") == before
    assert not any(c.startswith(("night", "lcz")) for c in load_territory(fitted_copy).blocks.columns)
    report = night_territory(load_territory(fitted_copy))
    assert report.compared_with == "lcz" and "night_lst_c" not in report.table


def test_cli_night_adds_prints_and_exports(fitted_copy, tmp_path, capsys):
    shutil.rmtree(fitted_copy / "night")
    assert main(["night", str(fitted_copy)]) == 2
    assert "pas encore de couche de nuit" in capsys.readouterr().err
    nights = sorted((fitted_copy / "sources" / "nuit").glob("*.SEN3"))
    args = ["night", str(fitted_copy), "--lcz", str(fitted_copy / "sources" / "nuit" / "rsu_lcz_ilotville.gpkg")]
    for g in nights:
        args += ["--slstr", str(g)]
    out_csv = tmp_path / "nuit.csv"
    assert main([*args, "--csv", str(out_csv)]) == 0
    out = capsys.readouterr().out
    assert "Nuits (3) : 10 juillet 2023, 9 août 2023, 22 août 2023" in out
    assert "intermédiaire" in out and "pas de l'air" in out
    assert "pixels de nuit seulement couvrent le territoire" in out  # 2 km: too few to tell districts apart
    table = pd.read_csv(out_csv, sep=";", decimal=",")
    assert {"night_lst_c", "day_lst_c", "lcz", "day_night"} <= set(table.columns)
    # Adding the same night again replaces it: still three nights.
    assert main(["night", str(fitted_copy), "--slstr", str(nights[0]), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["nights"]) == 3


def test_a_daytime_or_corrupt_granule_is_one_french_sentence_and_keeps_the_saved_nights(fitted_copy, tmp_path, capsys):
    before = night_index(fitted_copy)
    day = tmp_path / "S3A_SL_2_LST____20230822T100000_x.SEN3"
    shutil.copytree(next((fitted_copy / "sources" / "nuit").glob("*.SEN3")), day)
    (day / "LST_in.nc").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    assert main(["night", str(fitted_copy), "--slstr", str(day)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Erreur : ") and "LST_in.nc" in err and "Traceback" not in err
    assert night_index(fitted_copy) == before


def test_rebuilding_the_territory_keeps_its_night_layer(tmp_path):
    from ilots.demo import build_demo

    out = tmp_path / "demo"
    build_demo(out, size_km=1.0, seed=3)
    first = night_index(out)
    build_demo(out, size_km=1.0, seed=3)
    assert night_index(out)["nights"] == first["nights"]


@pytest.mark.real_data
def test_lyon_iris_lcz_classes_beside_the_day(real_dir, tmp_path):
    """Real data: the 185 IRIS of Lyon with their Cerema-LCZ class (heat_score). The compact IRIS (« forte ») are
    hotter by day too (45,0 vs 42,3 °C measured), and a few IRIS disagree."""
    from ilots.build import build_territory
    from tests.conftest import lyon_inputs

    out = tmp_path / "lyon"
    build_territory(lyon_inputs(real_dir), out)
    terr = load_territory(out)
    added = add_night_inputs(terr, lcz=str(real_dir / "lyon" / "lyon_iris_heat_vulnerability.geojson"))
    assert added["lcz"] == 185
    report = night_territory(load_territory(out))
    t = report.table
    assert report.compared_with == "lcz" and t["lcz_tendency"].notna().all()
    assert t["lcz_tendency"].value_counts().to_dict() == {"forte": 95, "moyenne": 75, "faible": 15}
    by = t.groupby("lcz_tendency")["day_lst_c"].mean()
    assert by["forte"] > by["faible"] + 2.0
    assert 0 < report.summary["night_only"]["blocks"] < 40


# -- download, against the local fake STAC service ------------------------------------------------------------

AREA = shapely.box(2.30, 48.80, 2.36, 48.84)  # WGS84
BOUNDS_L93 = (649_000.0, 6_855_000.0, 653_000.0, 6_859_000.0)


def _granule(folder, when, lst_c=18.0, cloudy_share=0.0, day=False):
    xs, ys = np.meshgrid(np.arange(645_000, 658_000, 1000.0), np.arange(6_862_000, 6_851_000, -1000.0))
    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(xs, ys)
    cloudy = np.zeros(xs.shape, dtype=bool)
    cloudy.flat[: int(cloudy_share * cloudy.size)] = True
    return write_slstr_granule(folder, lat, lon, np.full(xs.shape, lst_c + 273.15), when, cloudy=cloudy, day=day)


def _item(base, item_id, when, orbit, cloud, files):
    """A Planetary Computer sentinel-3-slstr-lst-l2-netcdf item: its asset keys, properties and local hrefs."""
    assets = {
        key: {"href": f"{base}/files/{files[key]}", "type": "application/x-netcdf", "roles": ["data"]}
        for key in ("lst-in", "slstr-geodetic-in", "slstr-flags-in")
    }
    assets["safe-manifest"] = {"href": f"{base}/files/absent/{item_id}/xfdumanifest.xml", "roles": ["metadata"]}
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": SLSTR_COLLECTION,
        "bbox": [-5.0, 42.0, 8.0, 51.0],
        "geometry": shapely.geometry.mapping(shapely.box(-5.0, 42.0, 8.0, 51.0)),
        "properties": {
            "datetime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "start_datetime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "platform": "Sentinel-3A",
            "sat:orbit_state": orbit,
            "eo:cloud_cover": cloud,
            "s3:productType": "SL_2_LST___",
        },
        "assets": assets,
        "links": [],
    }


def _services(tmp_path, base_holder):
    cases = [  # (id, UTC time, orbit, granule cloud %, local clouds, day flag)
        (
            "S3A_SL_2_LST____20230711T212000_night_clear",
            dt.datetime(2023, 7, 11, 21, 20, tzinfo=dt.UTC),
            "ascending",
            10.0,
            0.0,
            False,
        ),
        (
            "S3A_SL_2_LST____20230712T101000_day",
            dt.datetime(2023, 7, 12, 10, 10, tzinfo=dt.UTC),
            "descending",
            1.0,
            0.0,
            True,
        ),
        (
            "S3B_SL_2_LST____20230715T210500_night_cloudy",
            dt.datetime(2023, 7, 15, 21, 5, tzinfo=dt.UTC),
            "ascending",
            20.0,
            0.55,
            False,
        ),
        (
            "S3B_SL_2_LST____20230802T213000_night_clear",
            dt.datetime(2023, 8, 2, 21, 30, tzinfo=dt.UTC),
            "ascending",
            30.0,
            0.0,
            False,
        ),
    ]
    files, items = {}, []
    for item_id, when, orbit, cloud, local, day in cases:
        g = _granule(tmp_path / "served" / item_id, when, cloudy_share=local, day=day)
        names = {}
        for key, fname in (
            ("lst-in", "LST_in.nc"),
            ("slstr-geodetic-in", "geodetic_in.nc"),
            ("slstr-flags-in", "flags_in.nc"),
        ):
            files[f"{item_id}/{fname}"] = g / fname
            names[key] = f"{item_id}/{fname}"
        items.append((item_id, when, orbit, cloud, names))
    return files, items


def test_night_granules_are_chosen_downloaded_and_checked_offline(tmp_path):
    files, specs = _services(tmp_path, None)
    services = FakeServices(files=files)
    with LocalServer(services) as base:
        services.items[SLSTR_COLLECTION] = [_item(base, i, w, o, c, n) for i, w, o, c, n in specs]
        got = fetch_nights(
            AREA,
            2023,
            tmp_path / "scenes",
            BOUNDS_L93,
            "EPSG:2154",
            n_nights=5,
            stac_url=f"{base}/stac",
            cache_dir=tmp_path / "cache",
            policy=RetryPolicy(total=0, backoff_s=0.0),
        )
    names = sorted(p.split("/")[-1] for p in got.scenes)
    assert names == [
        "S3A_SL_2_LST____20230711T212000_night_clear.SEN3",
        "S3B_SL_2_LST____20230802T213000_night_clear.SEN3",
    ]
    assert list(got.skipped) == ["S3B_SL_2_LST____20230715T210500_night_cloudy"]
    assert "% de pixels clairs" in got.skipped["S3B_SL_2_LST____20230715T210500_night_cloudy"]
    assert services.count("/files/S3A_SL_2_LST____20230712T101000_day") == 0  # the day pass is never downloaded
    assert not list((tmp_path / "scenes").glob(".*"))  # no partial granule left


def test_night_items_keep_ascending_night_passes_least_clouded_first():
    base = "http://x"
    names = {k: "f" for k in ("lst-in", "slstr-geodetic-in", "slstr-flags-in")}
    items = [
        _item(base, "a", dt.datetime(2023, 7, 1, 21, 0, tzinfo=dt.UTC), "ascending", 50.0, names),
        _item(base, "b", dt.datetime(2023, 7, 2, 10, 0, tzinfo=dt.UTC), "descending", 0.0, names),
        _item(base, "c", dt.datetime(2023, 7, 3, 21, 0, tzinfo=dt.UTC), "ascending", 5.0, names),
        _item(base, "d", dt.datetime(2023, 7, 4, 12, 0, tzinfo=dt.UTC), "ascending", 1.0, names),  # ascending by day
    ]
    assert [i["id"] for i in night_items(items, 2.3)] == ["c", "a"]


def test_no_night_pass_and_offline_are_clear_errors(tmp_path):
    services = FakeServices()
    with LocalServer(services) as base:
        services.items[SLSTR_COLLECTION] = []
        with pytest.raises(NoSceneError, match="Aucun passage de nuit"):
            fetch_nights(
                AREA, 2023, tmp_path / "s", BOUNDS_L93, "EPSG:2154", stac_url=f"{base}/stac", cache_dir=tmp_path / "c"
            )
    with pytest.raises(ServiceUnavailableError):
        fetch_nights(
            AREA,
            2023,
            tmp_path / "s",
            BOUNDS_L93,
            "EPSG:2154",
            stac_url="http://127.0.0.1:9/stac",
            cache_dir=tmp_path / "c2",
            policy=RetryPolicy(total=0, backoff_s=0.0, timeout_s=(1.0, 1.0)),
        )
