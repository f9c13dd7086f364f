"""Issue 13 §5: the library installs in parts (pyproject extras); a missing part is named, never a traceback."""

import subprocess
import sys
import tomllib

import pytest

from tests.conftest import ROOT

# Block the optional modules as if they were not installed, then run ``code`` (requests stays: momepy's
# libpysal needs it, so it is always there).
BLOCKED = ("streamlit", "streamlit_folium", "segno", "pystac_client", "planetary_computer", "dask", "distributed")


def _without_extras(code: str) -> subprocess.CompletedProcess:
    prelude = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in BLOCKED)
    return subprocess.run([sys.executable, "-c", prelude + code], cwd=ROOT, capture_output=True, text=True)


def test_the_core_library_and_cli_work_without_the_extras(tmp_path):
    out = _without_extras(
        "import ilots.build, ilots.analysis, ilots.scenarios, ilots.briefing, ilots.maps, ilots.restat, ilots.export\n"
        "from ilots.cli import main\n"
        f"raise SystemExit(main(['demo', '--out', {str(tmp_path / 'demo')!r}, '--size-km', '1', '--quiet']))\n"
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "demo" / "territory.json").is_file()


@pytest.mark.parametrize(
    ("verb", "extra"),
    [
        (["fetch", "--commune", "37261", "--year", "2023", "--out", "{tmp}/t"], "fetch"),
        (["build-many", "--communes", "37261", "--year", "2023", "--out", "{tmp}"], "scale"),
    ],
)
def test_a_verb_needing_a_missing_extra_names_it(tmp_path, verb, extra):
    args = [a.format(tmp=tmp_path) for a in verb]
    out = _without_extras(f"from ilots.cli import main\nraise SystemExit(main({args!r}))\n")
    assert out.returncode == 2, out.stderr
    assert f"pip install 'ilots[{extra}]'" in out.stderr and "Traceback" not in out.stderr


def test_requirements_install_the_checkout_with_every_extra_and_dev_adds_the_test_tools():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert set(project["optional-dependencies"]) == {"dashboard", "fetch", "scale", "dev"}
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if not line.startswith("#")]
    assert lines == ["-e .[dashboard,fetch,scale]"]
    assert "-e .[dashboard,fetch,scale,dev]" in (ROOT / "requirements-dev.txt").read_text()
