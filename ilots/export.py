"""Exports of a territory's blocks: GeoPackage for QGIS users, CSV for spreadsheets.

The GeoPackage holds one layer ``ilots`` in the working CRS (Lambert-93 in metropolitan France)
with every feature, prediction and risk column. The CSV follows French spreadsheet conventions:
``;`` as separator, ``,`` as decimal mark, UTF-8 with a byte-order mark (so Excel opens accents
correctly), coordinates as the block's representative point in WGS84 (``lon``, ``lat``).
"""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import pandas as pd

__all__ = ["LAYER_NAME", "export_table", "plain_columns", "to_geopackage", "geopackage_bytes", "to_csv_bytes"]

LAYER_NAME = "ilots"
_MODEL_COLUMNS = [
    "lst_pred_c",
    "lst_pred_lo_c",
    "lst_pred_hi_c",
    "residual_c",
    "lst_source",
    "anomaly_c",
    "risk_score",
    "risk_class",
    "risk_label",
    "explanation",
]


def export_table(blocks: gpd.GeoDataFrame, model_table: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """Blocks with their features and, when fitted, predictions, risk and explanation."""
    out = blocks.copy()
    if model_table is not None:
        cols = [c for c in _MODEL_COLUMNS if c in model_table and c not in out.columns]
        out = out.join(model_table[cols])
    return plain_columns(out.reset_index())


def plain_columns(out: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """GeoPackage and CSV readers choke on Arrow-backed or object columns of mixed types: plain dtypes."""
    out = out.copy()
    for col in out.columns:
        if col != out.geometry.name and str(out[col].dtype) in ("string", "str", "object"):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
        elif str(out[col].dtype) == "bool":
            out[col] = out[col].astype("int8")
    return out


def to_geopackage(table: gpd.GeoDataFrame, path: str | Path, layer: str = LAYER_NAME) -> Path:
    """Write the export table as a GeoPackage (one layer, ``ilots`` by default)."""
    path = Path(path)
    table.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
    return path


def geopackage_bytes(table: gpd.GeoDataFrame, layer: str = LAYER_NAME) -> bytes:
    """The GeoPackage of ``table`` as bytes (for a download button): written in a temporary folder."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return to_geopackage(plain_columns(table), Path(tmp) / f"{layer}.gpkg", layer).read_bytes()


def to_csv_bytes(table: gpd.GeoDataFrame | pd.DataFrame) -> bytes:
    """CSV bytes with ``;`` separators, decimal commas and a UTF-8 BOM (a GeoDataFrame's geometry becomes the
    ``lon``/``lat`` of a point inside each row's shape, WGS 84)."""
    if isinstance(table, gpd.GeoDataFrame):
        pts = table.geometry.representative_point().to_crs(4326)
        df = pd.DataFrame(table.drop(columns=table.geometry.name))
        df["lon"] = pts.x.round(6).to_numpy()
        df["lat"] = pts.y.round(6).to_numpy()
    else:
        df = pd.DataFrame(table)
    buf = io.StringIO()
    df.to_csv(buf, sep=";", decimal=",", index=False, float_format="%.4f")
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
