"""Durability: builds and scenario saves killed with SIGKILL at random points never damage what was saved."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

from ilots.scenarios import Intervention, Scenario, list_scenarios, load_scenario, save_scenario
from ilots.store import MANIFEST, list_territories, load_territory, recover
from tests.conftest import ROOT


def _spawn(args, env=None):
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def test_killed_rebuilds_leave_a_loadable_territory(demo_territory, tmp_path):
    target = tmp_path / "t"
    shutil.copytree(demo_territory, target)
    rng = random.Random(20261125)
    outcomes = set()
    for _ in range(6):
        before = (target / MANIFEST).read_bytes()
        proc = _spawn(["-m", "ilots", "demo", "--out", str(target), "--size-km", "1.5", "--seed", "11", "--quiet"])
        time.sleep(rng.uniform(0.2, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        terr = load_territory(target)  # always loadable: the previous territory, or a complete new one
        assert len(terr.blocks) == terr.manifest["n_blocks"] > 0
        outcomes.add("unchanged" if (target / MANIFEST).read_bytes() == before else "replaced")
    assert [p.name for p in list_territories(tmp_path)] == ["t"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".t.building")]  # dead staging removed
    assert "unchanged" in outcomes  # at least one kill landed mid-build and changed nothing


def test_swap_interrupted_between_its_two_renames_is_recovered(demo_territory, tmp_path):
    target = tmp_path / "t"
    shutil.copytree(demo_territory, target)
    os.rename(target, tmp_path / ".t.old-deadbeef")  # the process died right after the first rename
    (tmp_path / ".t.building-999999-cafe").mkdir()  # and its staging folder is still there
    recover(target)
    assert load_territory(target).blocks.shape[0] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


SAVER = """
import sys
from ilots.scenarios import Intervention, Scenario, save_scenario
i = 0
while True:
    i += 1
    save_scenario(sys.argv[1], Scenario("Plan", [Intervention("trees", i % 100)], "x" * 200_000), overwrite=True)
"""


def test_killed_scenario_saves_never_corrupt_the_file(tmp_path):
    save_scenario(tmp_path, Scenario("Plan", [Intervention("trees", 5)]))
    save_scenario(tmp_path, Scenario("Autre", [Intervention("depave", 20)]))
    rng = random.Random(7)
    for _ in range(8):
        proc = _spawn(["-c", SAVER, str(tmp_path)])
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        plan = load_scenario(tmp_path, "Plan")  # complete JSON every time
        assert plan.name == "Plan" and 0 <= plan.interventions[0].intensity <= 100
        assert load_scenario(tmp_path, "Autre").interventions[0].kind == "depave"
        good, problems = list_scenarios(tmp_path)
        assert problems == [] and len(good) == 2
    leftovers = [p.name for p in (tmp_path / "scenarios").iterdir() if p.name.startswith(".")]
    assert all(name.endswith(".tmp") for name in leftovers)
    json.loads(next((tmp_path / "scenarios").glob("plan-*.json")).read_text())
