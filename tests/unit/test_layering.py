"""The library never imports Streamlit, and modules import only from the floors below them."""

import ast

from tests.conftest import ROOT, python_prints

# Each module may import the modules of the floors listed for it (and the standard/third-party world).
FLOORS = {
    "errors": set(),
    "fr": set(),
    "progress": set(),
    "folders": set(),
    "lean": set(),
    "worker": {"errors", "progress"},
    "crs": {"errors"},
    "sources": {"errors", "fr", "crs", "sources"},
    "wkb_source": set(),
    "zonal": {"errors", "wkb_source"},
    "blocks": {"errors", "sources"},
    "features": {"errors", "sources", "zonal", "footprint"},
    "footprint": {"zonal"},
    "feature_table": {"errors", "features", "footprint", "sources"},
    "store": {"errors", "zonal", "fr", "sources", "folders"},
    "build": {
        "errors",
        "crs",
        "sources",
        "zonal",
        "blocks",
        "features",
        "feature_table",
        "footprint",
        "store",
        "search",
        "progress",
    },
    "demo": {
        "errors",
        "build",
        "store",
        "progress",
        "footprint",
        "restat",
        "sources",
        "zonal",
        "night",
        "facilities",
        "worker",
    },
    "model": {"errors", "fr", "features", "footprint", "progress"},
    "risk": set(),
    "explain": {"fr", "model"},
    "scenarios": {"errors", "fr", "model", "risk", "store"},
    "analysis": {
        "errors",
        "fr",
        "explain",
        "model",
        "risk",
        "store",
        "progress",
        "monitor",
        "restat",
        "refuges",
        "sources",
        "facilities",
        "night",
        "worker",
    },
    "tiles": {"errors"},
    "maps": {"fr", "risk", "monitor", "night", "facilities", "tiles"},
    "export": set(),
    "staticmap": {"fr", "maps", "risk"},
    "briefing": {"fr", "risk", "staticmap"},
    "impact": {"fr", "monitor", "staticmap"},
    "search": {"errors"},
    "uploads": {"errors", "sources", "build", "fr"},
    "fetch": {"errors", "crs", "fr", "sources", "build", "store", "progress", "folders"},
    "scale": {
        "errors",
        "crs",
        "fr",
        "sources",
        "blocks",
        "zonal",
        "footprint",
        "feature_table",
        "build",
        "store",
        "fetch",
        "progress",
    },
    "restat": {"errors", "build", "fr", "progress", "sources", "store", "zonal"},
    "monitor": {"fr", "footprint", "scenarios", "sources"},
    "refuges": set(),
    "facilities": {"errors", "sources"},
    "night": {"errors", "sources", "store"},
    "cli": {
        "errors",
        "lean",
        "build",
        "demo",
        "store",
        "analysis",
        "scenarios",
        "sources",
        "fr",
        "fetch",
        "scale",
        "restat",
        "progress",
        "export",
        "monitor",
        "impact",
        "refuges",
        "facilities",
        "night",
        "risk",
    },
}


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve to the top-level ilots module
                parts = path.relative_to(ROOT / "ilots").with_suffix("").parts
                base = parts[: max(0, len(parts) - node.level)]
                mod = (node.module or "").split(".")
                yield "ilots." + ".".join([*base, *mod]).strip(".")
            else:
                yield node.module or ""


def test_no_streamlit_in_the_library():
    for path in (ROOT / "ilots").rglob("*.py"):
        assert not any(m.split(".")[0] == "streamlit" for m in _imports(path)), path


def test_data_flows_one_way():
    for path in (ROOT / "ilots").rglob("*.py"):
        rel = path.relative_to(ROOT / "ilots").with_suffix("").parts
        me = rel[0]
        if me in ("__init__", "__main__"):
            continue
        allowed = FLOORS[me] | {me}
        for mod in _imports(path):
            if mod.startswith("ilots."):
                target = mod.split(".")[1]
                assert target in allowed or target == "", f"{path.name} imports {mod}"


def test_fetch_acquires_and_never_builds():
    """Issue 13 §1: the fetch package returns inputs and provenance; its callers (CLI, page, build-many) build."""
    for path in (ROOT / "ilots" / "fetch").rglob("*.py"):
        names = {n.id for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.Name)}
        names |= {
            a.name
            for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.ImportFrom)
            for a in n.names
        }
        assert not names & {"build_territory", "compute_territory", "write_territory", "staging"}, path.name


def test_viewing_a_page_does_not_load_the_builder():
    """Issue 13 §2: the shared UI module loads the store only; the builder, its readers and the model load when a
    page needs them (a demo to build, a model to fit)."""
    code = (
        "import sys; import ui.common; "
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('ilots', 'momepy', 'libpysal', 'rioxarray', 'exactextract', 'sklearn', 'dask'))))"
    )
    out = python_prints(code)
    light = {"ilots", "ilots.errors", "ilots.fr", "ilots.store", "ilots.folders"}
    assert set(out.strip().split(",")) <= light, out


def test_pages_import_only_the_library_and_the_shared_ui_package():
    """pages/ holds page scripts only; they import the library and ui/, never each other."""
    from ui.navigation import PAGES

    assert {p.name for p in (ROOT / "pages").iterdir() if p.name != "__pycache__"} <= {page[1] for page in PAGES}
    for path in (ROOT / "pages").glob("*.py"):
        for mod in _imports(path):
            assert mod.split(".")[0] != "pages", (path.name, mod)


def test_the_ui_package_uses_no_private_streamlit_api():
    for path in [*(ROOT / "ui").rglob("*.py"), ROOT / "dashboard.py", *(ROOT / "pages").glob("*.py")]:
        for mod in _imports(path):
            assert not (mod.startswith("streamlit.") and mod.split(".")[1] in ("runtime", "web", "elements")), (
                path.name,
                mod,
            )
            assert mod.split(".")[0] != "pages", (path.name, mod)


def test_no_build_imports_momepy():
    """Issue 14 §1: blocks are cut from roads with shapely alone; momepy (and libpysal, scipy.stats behind it: 1.2 s
    of imports) is not loaded by the builder, even when it cuts blocks."""
    code = (
        "import sys, shapely, numpy as np, ilots.build, ilots.cli, ilots.blocks; "
        "ilots.blocks.enclosures(np.array([shapely.LineString([(0, 5), (10, 5)])]), shapely.box(0, 0, 10, 10)); "
        "print('momepy' in sys.modules, 'libpysal' in sys.modules, 'scipy.stats' in sys.modules, "
        "'scipy.spatial' in sys.modules)"
    )
    out = python_prints(code)
    # scipy.spatial (its k-d tree) only when some buildings' heights are missing: 0.05 s the Lyon build skips
    assert out.split() == ["False", "False", "False", "False"], out


def test_the_command_line_answers_help_without_pandas():
    """Issue 14 §1: ``python -m ilots --help`` (and argument errors) load neither pandas nor the builder."""
    code = "import sys, ilots.cli; print('pandas' in sys.modules, 'geopandas' in sys.modules)"
    out = python_prints(code)
    assert out.split() == ["False", "False"], out


def test_a_build_and_the_demo_do_not_import_dask_arrays(tmp_path):
    """Issue 14 §1: xarray and rioxarray import ``dask.array`` whenever dask is installed (0.2 s of CPU at every
    build and worker start), though Îlots never makes a dask array; the verbs that compute settle xarray on numpy
    first. A build of a tiny territory and the demo both end without dask.array loaded."""
    import geopandas as gpd
    import numpy as np
    import shapely
    from rasterio.transform import from_origin

    from tests.conftest import write_tif

    lst = np.linspace(25, 45, 40 * 40, dtype="float32").reshape(40, 40)
    write_tif(tmp_path / "lst.tif", lst, from_origin(700_000, 6_600_000, 30, 30), units="degC")
    boxes = [shapely.box(700_100 + 300 * i, 6_599_100, 700_380 + 300 * i, 6_599_700) for i in range(3)]
    gpd.GeoDataFrame({"code": ["a", "b", "c"]}, geometry=boxes, crs=2154).to_file(tmp_path / "blocks.gpkg")
    code = "import sys, ilots.cli; rc = ilots.cli.main(sys.argv[1:]); print(rc, 'dask.array' in sys.modules)"
    build = ["build", "--out", str(tmp_path / "t"), "--name", "T", "--lst", str(tmp_path / "lst.tif")]
    build += ["--blocks", str(tmp_path / "blocks.gpkg"), "--blocks-id", "code", "--quiet"]
    assert python_prints(code, *build).split()[-2:] == ["0", "False"]
    demo = ["demo", "--out", str(tmp_path / "demo"), "--size-km", "1", "--quiet"]
    assert python_prints(code, *demo).split()[-2:] == ["0", "False"]


def test_dask_stays_importable_after_xarray_settled_on_numpy():
    """dask is hidden only while xarray and rioxarray settle; ``build-many`` can still import dask.distributed, and
    nothing is hidden once xarray is imported (a notebook keeps xarray's dask support)."""
    code = (
        "import sys; from ilots.lean import without_dask_arrays; first = without_dask_arrays(); "
        "import numpy as np, xarray as xr, dask.array as da; "
        "print(first, without_dask_arrays(), int(da.ones(3).sum().compute()), 'dask' in sys.modules)"
    )
    assert python_prints(code).split() == ["True", "False", "3", "True"]
