"""Issue 11 §1–2: no command and no visitor destroys a territory, a scenario or a file it did not make."""

import json
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from ilots.cli import main
from ilots.scenarios import (
    Intervention,
    Scenario,
    Target,
    delete_scenario,
    list_scenarios,
    load_scenario,
    save_scenario,
)
from ilots.store import MANIFEST, list_territories, load_territory
from tests.conftest import ROOT


def _build_argv(src: dict, out) -> list[str]:
    return [
        "build",
        "--quiet",
        "--out",
        str(out),
        "--name",
        "Reconstruit",
        "--lst",
        src["lst"],
        "--bdtopo",
        src["bdtopo"],
    ]


@pytest.fixture(scope="module")
def src(demo_territory):
    s = demo_territory / "sources"
    return {"lst": str(next((s / "landsat").iterdir())), "bdtopo": str(s / "bdtopo_ilotville.gpkg")}


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_rebuild_keeps_saved_scenarios_marked_as_older(fitted_copy, src, capsys):
    save_scenario(fitted_copy, Scenario("Plan canopée", [Intervention("trees", 10, Target("risk", min_class=4))]))
    old_created = load_territory(fitted_copy).manifest["created"]
    assert main(_build_argv(src, fitted_copy)) == 0
    err = capsys.readouterr().err
    assert (
        "Scénarios enregistrés conservés : 1" in err and "python -m ilots fit" in err
    )  # the model is not silently lost
    kept = load_scenario(fitted_copy, "Plan canopée")
    assert kept.territory_created == old_created != load_territory(fitted_copy).manifest["created"]
    assert main(["scenario", str(fitted_copy), "--list"]) == 0
    assert "construction précédente" in capsys.readouterr().out


@pytest.mark.parametrize("foreign", ["notes.docx", "mes-cartes/plan.qgz"])
def test_rebuild_refuses_a_territory_holding_foreign_files(fitted_copy, src, capsys, foreign):
    path = fitted_copy / foreign
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("précieux")
    before = _tree(fitted_copy)
    assert main(_build_argv(src, fitted_copy)) == 2
    err = capsys.readouterr().err
    assert err.startswith("Erreur : ") and len(err.strip().splitlines()) == 1
    assert foreign.split("/")[0] in err
    assert _tree(fitted_copy) == before


def test_a_folder_with_any_territory_json_is_not_taken_for_ours(tmp_path, src, capsys):
    folder = tmp_path / "autre-outil"
    folder.mkdir()
    (folder / MANIFEST).write_text(json.dumps({"projet": "autre"}))
    (folder / "notes.docx").write_text("précieux")
    assert main(_build_argv(src, folder)) == 2
    assert "n'est pas un territoire Îlots" in capsys.readouterr().err
    assert (folder / "notes.docx").read_text() == "précieux"


def test_out_paths_are_never_globbed(fitted_demo, tmp_path, src):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copytree(fitted_demo, data / "lyon")
    backup = data / ".lyon.old-1234abcd"  # another territory's backup (an interrupted swap)
    shutil.copytree(fitted_demo, backup)
    for name in ("*", "[l]yon", "?yon"):
        assert main(_build_argv(src, data / name)) == 0
        assert backup.is_dir() and (data / "lyon" / MANIFEST).is_file()


@pytest.mark.parametrize(
    "names",
    [
        ("Сценарий один", "Сценарий два"),  # non-Latin scripts slug to nothing
        (
            "Végétalisation des cours d'école et des places du quartier nord, tranche 1",  # same first 60 characters
            "Végétalisation des cours d'école et des places du quartier nord, tranche 2",
        ),
        ("Plan A", "plan-a"),
    ],
)
def test_scenario_names_never_collide(tmp_path, names, capsys):
    (tmp_path / MANIFEST).write_text("{}")
    first, second = (Scenario(n, [Intervention("trees", 5 + i, Target("all"))]) for i, n in enumerate(names))
    save_scenario(tmp_path, first)
    save_scenario(tmp_path, second)
    assert load_scenario(tmp_path, names[0]).interventions[0].intensity == 5
    assert load_scenario(tmp_path, names[1]).interventions[0].intensity == 6
    delete_scenario(tmp_path, names[1])
    assert [s.name for s in list_scenarios(tmp_path)[0]] == [names[0]]


def test_cli_delete_removes_exactly_the_named_scenario(fitted_copy, capsys):
    for i, name in enumerate(("Сценарий один", "Сценарий два")):
        assert main(["scenario", str(fitted_copy), "--trees", str(5 + i), "--save", name]) == 0
    assert main(["scenario", str(fitted_copy), "--delete", "Сценарий два"]) == 0
    assert [s.name for s in list_scenarios(fitted_copy)[0]] == ["Сценарий один"]
    assert main(["scenario", str(fitted_copy), "--delete", "Сценарий два"]) == 2  # never another one instead


# -- the dashboard ----------------------------------------------------------------------------------


def _app(data, monkeypatch, **env):
    monkeypatch.setenv("ILOTS_DATA_DIR", str(data))
    for key in ("ILOTS_ADMIN_SECRET", "ILOTS_NEW_TERRITORIES"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.run()
    at.switch_page("pages/new_territory.py").run()
    if any(r.key == "new_mode" for r in at.radio):
        at.radio(key="new_mode").set_value("upload").run()
    return at


def test_page_cannot_replace_without_the_administrator_secret(fitted_copy, monkeypatch):
    before = _tree(fitted_copy)
    at = _app(fitted_copy.parent, monkeypatch)
    at.text_input(key="new_name").set_value("demo").run()
    assert any("réservé" in e.value for e in at.error)
    assert at.button(key="new_go").disabled
    assert not [w for w in at.checkbox if "Remplacer" in w.label]  # no checkbox can do it
    assert _tree(fitted_copy) == before


def test_page_refuses_a_wrong_administrator_password(fitted_copy, monkeypatch):
    before = _tree(fitted_copy)
    at = _app(fitted_copy.parent, monkeypatch, ILOTS_ADMIN_SECRET="s3cret-admin")
    at.text_input(key="new_name").set_value("demo").run()
    at.text_input(key="new_admin").set_value("devine").run()
    assert any("inexact" in e.value for e in at.error) and at.button(key="new_go").disabled
    assert _tree(fitted_copy) == before


def test_page_creation_can_be_switched_off(fitted_copy, monkeypatch):
    at = _app(fitted_copy.parent, monkeypatch, ILOTS_NEW_TERRITORIES="off")
    assert any("désactivée" in i.value for i in at.info)
    assert not at.text_input and not at.button


def test_failed_build_or_fit_publishes_nothing(fitted_copy, src, tmp_path):
    from ilots.build import BuildInputs, build_territory
    from ilots.errors import IlotsError

    data = fitted_copy.parent
    inputs = BuildInputs(name="Essai 05", lst=[src["lst"]], bdtopo=src["bdtopo"])

    def failing_fit(folder):
        raise IlotsError("Aucun indicateur utilisable pour ajuster le modèle.")

    with pytest.raises(IlotsError):
        build_territory(inputs, data / "essai-05", replace=False, finish=failing_fit)
    assert [p.name for p in list_territories(data)] == ["demo"]
    assert sorted(p.name for p in data.iterdir()) == ["demo"]  # no staging folder left either


def test_the_page_build_never_replaces_an_existing_territory(fitted_copy, src):
    from ilots.build import BuildInputs, build_territory
    from ilots.errors import TerritoryExistsError

    before = _tree(fitted_copy)
    with pytest.raises(TerritoryExistsError, match="existe déjà"):
        build_territory(BuildInputs(name="demo", lst=[src["lst"]], bdtopo=src["bdtopo"]), fitted_copy, replace=False)
    assert _tree(fitted_copy) == before
