"""The floor of a territory build (issue 14 §2): the same inputs read and the same geometry and zonal work done
in one straight script, calling GDAL, GEOS, exactextract and scipy directly, with none of the build's checks,
provenance, progress or per-column bookkeeping. ``bench/build.py --floor`` runs it beside the build, each in a
fresh process, so their ratio is measured in one run.

    python bench/floor.py SRC OUT     # SRC: a folder of python -m ilots demo sources (generate_demo_sources)

What it computes for the blocks cut from the BD TOPO roads (the build's columns, by the same methods): the
surface temperature's mean, median, 90th percentile and valid share (Landsat ST_B10, QA-masked, on a 30 m
Lambert-93 grid), the NDVI mean (SR bands), the land-cover group shares (10 m), building coverage, height and
volume (footprints inside each block), the carriageway share, the nine thermal-footprint shares (each share
blurred like the thermal band, then averaged per block through coverage weights), the temperature off water,
the distances to water and to large green spaces, the residents and their shares (Filosofi 200 m squares,
area-weighted); then the blocks, the LST raster and the blocks × pixels weights are written. Its outputs are
not the product's (no manifest, no checks, no unknown-versus-zero care): only the work is the same.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def main(src: Path, out: Path) -> dict:
    t0 = time.process_time()
    import exactextract
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    import rasterio
    import scipy.sparse
    import shapely
    from exactextract.raster import NumPyRasterSource
    from pyproj import CRS
    from rasterio.enums import Resampling
    from rasterio.features import rasterize
    from rasterio.transform import from_origin
    from rasterio.warp import reproject, transform_bounds
    from scipy import ndimage

    from ilots.wkb_source import WkbSource  # exactextract's fastest public feature source (no xarray)

    t_imports = time.process_time() - t0
    stages: dict[str, float] = {}
    clock = [time.process_time(), None]

    def stage(name: str) -> None:
        """CPU time of the stage that ends here goes to the previous name."""
        now = time.process_time()
        if clock[1] is not None:
            stages[clock[1]] = round(now - clock[0], 2)
        clock[0], clock[1] = now, name

    crs = "EPSG:2154"
    scene = next((src / "landsat").iterdir())
    band = {p.name.rsplit("_", 1)[1].split(".")[0]: p for p in scene.iterdir()}  # B10, PIXEL, B4, B5, MTL

    with rasterio.open(band["B10"]) as ds:
        bounds = transform_bounds(ds.crs, crs, *ds.bounds)

    stage("vectors")
    # -- vector layers ------------------------------------------------------------------------------------------
    gpkg = src / "bdtopo_ilotville.gpkg"

    def layer(name):
        return pyogrio.read_dataframe(gpkg, layer=name, bbox=bounds, use_arrow=True).to_crs(crs)

    buildings, roads = layer("batiment"), layer("troncon_de_route")
    rail, water, veg = layer("troncon_de_voie_ferree"), layer("surface_hydrographique"), layer("zone_de_vegetation")
    buildings["geometry"] = shapely.force_2d(buildings.geometry.values)
    height = pd.to_numeric(buildings["hauteur"], errors="coerce")
    height = height.fillna(pd.to_numeric(buildings["nombre_d_etages"], errors="coerce") * 3.0).fillna(height.median())
    # the study area: the scene's footprint restricted to the BD TOPO roads and buildings (as the build does)
    vb = np.r_[roads.total_bounds, buildings.total_bounds].reshape(2, 4)
    area = shapely.box(
        max(bounds[0], vb[:, 0].min()),
        max(bounds[1], vb[:, 1].min()),
        min(bounds[2], vb[:, 2].max()),
        min(bounds[3], vb[:, 3].max()),
    )
    stage("rasters")
    # -- rasters on the working grids: LST and NDVI at 30 m, land cover at 10 m --------------------------------
    with rasterio.open(band["B10"]) as ds:
        src_crs, src_t = ds.crs, ds.transform
        dn = ds.read(1)
    with rasterio.open(band["PIXEL"]) as ds:
        qa = ds.read(1)
    clear = (dn > 0) & ((qa & 0b11111) == 0)
    kelvin = np.where(clear, dn * 0.00341802 + 149.0, np.nan).astype("float32")
    study = area.bounds  # the working grids cover the study area
    x0, y1 = np.floor(study[0] / 30) * 30, np.ceil(study[3] / 30) * 30
    w30, h30 = int(np.ceil((study[2] - x0) / 30)), int(np.ceil((y1 - study[1]) / 30))
    t30 = from_origin(x0, y1, 30.0, 30.0)

    def warp(values, src_transform, src_crs_, shape, transform, how):
        dst = np.full(shape, np.nan, dtype="float32")
        reproject(
            values,
            dst,
            src_transform=src_transform,
            src_crs=src_crs_,
            dst_transform=transform,
            dst_crs=crs,
            src_nodata=np.nan,
            dst_nodata=np.nan,
            resampling=how,
        )
        return dst

    lst = warp(kelvin - 273.15, src_t, src_crs, (h30, w30), t30, Resampling.bilinear)
    with rasterio.open(band["B4"]) as ds:
        red = ds.read(1).astype("float32") * 2.75e-5 - 0.2
    with rasterio.open(band["B5"]) as ds:
        nir = ds.read(1).astype("float32") * 2.75e-5 - 0.2
    ndvi_src = np.where(clear, (nir - red) / np.maximum(nir + red, 1e-6), np.nan).astype("float32")
    ndvi = warp(ndvi_src, src_t, src_crs, (h30, w30), t30, Resampling.bilinear)
    with rasterio.open(src / "worldcover_ilotville_10m.tif") as ds:
        lc_src, lc_t, lc_crs = ds.read(1), ds.transform, ds.crs
    t10 = from_origin(x0, y1, 10.0, 10.0)
    lc = np.zeros((h30 * 3, w30 * 3), dtype="uint8")
    reproject(
        lc_src,
        lc,
        src_transform=lc_t,
        src_crs=lc_crs,
        dst_transform=t10,
        dst_crs=crs,
        src_nodata=0,
        dst_nodata=0,
        resampling=Resampling.nearest,
    )

    stage("blocks")
    keep = ~roads["nature"].str.lower().isin(["sentier", "escalier", "piste cyclable"]).to_numpy()
    network = shapely.union_all(np.r_[roads.geometry.values[keep], [area.boundary]])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(network)))
    splitters = np.r_[rail.geometry.values, shapely.boundary(water.geometry.values)]
    crossing, face = shapely.STRtree(faces).query(splitters, predicate="intersects")
    split = np.unique(face)
    parts = []
    for i in split:
        around = shapely.buffer(faces[i], 0.01)
        lines = shapely.union_all(
            np.append(shapely.intersection(around, splitters[crossing[face == i]]), shapely.boundary(faces[i]))
        )
        cut = shapely.get_parts(shapely.polygonize([lines]))
        parts.append(cut[shapely.covered_by(cut, around)])
    faces = np.concatenate([np.delete(faces, split), *parts])
    faces = faces[shapely.contains(area, shapely.point_on_surface(faces))]
    a, p = shapely.area(faces), shapely.length(faces)
    blocks = faces[(a >= 500) & (2 * a / p >= 10)]
    water_union = shapely.union_all(water.geometry.values)
    blocks = blocks[shapely.area(shapely.intersection(blocks, water_union)) <= 0.5 * shapely.area(blocks)]
    n = len(blocks)
    gdf = gpd.GeoDataFrame({"block_id": [f"I{i:05d}" for i in range(n)]}, geometry=blocks, crs=crs)
    out_cols: dict[str, np.ndarray] = {"area_m2": shapely.area(blocks)}

    stage("zonal statistics")
    # -- zonal statistics (exactextract on in-memory rasters) ---------------------------------------------------
    vec = WkbSource(blocks, CRS.from_user_input(crs).to_wkt())

    def zonal(values, transform, ops, nodata=None) -> pd.DataFrame:
        h, w = values.shape
        x, y = transform.c, transform.f
        raster = NumPyRasterSource(
            values, x, y - transform.a * h, x + transform.a * w, y, nodata=nodata, srs_wkt=vec.srs_wkt()
        )
        df = exactextract.exact_extract(raster, vec, ops, output="pandas", include_cols=["_row"])
        return df.sort_values("_row").reset_index(drop=True)

    stats = zonal(lst, t30, ["mean", "median", "quantile(q=0.9)", "count"])
    out_cols["lst_mean_c"], out_cols["lst_median_c"] = stats["mean"].to_numpy(), stats["median"].to_numpy()
    out_cols["lst_p90_c"] = stats["quantile_90"].to_numpy()
    out_cols["lst_valid_frac"] = stats["count"].to_numpy() * 900.0 / out_cols["area_m2"]
    out_cols["ndvi_mean"] = zonal(ndvi, t30, ["mean"])["mean"].to_numpy()
    groups = {"tree_frac": [10], "grass_frac": [30, 40], "built_frac": [50], "water_frac": [80], "bare_frac": [60]}
    fr = zonal(lc, t10, ["unique", "frac"], nodata=0)
    for col, codes in groups.items():
        out_cols[col] = np.array(
            [
                sum(f for u, f in zip(us, fs, strict=True) if u in codes)
                for us, fs in zip(fr["unique"], fr["frac"], strict=True)
            ]
        )

    stage("buildings and carriageways")
    # -- buildings and carriageways inside each block -----------------------------------------------------------
    tree = shapely.STRtree(blocks)
    li, bi = tree.query(buildings.geometry.values, predicate="intersects")
    pieces, whole = buildings.geometry.values[li], blocks[bi]
    b_area = shapely.area(pieces)
    cross = ~shapely.contains_properly(whole, pieces)
    b_area[cross] = shapely.area(shapely.intersection(pieces[cross], whole[cross]))
    foot = np.bincount(bi, weights=b_area, minlength=n)
    vol = np.bincount(bi, weights=b_area * height.to_numpy()[li], minlength=n)
    out_cols["building_coverage"], out_cols["building_height_m"] = (
        foot / out_cols["area_m2"],
        vol / np.maximum(foot, 1e-9),
    )
    out_cols["built_volume_m3_per_m2"] = vol / out_cols["area_m2"]
    carriageways = shapely.buffer(
        roads.geometry.values, roads["largeur_de_chaussee"].fillna(5.0).to_numpy() / 2, cap_style="flat"
    )
    li, bi = tree.query(carriageways, predicate="intersects")
    pieces = shapely.intersection(carriageways[li], blocks[bi])
    order = np.argsort(bi, kind="stable")
    bi, pieces = bi[order], pieces[order]
    starts = np.flatnonzero(np.r_[True, bi[1:] != bi[:-1]])
    road = np.zeros(n)
    for s, e in zip(starts, np.r_[starts[1:], len(bi)], strict=True):
        road[bi[s]] = shapely.area(shapely.union_all(pieces[s:e]))
    out_cols["road_frac"] = road / out_cols["area_m2"]
    out_cols["impervious_frac"] = np.clip(out_cols["building_coverage"] + out_cols["road_frac"], 0, 1)

    stage("thermal footprint")

    # -- thermal footprint: shares on the 10 m grid blurred (σ 42.5 m), averaged per block by coverage weights --
    def weights(shape, transform):
        cov = zonal(np.zeros(shape, dtype="float32"), transform, ["cell_id", "coverage"])
        rows = np.repeat(np.arange(n), [len(c) for c in cov["cell_id"]])
        cells = np.concatenate(cov["cell_id"].to_list()).astype("int64")
        cover = np.concatenate(cov["coverage"].to_list())
        return scipy.sparse.csr_matrix((cover, (rows, cells)), shape=(n, shape[0] * shape[1]))

    norms: dict[bytes, np.ndarray] = {}  # the blurred valid mask, once per distinct mask

    def blurred_mean(share, matrix, res):
        ok = np.isfinite(share)
        s = 42.5 / res
        num = ndimage.gaussian_filter(np.where(ok, share, 0.0), s, mode="constant", truncate=4.0)
        key = np.packbits(ok).tobytes()
        if key not in norms:
            norms[key] = ndimage.gaussian_filter(ok.astype("float64"), s, mode="constant", truncate=4.0)
        den = norms[key]
        blurred = np.where(ok & (den > 1e-6), num / np.maximum(den, 1e-12), 0.0).ravel()
        return (matrix @ blurred) / np.maximum(matrix @ (ok.ravel() * 1.0), 1e-12)

    w10, w30_ = weights(lc.shape, t10), weights(lst.shape, t30)
    shares = {col: np.isin(lc, codes).astype("float32") for col, codes in groups.items()}
    small = shapely.area(buildings.geometry.values) <= 900
    bshare = np.zeros(lc.shape, dtype="float32")
    c = shapely.get_coordinates(shapely.centroid(buildings.geometry.values[small]))
    col_, row_ = ((c[:, 0] - x0) // 10).astype(int), ((y1 - c[:, 1]) // 10).astype(int)
    inside = (col_ >= 0) & (col_ < lc.shape[1]) & (row_ >= 0) & (row_ < lc.shape[0])
    np.add.at(bshare, (row_[inside], col_[inside]), (shapely.area(buildings.geometry.values[small]) / 100)[inside])
    fine_t = t10 * t10.scale(0.25, 0.25)
    big = rasterize(buildings.geometry.values[~small], out_shape=(lc.shape[0] * 4, lc.shape[1] * 4), transform=fine_t)
    shares["building_coverage"] = bshare + big.reshape(lc.shape[0], 4, lc.shape[1], 4).mean(axis=(1, 3))
    fine = rasterize(carriageways, out_shape=(lc.shape[0] * 4, lc.shape[1] * 4), transform=fine_t)
    shares["road_frac"] = fine.reshape(lc.shape[0], 4, lc.shape[1], 4).mean(axis=(1, 3), dtype="float32")
    shares["impervious_frac"] = np.clip(shares["building_coverage"] + shares["road_frac"], 0, 1)
    for col, share in shares.items():
        out_cols[col + "_fp"] = blurred_mean(share, w10, 10.0)
    out_cols["ndvi_mean_fp"] = blurred_mean(ndvi, w30_, 30.0)

    stage("off water, distances, population")
    # -- temperature off water, distances, population ----------------------------------------------------------
    wet = rasterize(water.geometry.values, out_shape=(h30 * 4, w30 * 4), transform=t30 * t30.scale(0.25, 0.25))
    land = np.where(wet.reshape(h30, 4, w30, 4).mean(axis=(1, 3)) >= 0.5, np.nan, lst).astype("float32")
    out_cols["lst_land_c"] = zonal(land, t30, ["mean"])["mean"].to_numpy()
    green = shapely.get_parts(shapely.union_all(veg.geometry.values))
    green = green[shapely.area(green) >= 10_000]
    for col, targets in (("dist_water_m", water.geometry.values), ("dist_green_m", green)):
        (_, _), dist = shapely.STRtree(targets).query_nearest(blocks, return_distance=True, all_matches=False)
        out_cols[col] = dist
    pop = pd.read_csv(src / "filosofi_200m_ilotville.csv")
    ids = pop.filter(regex="(?i)idcar").iloc[:, 0].str.extract(r"N(\d+)E(\d+)").astype(float)
    squares = gpd.GeoSeries(shapely.box(ids[1], ids[0], ids[1] + 200, ids[0] + 200), crs=3035).to_crs(crs).values
    si, bi = tree.query(squares, predicate="intersects")
    share = shapely.area(shapely.intersection(squares[si], blocks[bi])) / shapely.area(squares[si])
    ind = pd.to_numeric(pop.filter(regex="(?i)^ind$").iloc[:, 0], errors="coerce").to_numpy()
    old = pd.to_numeric(pop.filter(regex="(?i)ind_65|ind_80").sum(axis=1), errors="coerce").to_numpy()
    out_cols["residents"] = np.bincount(bi, weights=share * ind[si], minlength=n)
    out_cols["elderly_share"] = np.bincount(bi, weights=share * old[si], minlength=n) / np.maximum(
        out_cols["residents"], 1e-9
    )

    stage("outputs")
    # -- outputs --------------------------------------------------------------------------------------------
    out.mkdir(parents=True, exist_ok=True)
    for k, v in out_cols.items():
        gdf[k] = np.asarray(v, dtype="float64")
    gdf.to_parquet(out / "blocks.parquet")
    with rasterio.open(
        out / "lst.tif",
        "w",
        driver="GTiff",
        width=w30,
        height=h30,
        count=1,
        dtype="float32",
        crs=crs,
        transform=t30,
        nodata=np.nan,
        compress="deflate",
    ) as ds:
        ds.write(lst, 1)
    w30_coo = w30_.tocoo()
    np.savez_compressed(out / "coverage.npz", rows=w30_coo.row, cols=w30_coo.col, cover=w30_coo.data)
    stage("")
    return {"n_blocks": n, "imports_cpu_s": round(t_imports, 2), "cpu_s": round(time.process_time() - t0, 2), **stages}


if __name__ == "__main__":
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
