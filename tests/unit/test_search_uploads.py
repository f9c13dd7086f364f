"""Offline search, the address API client against a local HTTP server, and upload safety."""

import io
import json
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ilots.search import GeocodingUnavailable, geocode_address, normalise, search_places, streets_from_roads
from ilots.uploads import Limits, UploadError, check_raster, safe_extract_zip, safe_name
from tests.conftest import write_tif


def test_normalise():
    assert normalise("Rue de l'Épée") == "rue de l epee"


def test_search_streets_and_block_names():
    blocks = gpd.GeoDataFrame(
        {"attr_nom_iris": ["Terreaux-Bât d'Argent", "Croix-Rousse"]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
        crs=2154,
        index=pd.Index(["A", "B"], name="block_id"),
    )
    roads = gpd.GeoDataFrame(
        {"nom": ["Rue Victor Hugo", "Rue Victor Hugo", "Quai Saint-Antoine", None]},
        geometry=[
            shapely.LineString([(0, 50), (50, 50)]),
            shapely.LineString([(50, 50), (90, 50)]),
            shapely.LineString([(150, 0), (150, 100)]),
            shapely.LineString([(0, 0), (1, 1)]),
        ],
        crs=2154,
    )
    streets = streets_from_roads(roads)
    assert sorted(streets["name"]) == ["Quai Saint-Antoine", "Rue Victor Hugo"]
    hits = search_places("victor hu", blocks, streets)
    assert hits[0]["label"] == "Rue Victor Hugo" and hits[0]["block_id"] == "A"
    assert search_places("quai st", blocks, streets)[0]["label"] == "Quai Saint-Antoine"  # « st » is « saint »
    assert search_places("saint antoine", blocks, streets)[0]["block_id"] == "B"
    assert search_places("terreaux", blocks, streets)[0]["block_id"] == "A"
    assert search_places("B", blocks, streets)[0]["block_id"] == "B"
    assert search_places("zzz", blocks, streets) == []


class _BAN(BaseHTTPRequestHandler):
    """A local stand-in for api-adresse.data.gouv.fr, answering in its documented GeoJSON shape."""

    calls: list = []
    release = threading.Event()  # a « slow » answer waits for it: set when the test is over, no fixed sleep

    def do_GET(self):  # noqa: N802
        _BAN.calls.append(self.path)
        if "panne" in self.path:
            self.send_response(503)
            self.end_headers()
            return
        if "lent" in self.path:
            _BAN.release.wait(timeout=30)
        body = {
            "type": "FeatureCollection",
            "version": "draft",
            "query": "8 bd du port",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [2.290084, 49.897443]},
                    "properties": {"label": "8 Boulevard du Port 80000 Amiens", "score": 0.49, "type": "housenumber"},
                }
            ],
        }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def ban():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BAN)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _BAN.release.clear()
    yield f"http://127.0.0.1:{server.server_port}/search/"
    _BAN.release.set()
    server.shutdown()


def test_geocode_against_local_server(ban):
    out = geocode_address("8 bd du port", near=(2.29, 49.89), base_url=ban)
    assert out[0]["label"].startswith("8 Boulevard du Port") and out[0]["lon"] == pytest.approx(2.290084)
    assert "lon=2.29000" in _BAN.calls[-1]
    with pytest.raises(GeocodingUnavailable):
        geocode_address("panne totale", base_url=ban)
    t0 = time.time()
    with pytest.raises(GeocodingUnavailable):
        geocode_address("rue lent", base_url=ban, timeout=0.3)
    assert time.time() - t0 < 1.4


def test_geocode_unreachable_fails_fast():
    t0 = time.time()
    with pytest.raises(GeocodingUnavailable, match="injoignable"):
        geocode_address("10 rue de la paix", base_url="http://127.0.0.1:9/search/", timeout=1.0)
    assert time.time() - t0 < 2


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("bad", ["../evil.txt", "/etc/passwd", "a/../../evil.txt", "C:/windows/evil.txt"])
def test_zip_with_unsafe_paths_is_refused(tmp_path, bad):
    archive = _zip(tmp_path / "up.zip", {"ok.txt": "fine", bad: "boom"})
    with pytest.raises(UploadError, match="chemin dangereux"):
        safe_extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_zip_with_symlink_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UploadError, match="lien symbolique"):
        safe_extract_zip(archive, tmp_path / "out")


def test_zip_bomb_is_refused(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", {"zeros.bin": b"\0" * (60 * 1024**2)})
    with pytest.raises(UploadError, match="bombe"):
        safe_extract_zip(archive, tmp_path / "out", Limits(max_ratio=100))


def test_good_zip_is_extracted(tmp_path):
    archive = _zip(tmp_path / "bd.zip", {"BDTOPO/BATI/BATIMENT.shp": b"x", "BDTOPO/readme.txt": "ok"})
    files = safe_extract_zip(archive, tmp_path / "out")
    assert sorted(f.name for f in files) == ["BATIMENT.shp", "readme.txt"]


def test_non_raster_tif_is_refused_with_a_clear_message(tmp_path):
    fake = tmp_path / "lst.tif"
    fake.write_text("<html>not a raster</html>")
    with pytest.raises(UploadError, match="lst.tif"):
        check_raster(fake)
    good = write_tif(tmp_path / "ok.tif", np.full((3, 3), 300.0), crs=2154)
    check_raster(good)


def test_safe_name():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\Users\\x\\LST 2022.tif") == "LST_2022.tif"
    assert safe_name(".hidden") == "fichier.hidden"


def test_the_search_example_is_a_search_that_works_in_this_territory():
    """Issue 17 §2: the placeholder of a search box names a real place of the territory shown, never another town's."""
    from ilots.search import example_query, search_places

    geoms = [shapely.box(i * 100, 0, i * 100 + 90, 90) for i in range(3)]
    blocks = gpd.GeoDataFrame(
        {"attr_nom_iris": ["Terreaux", "Pentes", "Bellecour"], "attr_score": [1.0, 2.0, 3.0]},
        geometry=geoms,
        crs=2154,
        index=pd.Index(["A1", "A2", "A3"], name="block_id"),
    )
    streets = gpd.GeoDataFrame(
        {"name": ["Rue Courte", "Avenue Longue"], "kind": ["rue", "rue"]},
        geometry=[shapely.LineString([(0, 45), (50, 45)]), shapely.LineString([(0, 50), (290, 50)])],
        crs=2154,
    )
    for s, expected in ((streets, "Avenue Longue"), (None, "Terreaux")):
        q = example_query(blocks, s)
        assert q == expected and search_places(q, blocks, s)
    bare = blocks[["geometry"]]
    assert example_query(bare) == "A1" and search_places("A1", bare)


def test_find_places_falls_back_to_the_address_service_and_says_why_not(ban):
    """Issue 13 §2: picking a block from an address is library code (ilots.search.find_places), tested here."""
    from pyproj import Transformer

    from ilots.search import find_places

    x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(2.290084, 49.897443)  # the BAN answer
    blocks = gpd.GeoDataFrame(
        {"attr_nom_iris": ["Port", "Gare"]},
        geometry=[shapely.box(x - 50, y - 50, x + 50, y + 50), shapely.box(x + 60, y - 50, x + 160, y + 50)],
        crs=2154,
        index=pd.Index(["P1", "G1"], name="block_id"),
    )
    bounds = (2.28, 49.89, 2.30, 49.90)
    hits, why = find_places("gare", blocks, None, bounds, address_api=None)
    assert hits[0]["block_id"] == "G1" and why is None  # offline, from the blocks' own names
    hits, why = find_places("8 bd du port", blocks, None, bounds, address_api=ban)
    assert hits == [{"label": "8 Boulevard du Port 80000 Amiens", "kind": "adresse", "block_id": "P1"}]
    hits, why = find_places("8 bd du port", blocks, None, bounds, address_api=None)
    assert hits == [] and "désactivé" in why and "noms de rues" in why
    hits, why = find_places("panne", blocks, None, bounds, address_api=ban)
    assert hits == [] and "injoignable" in why


class _Upload(io.BytesIO):
    """An uploaded file as the page receives it: bytes with a name and a size."""

    def __init__(self, name: str, data: bytes):
        super().__init__(data)
        self.name, self.size = name, len(data)


def test_uploads_become_build_inputs_or_one_french_sentence(tmp_path):
    """Issue 13 §2: the uploads-to-inputs step is library code (ilots.uploads.inputs_from_uploads), tested here."""
    from ilots.uploads import Limits, UploadError, UploadForm, inputs_from_uploads
    from tests.conftest import write_tif

    tif = write_tif(tmp_path / "lst.tif", np.full((8, 8), 40.0, dtype="float32"), nodata=-9999).read_bytes()
    blocks = gpd.GeoDataFrame({"code": ["a"]}, geometry=[shapely.box(0, 0, 8, 8)], crs=2154)
    blocks.to_file(tmp_path / "b.geojson")
    geojson = (tmp_path / "b.geojson").read_bytes()

    def form(**kw):
        base = {
            "name": "Essai",
            "lst_files": [_Upload("lst.tif", tif)],
            "blocks": _Upload("b.geojson", geojson),
            "blocks_id": "code",
        }
        return UploadForm(**{**base, **kw})

    for i, (kw, fragment) in enumerate(
        [
            ({"name": "  "}, "nom"),
            ({"lst_files": []}, "température"),
            ({"lst_files": [_Upload("notes.txt", b"x")]}, "Aucun raster"),
            ({"blocks": None}, "BD TOPO"),
            (
                {"bdtopo": _Upload("bd.zip", _zip(tmp_path / "bd.zip", {"lisez-moi.txt": b"x"}).read_bytes())},
                "est-ce bien la BD TOPO",
            ),
        ]
    ):
        work = tmp_path / f"w{i}"
        work.mkdir()
        with pytest.raises(UploadError, match=fragment):
            inputs_from_uploads(work, form(**kw))
    work = tmp_path / "small"
    work.mkdir()
    with pytest.raises(UploadError, match="taille maximale"):
        inputs_from_uploads(work, form(), Limits(max_upload_bytes=100))
    work = tmp_path / "ok"
    work.mkdir()
    inputs = inputs_from_uploads(work, form(lst_band=" 1 "))
    assert inputs.name == "Essai" and inputs.blocks_id == "code" and inputs.lst_bands == ["1"]
    assert [Path(p).name for p in inputs.lst] == ["lst.tif"] and Path(inputs.blocks).is_file()
