"""A small fake commune ("Îlotville", INSEE 37999) behind the fake services of tests/fetchserver.py.

Built from the synthetic demo town (ilots.demo): its BD TOPO layers become WFS feature types,
its Landsat scene becomes four Planetary Computer items on different dates whose clouds over
the commune disagree with their scene-wide ``eo:cloud_cover`` (so ranking must read QA_PIXEL),
and its land cover becomes two WorldCover tiles (west and east halves) served as
cloud-optimised GeoTIFFs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import rasterio.shutil
import shapely
from rasterio.windows import Window

from ilots.demo import PRODUCT_ID, generate_demo_sources
from tests.fetchserver import FakeServices, landsat_item, recorded_item, worldcover_item

CODE = "37999"
NAME = "Îlotville"


@dataclass(frozen=True)
class Variant:
    product_id: str
    date: str
    platform: str
    scene_cloud: float  # eo:cloud_cover, scene-wide (%)
    cloud_over_town: float  # share of the window's rows set to cloud in QA_PIXEL
    warm: float  # °C added to the demo temperatures


VARIANTS = (
    Variant("LC09_L2SP_199027_20230705_20230706_02_T1", "2023-07-05", "landsat-9", 2.0, 0.7, 0.0),
    Variant("LC08_L2SP_199027_20230713_20230714_02_T1", "2023-07-13", "landsat-8", 48.0, 0.0, 1.0),
    Variant("LC09_L2SP_199027_20230822_20230823_02_T1", "2023-08-22", "landsat-9", 12.0, 0.05, 0.0),
    Variant("LC08_L2SP_199027_20230830_20230831_02_T1", "2023-08-30", "landsat-8", 30.0, 0.35, -1.0),
    # Earlier summers, for the monitoring's several years (python -m ilots monitor --fetch-years).
    Variant("LC08_L2SP_199027_20210715_20210716_02_T1", "2021-07-15", "landsat-8", 5.0, 0.0, 0.5),
    Variant("LC08_L2SP_199027_20220720_20220721_02_T1", "2022-07-20", "landsat-8", 8.0, 0.0, 1.5),
)


def item_id(product_id: str) -> str:
    """Planetary Computer item ids drop the processing date."""
    parts = product_id.split("_")
    return "_".join(parts[:4] + parts[5:])


def _cog(src_profile: dict, data: np.ndarray, dst: Path, work: Path) -> Path:
    tmp = work / f"{dst.stem}.tmp.tif"
    with rasterio.open(tmp, "w", **{**src_profile, "driver": "GTiff", "count": 1}) as out:
        out.write(data, 1)
    rasterio.shutil.copy(tmp, dst, driver="COG", blocksize=64)
    tmp.unlink()
    return dst


def build_fake_world(folder: Path, base_url_placeholder: str = "{BASE}") -> tuple[FakeServices, Path]:
    """Services with the fake commune; item hrefs use ``{BASE}``, replaced by :func:`bind`."""
    src = generate_demo_sources(folder / "demo", size_km=2.0, seed=7)
    services = FakeServices()
    cogs = folder / "cogs"
    cogs.mkdir()
    for name in pyogrio.list_layers(src.bdtopo)[:, 0]:
        services.layers[f"BDTOPO_V3:{name}"] = gpd.read_file(src.bdtopo, layer=name)
    roads = services.layers["BDTOPO_V3:troncon_de_route"]
    town = shapely.box(*roads.total_bounds).buffer(-150.0, join_style="mitre")
    far = shapely.box(700_000, 6_600_000, 701_000, 6_601_000)  # 20 km away: no building there
    communes = gpd.GeoDataFrame(
        {
            "code_insee": [CODE, "37998", "41999", "37997"],
            "nom_officiel": [NAME, "Saint-Exemple", "Saint-Exemple", "Vide-sur-Loire"],
        },
        geometry=[town, town.buffer(-400), town.buffer(-600), far],
        crs=2154,
    ).to_crs(4326)
    services.communes = communes

    scene = src.landsat
    bands = {"lwir11": "ST_B10", "qa_pixel": "QA_PIXEL", "red": "SR_B4", "nir08": "SR_B5"}
    arrays, profiles = {}, {}
    for key, suffix in bands.items():
        with rasterio.open(scene / f"{PRODUCT_ID}_{suffix}.TIF") as ds:
            arrays[key], profiles[key] = ds.read(1), ds.profile
            bounds, epsg = ds.bounds, ds.crs.to_epsg()
    bbox = list(rasterio.warp.transform_bounds(epsg, 4326, *bounds))
    mtl = (scene / f"{PRODUCT_ID}_MTL.txt").read_text(encoding="utf-8")
    template = recorded_item("landsat-c2-l2")
    items = []
    for v in VARIANTS:
        files = {}
        for key, suffix in bands.items():
            data = arrays[key].copy()
            if key == "lwir11":
                valid = data > 0
                data[valid] = np.clip(data[valid].astype("int64") + round(v.warm / 0.00341802), 1, 65535).astype(
                    data.dtype
                )
            if key == "qa_pixel":
                rows = int(round(v.cloud_over_town * data.shape[0]))
                data[:rows] = 22280  # high-confidence cloud
            name = f"{v.product_id}_{suffix}.TIF"
            services.files[name] = _cog(profiles[key], data, cogs / name, folder)
            files[key] = name
        text = mtl.replace(PRODUCT_ID, v.product_id).replace("DATE_ACQUIRED = 2023-08-22", f"DATE_ACQUIRED = {v.date}")
        text = text.replace('SPACECRAFT_ID = "LANDSAT_9"', f'SPACECRAFT_ID = "{v.platform.upper().replace("-", "_")}"')
        (cogs / f"{v.product_id}_MTL.txt").write_text(text, encoding="utf-8")
        services.files[f"{v.product_id}_MTL.txt"] = cogs / f"{v.product_id}_MTL.txt"
        files["mtl.txt"] = f"{v.product_id}_MTL.txt"
        items.append(
            landsat_item(
                template,
                base=base_url_placeholder,
                item_id=item_id(v.product_id),
                product_id=v.product_id,
                date=v.date,
                platform=v.platform,
                cloud_cover=v.scene_cloud,
                bbox=bbox,
                epsg=epsg,
                files=files,
            )
        )
    # A Landsat 7 item of the same period: must be ignored (no lwir11; other sensor).
    l7 = json.loads(json.dumps(items[0]))
    l7["id"], l7["properties"]["platform"] = "LE07_L2SP_199027_20230710_02_T1", "landsat-7"
    items.append(l7)
    services.items["landsat-c2-l2"] = items

    wc_template = recorded_item("esa-worldcover")
    with rasterio.open(src.landcover) as ds:
        lc, profile, w = ds.read(1), ds.profile, ds.width
        tiles = []
        for k, (c0, c1) in enumerate(((0, w // 2), (w // 2, w))):
            win = Window(c0, 0, c1 - c0, ds.height)
            prof = {**profile, "width": c1 - c0, "height": ds.height, "transform": ds.window_transform(win)}
            name = f"ESA_WorldCover_10m_2021_v200_FAKE{k}_Map.tif"
            services.files[name] = _cog(prof, lc[:, c0:c1], cogs / name, folder)
            tb = rasterio.windows.bounds(win, ds.transform)
            tiles.append(
                worldcover_item(
                    wc_template,
                    base=base_url_placeholder,
                    item_id=f"ESA_WorldCover_10m_2021_v200_FAKE{k}",
                    bbox=list(tb),
                    name=name,
                )
            )
    services.items["esa-worldcover"] = tiles
    return services, src.population


def bind(services: FakeServices, base: str) -> None:
    """Point every item href at the running server."""
    for items in services.items.values():
        for item in items:
            for asset in item["assets"].values():
                if "href" in asset:
                    asset["href"] = asset["href"].replace("{BASE}", base)
