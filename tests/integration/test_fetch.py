"""Fetching open data, offline: a local server on 127.0.0.1 plays the IGN WFS, the STAC API and blob storage.

The real HTTP (requests, pystac-client) and GDAL range-read code paths run; nothing leaves the machine.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from ilots.build import BuildInputs, build_territory
from ilots.cli import main
from ilots.errors import (
    AmbiguousInputError,
    EmptyLayerError,
    NoSceneError,
    ServiceUnavailableError,
    UnknownCommuneError,
)
from ilots.fetch import FetchRequest, acquire
from ilots.fetch.http import Downloader, RetryPolicy, write_atomic
from ilots.fetch.stac import download_window, select_landsat, sign_href
from ilots.fetch.wfs import commune_boundaries, get_features
from ilots.store import load_territory
from tests.conftest import ROOT
from tests.fakeworld import CODE, VARIANTS, item_id
from tests.fetchserver import FakeServices, LocalServer, recorded_item

FAST = RetryPolicy(total=3, connect=0, backoff_s=0.01, timeout_s=(2.0, 10.0))


@pytest.fixture
def world(fake_world):
    return fake_world


@pytest.fixture
def dl(tmp_path):
    return Downloader(tmp_path / "cache", FAST)


def _request(url, tmp_path, **kw) -> FetchRequest:
    return FetchRequest(
        communes=[CODE],
        year=2023,
        wfs_url=f"{url}/wfs",
        stac_url=f"{url}/stac/",
        cache_dir=tmp_path / "cache",
        policy=FAST,
        **kw,
    )


def _with(req: FetchRequest, **changes) -> FetchRequest:
    for k, v in changes.items():
        setattr(req, k, v)
    return req


def _points(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(3)
    xy = rng.uniform([600_000, 6_800_000], [601_000, 6_801_000], size=(n, 2))
    return gpd.GeoDataFrame(
        {"cleabs": [f"BATIMENT{i:016d}" for i in range(n)], "hauteur": rng.uniform(3, 20, n)},
        geometry=shapely.buffer(shapely.points(xy), 3.0),
        crs=2154,
    )


def test_wfs_pages_until_a_short_page_and_reads_every_feature(dl):
    services = FakeServices(layers={"BDTOPO_V3:batiment": _points(2345)})
    with LocalServer(services) as url:
        gdf = get_features(
            dl,
            "BDTOPO_V3:batiment",
            crs=gpd.GeoSeries(crs=2154).crs,
            bbox=(599_000, 6_799_000, 602_000, 6_802_000),
            wfs_url=f"{url}/wfs",
            page_size=1000,
        )
    assert len(gdf) == 2345 and gdf["cleabs"].is_unique
    starts = sorted(int(p.split("STARTINDEX=")[1].split("&")[0]) for _, p in services.log)
    assert starts == [0, 1000, 2000]  # the last page (345) is partial: no fourth request
    assert gdf.crs.to_epsg() == 2154


def test_wfs_retries_after_503_then_succeeds(dl):
    services = FakeServices(layers={"BDTOPO_V3:batiment": _points(10)}, fail={"/wfs": 2})
    with LocalServer(services) as url:
        gdf = get_features(dl, "BDTOPO_V3:batiment", crs=gpd.GeoSeries(crs=2154).crs, wfs_url=f"{url}/wfs")
    assert len(gdf) == 10
    assert services.count("/wfs") == 3  # two 503 answers, then the data


def test_wfs_gives_up_after_repeated_503_with_a_clear_sentence(dl):
    services = FakeServices(layers={"BDTOPO_V3:batiment": _points(10)}, fail={"/wfs": 50})
    with LocalServer(services) as url, pytest.raises(ServiceUnavailableError, match="erreur 503.*réessayez plus tard"):
        get_features(dl, "BDTOPO_V3:batiment", crs=gpd.GeoSeries(crs=2154).crs, wfs_url=f"{url}/wfs")
    assert services.count("/wfs") == 1 + FAST.total
    assert not list((dl.cache_dir / "wfs").glob("*.geojson")) if (dl.cache_dir / "wfs").exists() else True


def test_an_html_error_page_served_with_200_is_refused_and_not_cached(dl):
    services = FakeServices(layers={"BDTOPO_V3:batiment": _points(10)}, html_error={"/wfs"})
    with LocalServer(services) as url:
        with pytest.raises(ServiceUnavailableError, match="Maintenance en cours"):
            get_features(dl, "BDTOPO_V3:batiment", crs=gpd.GeoSeries(crs=2154).crs, wfs_url=f"{url}/wfs")
        services.html_error.clear()
        assert len(get_features(dl, "BDTOPO_V3:batiment", crs=gpd.GeoSeries(crs=2154).crs, wfs_url=f"{url}/wfs")) == 10


def test_cache_is_reused_without_a_second_request(tmp_path):
    services = FakeServices(layers={"BDTOPO_V3:batiment": _points(30)})
    with LocalServer(services) as url:
        for _ in range(2):  # a new Downloader each time, as a rerun of the command would
            dl = Downloader(tmp_path / "cache", FAST)
            assert (
                len(get_features(dl, "BDTOPO_V3:batiment", crs=gpd.GeoSeries(crs=2154).crs, wfs_url=f"{url}/wfs")) == 30
            )
        assert services.count("/wfs") == 1
        assert dl.provenance[-1]["cached"] is True and dl.provenance[-1]["url"].endswith("/wfs")
        assert dl.provenance[-1]["time"]  # the time of the original download is kept


def test_an_interrupted_download_leaves_no_cache_entry(dl):
    services = FakeServices()
    with LocalServer(services) as url, pytest.raises(ServiceUnavailableError):
        dl.fetch("wfs", f"{url}/truncated/page", ext="geojson")
    leftovers = [p for p in dl.cache_dir.rglob("*") if p.is_file()] if dl.cache_dir.exists() else []
    assert leftovers == []


def test_parts_left_by_a_killed_download_are_cleaned_up(tmp_path):
    import os
    import subprocess
    import sys

    # A process that dies (SIGKILL) while writing a cache entry leaves only its temporary file...
    code = (
        "import os, signal; from pathlib import Path; from ilots.fetch.http import write_atomic\n"
        "def half(tmp):\n    tmp.write_bytes(b'{\"features\": [')\n    os.kill(os.getpid(), signal.SIGKILL)\n"
        f"write_atomic(Path({str(tmp_path / 'cache' / 'wfs' / 'entry.geojson')!r}), half)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT))
    assert proc.returncode == -9
    left = list((tmp_path / "cache" / "wfs").iterdir())
    assert len(left) == 1 and left[0].name.startswith(".entry.geojson.part-")
    # ...never the entry itself; the next run removes it, and a part of a live process is kept.
    mine = tmp_path / "cache" / "wfs" / f".other.geojson.part-{os.getpid()}-abcd1234"
    mine.write_bytes(b"in progress")
    Downloader(tmp_path / "cache", FAST)
    assert list((tmp_path / "cache" / "wfs").iterdir()) == [mine]


def test_write_atomic_never_leaves_a_partial_file(tmp_path):
    target = tmp_path / "x" / "entry.json"

    def explode(tmp):
        tmp.write_bytes(b'{"half": ')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, explode)
    assert list(target.parent.iterdir()) == []
    write_atomic(target, lambda tmp: tmp.write_bytes(b"{}"))
    assert target.read_bytes() == b"{}" and [p.name for p in target.parent.iterdir()] == ["entry.json"]


def test_unreachable_service_fails_fast_with_one_sentence(tmp_path, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    code = main(
        [
            "fetch",
            "--quiet",
            "--commune",
            "37261",
            "--year",
            "2023",
            "--out",
            str(tmp_path / "t"),
            "--wfs-url",
            f"http://127.0.0.1:{port}/wfs",
            "--cache",
            str(tmp_path / "c"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and time.perf_counter() - t0 < 15
    assert err.count("\n") == 0 and "Impossible de joindre" in err and "python -m ilots build" in err
    assert not (tmp_path / "t").exists()


def test_commune_by_code_by_name_unknown_and_ambiguous(world, dl):
    _, url, _ = world
    assert list(commune_boundaries(dl, [CODE], f"{url}/wfs")["nom"]) == ["Îlotville"]
    assert list(commune_boundaries(dl, ["îlotville"], f"{url}/wfs")["code_insee"]) == [CODE]
    with pytest.raises(UnknownCommuneError, match="« 99999 »"):
        commune_boundaries(dl, ["99999"], f"{url}/wfs")
    with pytest.raises(AmbiguousInputError, match=r"Saint-Exemple \(37998\), Saint-Exemple \(41999\)"):
        commune_boundaries(dl, ["Saint-Exemple"], f"{url}/wfs")


def test_scenes_are_ranked_by_cloud_over_the_territory_not_scene_wide(world, dl):
    _, url, _ = world
    area = commune_boundaries(dl, [CODE], f"{url}/wfs").geometry.iloc[0]
    kept, candidates = select_landsat(dl, area, year=2023, n_scenes=3, max_cloud=0.2, stac_url=f"{url}/stac/")
    by_id = {c.item["id"]: c for c in candidates}
    clearest_scene_wide = item_id(VARIANTS[0].product_id)  # eo:cloud_cover 2 %, but clouds over the town
    assert by_id[clearest_scene_wide].cloud_fraction > 0.5 and clearest_scene_wide not in [k.item["id"] for k in kept]
    assert [k.product_id for k in kept] == [VARIANTS[1].product_id, VARIANTS[2].product_id]
    assert all(k.cloud_fraction <= 0.2 for k in kept)
    assert "LE07_L2SP_199027_20230710_02_T1" not in by_id  # Landsat 7 ignored
    with pytest.raises(NoSceneError, match="élargissez les mois"):
        select_landsat(dl, area, year=2023, max_cloud=0.01, stac_url=f"{url}/stac/")
    with pytest.raises(NoSceneError, match="Aucune scène Landsat 8/9"):
        select_landsat(dl, area, year=2019, stac_url=f"{url}/stac/")


def test_only_the_window_of_a_large_cog_is_requested(tmp_path, dl):
    big = tmp_path / "big.tif"
    arr = np.random.default_rng(0).integers(1, 60000, size=(3000, 3000), dtype="uint16")  # ~18 MB, incompressible
    with rasterio.open(
        big,
        "w",
        driver="COG",
        width=3000,
        height=3000,
        count=1,
        dtype="uint16",
        crs=32631,
        transform=from_origin(500_000, 5_300_000, 30, 30),
        nodata=0,
        blocksize=256,
        compress="deflate",
    ) as ds:
        ds.write(arr, 1)
    services = FakeServices(files={"big.tif": big})
    area = gpd.GeoSeries([shapely.box(530_000, 5_250_000, 533_000, 5_253_000)], crs=32631).to_crs(4326).iloc[0]
    with LocalServer(services) as url:
        path = download_window(dl, f"{url}/files/big.tif", area)
    sent = sum(int(r.split("-")[1]) - int(r.split("=")[1].split("-")[0]) + 1 for _, r in services.ranges if r)
    assert all(r for _, r in services.ranges)  # every read was a range request
    assert sent < big.stat().st_size / 10
    with rasterio.open(path) as ds:
        assert ds.crs.to_epsg() == 32631 and 100 <= ds.width <= 110
        row0 = int((5_300_000 - ds.bounds.top) / 30)
        col0 = int((ds.bounds.left - 500_000) / 30)
        assert np.array_equal(ds.read(1), arr[row0 : row0 + ds.height, col0 : col0 + ds.width])


def test_planetary_computer_hrefs_are_signed(monkeypatch, real_dir):
    import planetary_computer.settings as pcs

    item = recorded_item("landsat-c2-l2")
    href = item["assets"]["lwir11"]["href"]
    assert href.startswith("https://landsateuwest.blob.core.windows.net/")
    services = FakeServices()
    with LocalServer(services) as url:
        monkeypatch.setenv("PC_SDK_SAS_URL", f"{url}/sas")
        pcs.Settings.get.cache_clear()
        try:
            signed = sign_href(href)
        finally:
            pcs.Settings.get.cache_clear()
    assert signed.startswith(href + "?") and "sig=FAKE" in signed
    assert services.count("/sas/landsateuwest/landsat-c2") == 1
    assert sign_href("http://127.0.0.1:1/x.tif") == "http://127.0.0.1:1/x.tif"


def test_real_recorded_wfs_response_is_read(real_dir, dl):
    body = (real_dir / "formats" / "wfs" / "BDTOPO_V3_batiment_Lyon_getfeature.geojson").read_bytes()
    services = FakeServices(raw_pages={"BDTOPO_V3:batiment": body})
    with LocalServer(services) as url:
        gdf = get_features(dl, "BDTOPO_V3:batiment", crs=gpd.GeoSeries(crs=4326).crs, wfs_url=f"{url}/wfs")
    assert len(gdf) == 1532 and services.count("/wfs") == 1  # numberReturned < COUNT: one page
    assert gdf.geometry.has_z.all() and gdf["hauteur"].isna().sum() == 195
    lon, lat = gdf.geometry.iloc[0].centroid.coords[0][:2]
    assert 4.83 < lon < 4.85 and 45.76 < lat < 45.79


def test_fetch_end_to_end_builds_a_territory_that_info_describes(world, tmp_path, capsys, monkeypatch):
    services, url, population = world
    monkeypatch.setenv("ILOTS_WFS_URL", f"{url}/wfs")
    monkeypatch.setenv("ILOTS_STAC_URL", f"{url}/stac/")
    out = tmp_path / "ilotville"
    args = [
        "fetch",
        "--quiet",
        "--commune",
        CODE,
        "--year",
        "2023",
        "--out",
        str(out),
        "--cache",
        str(tmp_path / "cache"),
        "--population",
        str(population),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "13 juillet 2023" in printed and "22 août 2023" in printed and "batiment 4" in printed
    terr = load_territory(out)
    fetch = terr.manifest["fetch"]
    assert [s["date"] for s in fetch["scenes_kept"]] == ["2023-07-13", "2023-08-22"]
    assert terr.manifest["acquisition_dates"] == ["2023-07-13", "2023-08-22"]
    assert fetch["worldcover"]["items"] == ["ESA_WorldCover_10m_2021_v200_FAKE0", "ESA_WorldCover_10m_2021_v200_FAKE1"]
    assert fetch["bdtopo_counts"]["batiment"] > 1000
    # Issue 16 §1: the places of interest come with the download, and the facilities are read from them.
    assert fetch["bdtopo_counts"]["zone_d_activite_ou_d_interet"] >= 1
    from ilots.analysis import facilities_territory

    facilities, _ = facilities_territory(terr)
    assert len(facilities) >= 1 and set(facilities["source"]) == {"BD TOPO"}
    downloads = fetch["downloads"]
    assert {d["source"] for d in downloads} == {"wfs", "stac", "cog", "mtl"}
    assert all(d["url"].startswith(url) and d["time"] for d in downloads)
    assert any(d.get("item_id") == item_id(VARIANTS[1].product_id) for d in downloads)
    feats = terr.manifest["features"]
    for col in ("lst_mean_c", "building_coverage", "tree_frac", "ndvi_mean", "residents"):
        assert feats[col]["available"], col
    assert terr.blocks["lst_mean_c"].notna().mean() > 0.9
    # the study area is the commune: blocks lie inside its boundary (+ a little tolerance)
    area = gpd.read_file(out / "sources" / "communes.geojson").to_crs(terr.blocks.crs).geometry.iloc[0]
    assert terr.blocks.geometry.within(area.buffer(1.0)).mean() > 0.99

    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["name"] == "Îlotville" and info["n_blocks"] == len(terr.blocks)

    before = len(services.log)
    assert main(args) == 0  # a rerun takes everything from the cache
    assert len(services.log) == before
    assert "Téléchargements : 0" in capsys.readouterr().out


def _fetch_and_build(req, out):
    acq = acquire(req)
    return build_territory(acq.download, out, manifest_extra=acq.provenance)


def test_fetch_acquires_and_returns_the_inputs_with_their_provenance_without_building(world, tmp_path):
    _, url, _ = world
    seen = []
    acq = acquire(_request(url, tmp_path), lambda message, fraction: seen.append((message, fraction)))
    assert acq.name and len(acq.kept) >= 1 and len(acq.layers["batiment"]) > 0
    inputs = acq.download(tmp_path / "staging")
    assert isinstance(inputs, BuildInputs)
    assert Path(inputs.bdtopo).is_file() and Path(inputs.area).is_file()
    assert inputs.lst and all(any(Path(d).iterdir()) for d in inputs.lst)  # each scene with its bands
    assert not list((tmp_path / "staging").rglob("territory.json"))  # nothing built
    fetched = acq.provenance()["fetch"]
    assert [s["product_id"] for s in fetched["scenes_kept"]] == [c.product_id for c in acq.kept]
    assert fetched["downloads"] and all("url" in d for d in fetched["downloads"])
    fractions = [f for _, f in seen if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0  # one bar, moving forward only
    assert any("BD TOPO : bâtiments (" in m for m, _ in seen)


def test_fetch_errors_leave_an_existing_territory_untouched(world, tmp_path):
    _, url, _ = world
    out = tmp_path / "t"
    _fetch_and_build(_request(url, tmp_path), out)
    stamp = (out / "territory.json").read_bytes()
    with pytest.raises(EmptyLayerError, match="bâtiments"):
        _fetch_and_build(_with(_request(url, tmp_path), communes=["37997"]), out)
    with pytest.raises(NoSceneError):
        _fetch_and_build(_with(_request(url, tmp_path), months=(1, 2)), out)
    assert (out / "territory.json").read_bytes() == stamp
