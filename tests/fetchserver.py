"""A local stand-in for the IGN Géoplateforme WFS, the Planetary Computer STAC API and its blob storage.

It serves, on 127.0.0.1, responses in the documented shapes: WFS 2.0 GeoJSON pages
(``numberMatched``/``numberReturned``/``totalFeatures``, ``crs`` member, ``COUNT``/``STARTINDEX``
paging, ``BBOX`` and the two CQL filters Îlots sends), a STAC API landing page and ``POST
/search`` with paging, STAC items derived from the real Planetary Computer items recorded in
``shared/data/real/formats/stac`` (same asset keys and raster metadata, local hrefs), and files
with HTTP range requests so GDAL's ``/vsicurl/`` reads cloud-optimised GeoTIFFs as it would from
Azure. Failures can be injected: a number of 503 answers, an HTML error page.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import pandas as pd
import shapely

from tests.conftest import ROOT

FORMATS = ROOT.parent / "shared" / "data" / "real" / "formats"

# Minimal copies of the recorded item shapes, used when shared/ is absent (newcomer clone):
# the asset keys and raster:bands the code reads are the recorded ones.
_FALLBACK_LANDSAT = {
    "type": "Feature",
    "stac_version": "1.0.0",
    "id": "",
    "properties": {},
    "geometry": None,
    "bbox": [],
    "links": [],
    "collection": "landsat-c2-l2",
    "assets": {
        "lwir11": {
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data", "temperature"],
            "raster:bands": [
                {
                    "unit": "kelvin",
                    "scale": 0.00341802,
                    "nodata": 0,
                    "offset": 149.0,
                    "data_type": "uint16",
                    "spatial_resolution": 30,
                }
            ],
        },
        "qa_pixel": {
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["cloud", "cloud-shadow"],
            "raster:bands": [{"unit": "bit index", "nodata": 1, "data_type": "uint16"}],
        },
        "red": {
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data"],
            "raster:bands": [{"scale": 2.75e-05, "nodata": 0, "offset": -0.2, "data_type": "uint16"}],
        },
        "nir08": {
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data"],
            "raster:bands": [{"scale": 2.75e-05, "nodata": 0, "offset": -0.2, "data_type": "uint16"}],
        },
        "mtl.txt": {"type": "text/plain", "roles": ["metadata"]},
    },
}


def recorded_item(collection: str) -> dict:
    """The first item of the recorded Planetary Computer response for ``collection`` (or a fallback)."""
    path = FORMATS / "stac" / f"{collection}_items_limit1_response.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))["features"][0]
    if collection == "landsat-c2-l2":
        return copy.deepcopy(_FALLBACK_LANDSAT)
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "",
        "collection": collection,
        "links": [],
        "properties": {
            "datetime": None,
            "start_datetime": "2021-01-01T00:00:00Z",
            "end_datetime": "2021-12-31T23:59:59Z",
            "esa_worldcover:product_version": "2.0.0",
        },
        "assets": {
            "map": {
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "raster:bands": [{"nodata": 0, "data_type": "uint8"}],
            }
        },
    }


@dataclass
class FakeServices:
    """The data behind the fake services, and what was asked of them."""

    communes: gpd.GeoDataFrame | None = None  # EPSG:4326, code_insee, nom_officiel
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)  # typename -> features
    raw_pages: dict[str, bytes] = field(default_factory=dict)  # typename -> body served verbatim
    items: dict[str, list[dict]] = field(default_factory=dict)  # collection -> STAC items
    files: dict[str, Path] = field(default_factory=dict)  # name under /files/ -> local path
    fail: dict[str, int] = field(default_factory=dict)  # path prefix -> number of 503 answers left
    html_error: set[str] = field(default_factory=set)  # path prefixes answered by an HTML page (status 200)
    page_limit: int = 100  # STAC page size
    log: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query)
    ranges: list[tuple[str, str]] = field(default_factory=list)  # (file, Range header) of each GET of a file
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, fragment: str, method: str | None = None) -> int:
        with self.lock:
            return sum(1 for m, p in self.log if fragment in p and (method is None or m == method))


class _Handler(BaseHTTPRequestHandler):
    services: FakeServices
    base: str

    def log_message(self, *args) -> None:  # quiet
        return None

    # -- helpers
    def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj, status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), "application/json")

    def _injected(self) -> bool:
        s = self.services
        with s.lock:
            s.log.append((self.command, self.path))
            for prefix, left in list(s.fail.items()):
                if self.path.startswith(prefix) and left > 0:
                    s.fail[prefix] = left - 1
                    break
            else:
                prefix = None
        if prefix is not None:
            self._send(503, b"<html><title>503 Service Unavailable</title></html>", "text/html", {"Retry-After": "0"})
            return True
        if any(self.path.startswith(p) for p in s.html_error):
            self._send(
                200,
                b"<html><head><title>Maintenance en cours</title></head><body>Service indisponible</body></html>",
                "text/html",
            )
            return True
        return False

    # -- routes
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if self._injected():
            return
        url = urlsplit(self.path)
        if url.path == "/wfs":
            return self._wfs({k.upper(): v[0] for k, v in parse_qs(url.query).items()})
        if url.path.rstrip("/") == "/stac":
            return self._landing()
        if url.path.startswith("/files/"):
            return self._file(url.path[len("/files/") :])
        if url.path.startswith("/sas/"):  # Planetary Computer token endpoint: /sas/<account>/<container>
            return self._json(
                {"msft:expiry": "2099-01-01T00:00:00Z", "token": "st=2026-11-25&se=2099-01-01&sp=rl&sig=FAKE"}
            )
        if url.path.startswith("/truncated/"):  # announces more bytes than it sends, then closes
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b'{"type": "FeatureCollection", "features": [')
            self.wfile.flush()
            self.close_connection = True
            return None
        self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self._injected():
            return
        if urlsplit(self.path).path == "/stac/search":
            return self._search(body)
        self._send(404, b"not found", "text/plain")

    def _file(self, name: str) -> None:
        path = self.services.files.get(name)
        if path is None:
            return self._send(404, b"not found", "text/plain")
        data = path.read_bytes()
        rng = self.headers.get("Range")
        if self.command == "GET":
            with self.services.lock:
                self.services.ranges.append((name, rng or ""))
        if rng:
            m = re.match(r"bytes=(\d+)-(\d*)", rng)
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else len(data) - 1, len(data) - 1)
            return self._send(
                206,
                data[start : end + 1],
                "image/tiff",
                {"Content-Range": f"bytes {start}-{end}/{len(data)}", "Accept-Ranges": "bytes"},
            )
        self._send(200, data, "application/octet-stream", {"Accept-Ranges": "bytes"})

    def _wfs(self, q: dict) -> None:
        typename = q.get("TYPENAMES") or q.get("TYPENAME")
        s = self.services
        if typename in s.raw_pages:
            return self._send(200, s.raw_pages[typename], "application/json")
        gdf = s.communes if typename == "ADMINEXPRESS-COG.LATEST:commune" else s.layers.get(typename)
        if gdf is None:
            body = (
                f'<?xml version="1.0"?><ows:ExceptionReport><ows:Exception exceptionCode="InvalidParameterValue">'
                f"<ows:ExceptionText>Unknown type name {typename}</ows:ExceptionText></ows:Exception>"
                "</ows:ExceptionReport>"
            ).encode()
            return self._send(400, body, "text/xml")
        epsg = int(re.search(r"(\d+)$", q.get("SRSNAME", "4326")).group(1))
        cql = q.get("CQL_FILTER")
        if cql:
            m = re.match(r"(\w+)\s*(=|ILIKE)\s*'((?:[^']|'')*)'$", cql.strip())
            col, op, value = m.group(1), m.group(2), m.group(3).replace("''", "'")
            vals = gdf[col].astype(str)
            gdf = gdf[vals.str.lower() == value.lower()] if op == "ILIKE" else gdf[vals == value]
        if "BBOX" in q:
            parts = q["BBOX"].split(",")
            box_epsg = int(re.search(r"(\d+)$", parts[4]).group(1)) if len(parts) > 4 else 4326
            box = gpd.GeoSeries([shapely.box(*map(float, parts[:4]))], crs=box_epsg).to_crs(gdf.crs).iloc[0]
            gdf = gdf[gdf.intersects(box)]
        count, start = int(q.get("COUNT", 1_000_000)), int(q.get("STARTINDEX", 0))
        page = gdf.iloc[start : start + count].to_crs(epsg)
        doc = json.loads(page.to_json(drop_id=True)) if len(page) else {"type": "FeatureCollection", "features": []}
        name = typename.split(":")[-1]
        for i, feat in enumerate(doc["features"]):
            feat["id"] = f"{name}.{start + i + 1}"
            feat["geometry_name"] = "geometrie"
        doc.update(
            {
                "totalFeatures": len(gdf),
                "numberMatched": len(gdf),
                "numberReturned": len(page),
                "timeStamp": "2026-11-25T12:00:00.000Z",
                "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}},
            }
        )
        self._json(doc)

    def _landing(self) -> None:
        self._json(
            {
                "type": "Catalog",
                "id": "fake-pc",
                "stac_version": "1.0.0",
                "description": "Fake Planetary Computer",
                "conformsTo": [
                    "https://api.stacspec.org/v1.0.0/core",
                    "https://api.stacspec.org/v1.0.0/item-search",
                    "https://api.stacspec.org/v1.0.0/item-search#query",
                    "http://www.opengis.net/spec/ogcapi-features-1/conf/core",
                    "https://api.stacspec.org/v1.0.0/collections",
                ],
                "links": [
                    {"rel": "self", "href": f"{self.base}/stac/", "type": "application/json"},
                    {"rel": "root", "href": f"{self.base}/stac/", "type": "application/json"},
                    {
                        "rel": "search",
                        "href": f"{self.base}/stac/search",
                        "type": "application/geo+json",
                        "method": "POST",
                    },
                    {
                        "rel": "search",
                        "href": f"{self.base}/stac/search",
                        "type": "application/geo+json",
                        "method": "GET",
                    },
                ],
            }
        )

    def _search(self, body: dict) -> None:
        s = self.services
        items = [i for c in body.get("collections", []) for i in s.items.get(c, [])]
        if body.get("bbox"):
            box = shapely.box(*body["bbox"])
            items = [i for i in items if shapely.box(*i["bbox"]).intersects(box)]
        if body.get("datetime"):
            lo, hi = body["datetime"].split("/")
            items = [
                i for i in items if i["properties"].get("datetime") is None or lo <= i["properties"]["datetime"] <= hi
            ]
        platforms = (body.get("query") or {}).get("platform", {}).get("in")
        if platforms:
            items = [i for i in items if i["properties"].get("platform") in platforms]
        start = int(body.get("token", "0") or 0)
        limit = min(int(body.get("limit", s.page_limit)), s.page_limit)
        page = items[start : start + limit]
        links = []
        if start + limit < len(items):
            links.append(
                {
                    "rel": "next",
                    "href": f"{self.base}/stac/search",
                    "method": "POST",
                    "body": {**body, "token": str(start + limit)},
                    "type": "application/geo+json",
                }
            )
        self._json(
            {
                "type": "FeatureCollection",
                "features": page,
                "links": links,
                "context": {"returned": len(page), "limit": limit, "matched": len(items)},
            }
        )


class LocalServer:
    """A :class:`FakeServices` served on ``127.0.0.1`` in a thread (``with LocalServer(s) as url:``)."""

    def __init__(self, services: FakeServices):
        self.services = services
        handler = type("Handler", (_Handler,), {"services": services})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        handler.base = self.url
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return self.url

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def landsat_item(
    template: dict,
    *,
    base: str,
    item_id: str,
    product_id: str,
    date: str,
    platform: str,
    cloud_cover: float,
    bbox: list[float],
    epsg: int,
    files: dict[str, str],
) -> dict:
    """A Planetary Computer landsat-c2-l2 item shaped like ``template`` with local asset hrefs."""
    item = copy.deepcopy(template)
    item["id"] = item_id
    item["bbox"] = bbox
    item["geometry"] = shapely.geometry.mapping(shapely.box(*bbox))
    props = item.setdefault("properties", {})
    props.update(
        {
            "datetime": f"{date}T10:47:12.123456Z",
            "platform": platform,
            "eo:cloud_cover": cloud_cover,
            "proj:epsg": epsg,
            "landsat:scene_id": item_id,
        }
    )
    for key, name in files.items():
        item["assets"].setdefault(key, {})["href"] = f"{base}/files/{name}"
    for key, asset in item["assets"].items():
        if key not in files:  # never read by Îlots; keep the recorded shape, point it nowhere
            asset["href"] = f"{base}/files/absent/{product_id}_{key}"
    return item


def worldcover_item(template: dict, *, base: str, item_id: str, bbox: list[float], name: str) -> dict:
    item = copy.deepcopy(template)
    item["id"] = item_id
    item["bbox"] = bbox
    item["geometry"] = shapely.geometry.mapping(shapely.box(*bbox))
    item["assets"]["map"]["href"] = f"{base}/files/{name}"
    for key, asset in item["assets"].items():
        if key != "map":
            asset["href"] = f"{base}/files/absent/{item_id}_{key}"
    return item


def concat(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=frames[0].crs)
