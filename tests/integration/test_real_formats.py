"""Readers on the real USGS Landsat C2 L2 files in ../shared/data/real/formats/landsat_c2l2."""

import tarfile

import numpy as np
import pytest

from ilots.errors import AllPixelsMaskedError, AmbiguousInputError
from ilots.sources.landsat import find_scene, find_scenes, parse_mtl, read_scene

pytestmark = pytest.mark.real_data

CLEAR = "LC08_L2SP_008059_20191201_20200825_02_T1"
CLOUDY = "LC08_L2SP_017036_20130419_20200913_02_T2"
SNOW = "LC08_L2SP_005009_20150710_20200908_02_T2"
L9 = "LC09_L2SP_010065_20220129_20220131_02_T1"


@pytest.fixture(scope="module")
def fmt(real_dir):
    return real_dir / "formats" / "landsat_c2l2"


@pytest.mark.parametrize("scene", [CLEAR, CLOUDY, SNOW])
def test_mtl_txt_json_xml_agree(fmt, scene):
    parsed = [parse_mtl((fmt / f"{scene}_MTL.{ext}").read_text(), ext) for ext in ("txt", "json", "xml")]
    txt, js, xml = parsed
    assert len(txt) == len(js) == len(xml) > 300
    for g in ("IMAGE_ATTRIBUTES", "LEVEL2_SURFACE_TEMPERATURE_PARAMETERS", "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"):
        assert txt.groups[g] == js.groups[g] == xml.groups[g]


def test_repeated_keys_resolve_to_the_level2_values(fmt):
    mtl = parse_mtl((fmt / f"{CLEAR}_MTL.json").read_text())  # every value a string in MTL.json
    assert mtl.get_float("LEVEL2_SURFACE_REFLECTANCE_PARAMETERS", "REFLECTANCE_MULT_BAND_4") == pytest.approx(2.75e-05)
    assert mtl.get_float("LEVEL2_SURFACE_REFLECTANCE_PARAMETERS", "REFLECTANCE_ADD_BAND_4") == pytest.approx(-0.2)
    assert mtl.get("PRODUCT_CONTENTS", "LANDSAT_PRODUCT_ID") == CLEAR  # not the L1TP id of a later group
    assert mtl.get_float("LEVEL2_SURFACE_TEMPERATURE_PARAMETERS", "TEMPERATURE_MULT_BAND_ST_B10") == pytest.approx(
        0.00341802
    )


def test_landsat9_mtl_without_final_end_line(fmt):
    text = (fmt / f"{L9}_MTL.txt").read_text()
    assert not text.rstrip().endswith("\nEND")
    mtl = parse_mtl(text)
    assert mtl.get("IMAGE_ATTRIBUTES", "SPACECRAFT_ID") == "LANDSAT_9"
    assert mtl.get_float("PROJECTION_ATTRIBUTES", "CORNER_UL_PROJECTION_Y_PRODUCT") == pytest.approx(-683700.0)
    assert len(mtl) == 323


def test_folder_of_several_scenes_lists_them_by_date(fmt):
    scenes = find_scenes(fmt)
    assert [s.product_id for s in scenes] == [CLOUDY, SNOW, CLEAR]  # 2013, 2015, 2019
    assert scenes[2].sr_b4 and scenes[2].sr_b5 and scenes[0].sr_b4 is None
    with pytest.raises(AmbiguousInputError, match="3 scènes"):
        find_scene(fmt)


def test_clear_scene_reads_masked_lst_and_ndvi(fmt):
    layer, ndvi = read_scene(find_scene(sorted(fmt.glob(f"{CLEAR}_*"))), 32618)
    assert layer.date.isoformat() == "2019-12-01"
    assert layer.source["time_utc"] == "15:13:51"
    vals = layer.data.values[np.isfinite(layer.data.values)]
    # Clear land pixels of this tropical scene: median ST 309.7 K (36.6 °C) per the README.
    assert 30.0 < np.median(vals) < 40.0
    assert vals.min() > -10.0  # the 150 K floor under clouds is masked by QA
    assert 0.05 < layer.source["clear_fraction_in_window"] < 0.2
    nd = ndvi.values[np.isfinite(ndvi.values)]
    assert nd.size > 0 and nd.min() >= -1 and nd.max() <= 1


def test_fully_clouded_real_scene_is_rejected(fmt):
    with pytest.raises(AllPixelsMaskedError):
        read_scene(find_scene(sorted(fmt.glob(f"{CLOUDY}_*"))), 32617)


def test_snow_scene_keeps_cold_clear_pixels_or_reports_none(fmt):
    """Greenland: no clear land pixels but snow (bit 5) is not masked; values are below 0 °C."""
    layer, _ = read_scene(find_scene(sorted(fmt.glob(f"{SNOW}_*"))), 32624)
    vals = layer.data.values[np.isfinite(layer.data.values)]
    assert vals.size > 0
    assert np.median(vals) < 0.0


def test_real_scene_from_tar_archive(fmt, tmp_path):
    tar_path = tmp_path / f"{CLEAR}.tar"
    with tarfile.open(tar_path, "w") as tar:
        for f in sorted(fmt.glob(f"{CLEAR}_*")):
            tar.add(f, arcname=f.name)
    layer, ndvi = read_scene(find_scene(tar_path), 32618)
    direct, _ = read_scene(find_scene(sorted(fmt.glob(f"{CLEAR}_*"))), 32618)
    np.testing.assert_array_equal(layer.data.values, direct.data.values)
    assert ndvi is not None


def test_masks_are_taken_per_band(fmt):
    """ST fill (DN 0) and QA fill (value 1, no nodata tag) cover different pixels: both are masked."""
    import rasterio

    with rasterio.open(fmt / f"{CLEAR}_ST_B10.TIF") as st, rasterio.open(fmt / f"{CLEAR}_QA_PIXEL.TIF") as qa:
        st_dn, qa_v = st.read(1), qa.read(1)
        assert st.nodata == 0 and qa.nodata is None
    expected_clear = (st_dn != 0) & ((qa_v & 0b11111) == 0)
    assert ((st_dn == 0) != ((qa_v & 1) == 1)).any()  # the two fill footprints differ
    layer, _ = read_scene(find_scene(sorted(fmt.glob(f"{CLEAR}_*"))), 32618)
    assert layer.source["clear_fraction_in_window"] == pytest.approx(expected_clear.mean(), abs=1e-4)
