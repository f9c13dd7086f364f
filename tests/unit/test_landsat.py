"""Landsat C2 L2: QA bit masks, scale factors, MTL parsing, scene discovery and reading."""

import tarfile

import numpy as np
import pytest
from rasterio.transform import from_origin

from ilots.errors import AllPixelsMaskedError, MissingLayerError
from ilots.sources.landsat import find_scene, parse_mtl, qa_clear, read_scene, sr_to_reflectance, st_to_celsius
from tests.conftest import write_tif


@pytest.mark.parametrize(
    ("qa", "clear"),
    [
        (21824, True),  # clear land
        (21952, True),  # clear water
        (1, False),  # fill (bit 0)
        (21762, False),  # dilated cloud (bit 1)
        (21824 - 64 + 4, False),  # cirrus (bit 2)
        (22280, False),  # high-confidence cloud (bit 3)
        (23888, False),  # cloud shadow (bit 4)
        (30048, True),  # snow: bit 5 is not masked
    ],
)
def test_qa_pixel_bits_0_to_4_are_masked(qa, clear):
    assert bool(qa_clear(np.array([qa], dtype="uint16"))[0]) is clear


def test_dn_to_celsius_and_reflectance():
    dn = np.array([0, 44000, 50724], dtype="uint16")
    c = st_to_celsius(dn)
    assert np.isnan(c[0])
    assert c[1] == pytest.approx(44000 * 0.00341802 + 149.0 - 273.15, abs=1e-3)
    r = sr_to_reflectance(np.array([0, 7273, 43636], dtype="uint16"))
    assert np.isnan(r[0])
    assert r[1:] == pytest.approx([7273 * 2.75e-5 - 0.2, 43636 * 2.75e-5 - 0.2], abs=1e-6)


MTL_TXT = """GROUP = LANDSAT_METADATA_FILE
  GROUP = PRODUCT_CONTENTS
    LANDSAT_PRODUCT_ID = "LC08_L2SP_199027_20220714_20220722_02_T1"
  END_GROUP = PRODUCT_CONTENTS
  GROUP = IMAGE_ATTRIBUTES
    DATE_ACQUIRED = 2022-07-14
    SCENE_CENTER_TIME = "10:31:02.5000000Z"
    CLOUD_COVER = 4.5
  END_GROUP = IMAGE_ATTRIBUTES
  GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS
    REFLECTANCE_MULT_BAND_4 = 2.75e-05
  END_GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS
  GROUP = LEVEL1_RADIOMETRIC_RESCALING
    REFLECTANCE_MULT_BAND_4 = 2.0000E-05
  END_GROUP = LEVEL1_RADIOMETRIC_RESCALING
END_GROUP = LANDSAT_METADATA_FILE
"""


def test_mtl_repeated_keys_are_read_per_group_and_end_is_optional():
    mtl = parse_mtl(MTL_TXT)
    assert mtl.get_float("LEVEL2_SURFACE_REFLECTANCE_PARAMETERS", "REFLECTANCE_MULT_BAND_4") == 2.75e-05
    assert mtl.get_float("LEVEL1_RADIOMETRIC_RESCALING", "REFLECTANCE_MULT_BAND_4") == 2.0e-05
    assert mtl.get("IMAGE_ATTRIBUTES", "SCENE_CENTER_TIME") == "10:31:02.5000000Z"


def _scene(folder, st, qa, pid="LC08_L2SP_199027_20220714_20220722_02_T1", mtl=True):
    t = from_origin(640000, 5070000, 30, 30)  # UTM 31N near Lyon
    folder.mkdir(parents=True, exist_ok=True)
    write_tif(folder / f"{pid}_ST_B10.TIF", np.asarray(st, dtype="uint16"), t, crs=32631, nodata=0)
    write_tif(folder / f"{pid}_QA_PIXEL.TIF", np.asarray(qa, dtype="uint16"), t, crs=32631)
    if mtl:
        (folder / f"{pid}_MTL.txt").write_text(MTL_TXT)
    return folder


DN_40C = round((40 + 273.15 - 149.0) / 0.00341802)


def test_scene_folder_masks_clouds_and_reads_mtl(tmp_path):
    st = np.full((4, 4), DN_40C)
    st[0, 0] = 0  # fill
    qa = np.full((4, 4), 21824)
    qa[1, 1] = 22280  # cloud
    qa[2, 2] = 23888  # shadow
    folder = _scene(tmp_path / "scene", st, qa)
    scene = find_scene(folder)
    assert scene.product_id == "LC08_L2SP_199027_20220714_20220722_02_T1"
    assert scene.date.isoformat() == "2022-07-14"
    assert scene.cloud_cover == 4.5
    layer, ndvi = read_scene(scene, 32631)
    assert ndvi is None
    vals = layer.data.values
    assert np.isfinite(vals).sum() == 13
    assert np.nanmean(vals) == pytest.approx(40.0, abs=0.01)
    assert layer.source["clear_fraction_in_window"] == pytest.approx(13 / 16)


def test_scene_as_tar_archive_is_read_in_place(tmp_path):
    folder = _scene(tmp_path / "scene", np.full((3, 3), DN_40C), np.full((3, 3), 21824))
    tar_path = tmp_path / "LC08_L2SP_199027_20220714_20220722_02_T1.tar"
    with tarfile.open(tar_path, "w") as tar:
        for f in sorted(folder.iterdir()):
            tar.add(f, arcname=f.name)
    scene = find_scene(tar_path)
    assert scene.st_b10.startswith("/vsitar/")
    assert scene.date.isoformat() == "2022-07-14"
    layer, _ = read_scene(scene, 32631)
    assert np.nanmean(layer.data.values) == pytest.approx(40.0, abs=0.01)


def test_scene_from_file_list_without_mtl_uses_product_id(tmp_path):
    folder = _scene(tmp_path / "scene", np.full((3, 3), DN_40C), np.full((3, 3), 21824), mtl=False)
    scene = find_scene(sorted(folder.iterdir()))
    assert scene.mtl is None
    assert scene.date.isoformat() == "2022-07-14"


def test_fully_clouded_scene_raises(tmp_path):
    folder = _scene(tmp_path / "scene", np.full((3, 3), DN_40C), np.full((3, 3), 22280))
    with pytest.raises(AllPixelsMaskedError, match="nuages"):
        read_scene(find_scene(folder), 32631)


def test_folder_without_st_b10_is_reported(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "LC08_foo_SR_B4.TIF").write_bytes(b"")
    with pytest.raises(MissingLayerError, match="ST_B10"):
        find_scene(tmp_path / "x")
