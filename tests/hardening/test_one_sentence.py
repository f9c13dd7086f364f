"""Issue 11 §4: every failure is one French sentence (exit code 2), whatever its kind; a damaged
territory is reported as damaged on its own pages and the others keep working."""

import errno
import json
import shutil
import tomllib

import pytest
from streamlit.testing.v1 import AppTest

from ilots.cli import main
from tests.conftest import ROOT


def _one_sentence(capsys, fragment: str | None = None) -> str:
    err = capsys.readouterr().err
    assert err.startswith("Erreur : ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    if fragment:
        assert fragment in err, err
    return err


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def src(demo_territory):
    s = demo_territory / "sources"
    return {"lst": str(next((s / "landsat").iterdir())), "bdtopo": str(s / "bdtopo_ilotville.gpkg")}


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "/data/t/blocks.parquet")


def test_out_below_a_file_is_one_sentence(tmp_path, src, capsys):
    (tmp_path / "fichier").write_text("x")
    code = main(
        [
            "build",
            "--quiet",
            "--out",
            str(tmp_path / "fichier" / "t"),
            "--name",
            "x",
            "--lst",
            src["lst"],
            "--bdtopo",
            src["bdtopo"],
        ]
    )
    assert code == 2
    _one_sentence(capsys, "dossier est attendu")


def test_read_only_out_is_one_sentence(tmp_path, src, capsys, monkeypatch):
    import os

    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(os, "mkdir", read_only)
    code = main(
        [
            "build",
            "--quiet",
            "--out",
            str(tmp_path / "t"),
            "--name",
            "x",
            "--lst",
            src["lst"],
            "--bdtopo",
            src["bdtopo"],
        ]
    )
    assert code == 2
    _one_sentence(capsys, "lecture seule")


@pytest.mark.parametrize("where", ["build", "fit", "scenario"])
def test_full_disk_is_one_sentence_and_keeps_the_territory(fitted_copy, src, capsys, monkeypatch, where):
    import ilots.analysis
    import ilots.build
    import ilots.store

    before = _tree(fitted_copy)
    if where == "build":
        monkeypatch.setattr(ilots.build, "write_blocks", _disk_full)
        argv = [
            "build",
            "--quiet",
            "--out",
            str(fitted_copy),
            "--name",
            "x",
            "--lst",
            src["lst"],
            "--bdtopo",
            src["bdtopo"],
        ]
    elif where == "fit":
        monkeypatch.setattr(ilots.analysis, "save_model", _disk_full)
        argv = ["fit", str(fitted_copy)]
    else:
        monkeypatch.setattr(ilots.store, "write_json_atomic", _disk_full)  # scenario files are the store's
        argv = ["scenario", str(fitted_copy), "--trees", "10", "--save", "Plan"]
    assert main(argv) == 2
    _one_sentence(capsys, "disque est plein")
    assert _tree(fitted_copy) == before


@pytest.mark.parametrize("content", ['{"trees_eur_m2": "cent"}', '{"trees_eur_m2": true}', '{"tree_eur_m2": 120}'])
def test_bad_costs_files_are_one_sentence(fitted_copy, tmp_path, capsys, content):
    (tmp_path / "couts.json").write_text(content)
    assert main(["scenario", str(fitted_copy), "--trees", "10", "--costs", str(tmp_path / "couts.json")]) == 2
    _one_sentence(capsys, "oût unitaire")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--trees", "10", "--costs", '{"trees_eur_m2": "cent"}'], "« trees_eur_m2 » invalide"),
        (["--trees", "10", "--costs", "[1, 2]"], "objet JSON"),
        (["--trees", "10", "--costs", "/nulle/part/couts.json"], "couts.json"),
    ],
)
def test_bad_costs_are_one_sentence(fitted_copy, capsys, argv, fragment):
    assert main(["scenario", str(fitted_copy), *argv]) == 2
    _one_sentence(capsys, fragment)


def test_inline_costs_are_used(fitted_copy, capsys):
    assert main(["scenario", str(fitted_copy), "--trees", "10", "--costs", '{"trees_eur_m2": 300}', "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unit_costs"]["trees_eur_m2"] == 300


def test_restat_into_a_missing_folder(fitted_copy, src, capsys):
    assert main(["restat", str(fitted_copy), "--lst", src["lst"], "--out", "/nonexistent/x.csv"]) == 2
    _one_sentence(capsys, "n'existe pas")


@pytest.mark.parametrize(
    "argv",
    [
        ["fit", "{dir}", "--folds", "0"],
        ["fit", "{dir}", "--folds", "1"],
        ["fit", "{dir}", "--tile-m", "-5"],
        ["demo", "--out", "{dir}", "--size-km", "0"],
        ["demo", "--out", "{dir}", "--size-km", "-3"],
        ["demo", "--out", "{dir}", "--size-km", "nan"],
        ["build", "--out", "{dir}"],
        ["nope"],
    ],
)
def test_bad_options_are_one_french_sentence(fitted_copy, capsys, argv):
    before = _tree(fitted_copy)
    with pytest.raises(SystemExit) as info:
        main([a.replace("{dir}", str(fitted_copy)) for a in argv])
    assert info.value.code == 2
    err = _one_sentence(capsys)
    assert "error:" not in err and "usage:" not in err
    assert _tree(fitted_copy) == before


def test_demo_size_is_checked_in_the_library_too(tmp_path):
    from ilots.demo import build_demo
    from ilots.errors import BuildError

    for bad in (0, -3, float("nan"), 1e6):
        with pytest.raises(BuildError, match="hors limites"):
            build_demo(tmp_path / "d", size_km=bad)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("file", "content", "fragment"),
    [
        ("territory.json", "[]", "endommagé"),
        ("territory.json", '{"format_version": 1}', "endommagé"),
        ("model.json", "{}", "endommagé"),
        ("model.json", "[1]", "endommagé"),
    ],
)
def test_damaged_files_give_one_sentence_in_info(fitted_copy, capsys, file, content, fragment):
    (fitted_copy / file).write_text(content)
    assert main(["info", str(fitted_copy)]) == 2
    _one_sentence(capsys, fragment)


def test_damaged_territories_do_not_break_the_others(fitted_demo, tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(fitted_demo, data / "demo")
    shutil.copytree(fitted_demo, data / "casse")
    (data / "casse" / "territory.json").write_text("[]")
    shutil.copytree(fitted_demo, data / "sans-modele")
    (data / "sans-modele" / "model.json").write_text("{}")
    monkeypatch.setenv("ILOTS_DATA_DIR", str(data))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.run()
    selector = lambda: at.sidebar.selectbox[0]  # noqa: E731 - keyed by the current choice (ui/common.py)
    labels = selector().options  # as shown (formatted)
    assert any("endommagé" in label for label in labels)
    for page in (
        "pages/overview.py",
        "pages/map.py",
        "pages/model.py",
        "pages/scenarios.py",
        "pages/briefing.py",
        "pages/cafe.py",
        "pages/transparency.py",
    ):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        selector().set_value("casse").run()
        assert not at.exception and any("endommagé" in e.value for e in at.error), page
        selector().set_value("sans-modele").run()
        assert not at.exception, (page, [e.message for e in at.exception])
        selector().set_value("demo").run()


def test_visitors_never_see_error_details():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["client"]["showErrorDetails"] == "none"


def test_an_unreliable_model_shows_no_scenario_figures(fitted_copy, monkeypatch, capsys):
    """Issue 12 §7: with poor spatial-CV skill, no explanation nor scenario figure anywhere."""
    meta = json.loads((fitted_copy / "model.json").read_text())
    meta["metrics"]["spatial_cv"]["r2"] = 0.08
    meta["reliable"] = False
    (fitted_copy / "model.json").write_text(json.dumps(meta))
    assert main(["scenario", str(fitted_copy), "--trees", "10"]) == 2
    _one_sentence(capsys, "Modèle non fiable")
    monkeypatch.setenv("ILOTS_DATA_DIR", str(fitted_copy.parent))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.run()
    for page in ("pages/scenarios.py", "pages/cafe.py", "pages/map.py", "pages/briefing.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        assert any("non fiable" in w.value for w in at.warning), page
    at.switch_page("pages/scenarios.py").run()
    assert not [m for m in at.metric if m.label == "Température de surface"]
