"""Issue 17 §4: the one-page briefing a mayor is handed, read from the rendered PDF (poppler): no two text lines
overlap, no large empty band, place names on the map, today and the scenario side by side, the residents figure
with its interval (or « inconnu », never 0), and a sources-and-limits footer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ilots.briefing import briefing_pdf
from ilots.risk import high_risk_residents
from ilots.scenarios import Intervention, Scenario, ScenarioEngine, Target
from ilots.staticmap import place_labels
from ilots.store import load_territory
from tests.pdfcheck import need_poppler, overlapping, render, tallest_blank_band, text_lines

BLANK_MAX = 0.05  # of the page height: about 1.5 cm


@pytest.fixture(scope="module")
def demo(fitted_demo):
    terr = load_territory(fitted_demo)
    meta, table = terr.model()
    return terr, meta, table


def _scenario(terr, meta, table, name="Cours d'école et rues plantées", **kinds):
    eng = ScenarioEngine(terr.blocks, meta, table)
    items = [Intervention(k, v, Target("risk", min_class=4)) for k, v in (kinds or {"trees": 20}).items()]
    per_block, summary = eng.apply(Scenario(name, items))
    return summary, per_block


def _read(pdf: bytes):
    lines, (w, h) = text_lines(pdf)
    text = " ".join(line.text for line in lines)  # wrapped lines read as one text
    return lines, w, h, text


def _assert_laid_out(pdf: bytes):
    lines, w, h, text = _read(pdf)
    assert overlapping(lines) == []
    outside = [ln.text for ln in lines if ln.x0 < 0 or ln.y0 < 0 or ln.x1 > w or ln.y1 > h]
    assert outside == [], "text beyond the page"
    assert tallest_blank_band(render(pdf)) < BLANK_MAX
    return text


def test_briefing_without_scenario_is_laid_out_with_place_names_and_limits(demo):
    need_poppler()
    terr, meta, table = demo
    text = _assert_laid_out(briefing_pdf(terr.name, terr.blocks, meta, table, terr.manifest, streets=terr.streets()))
    names = [p.name for p in place_labels(terr.blocks, terr.streets())]
    shown = [n for n in names if n.split()[-1] in text]
    assert len(shown) >= 3, (names, text)
    assert "Sources et limites" in text and "pas celle de l'air" in text
    assert "Aucun scénario choisi" in text
    assert "90 % de chances entre" in text  # residents in high risk come with their interval


def test_briefing_shows_today_and_the_scenario_side_by_side(demo):
    need_poppler()
    terr, meta, table = demo
    summary, per_block = _scenario(terr, meta, table, trees=20, cool_roofs=50)
    text = _assert_laid_out(
        briefing_pdf(terr.name, terr.blocks, meta, table, terr.manifest, summary, per_block, streets=terr.streets())
    )
    assert "Risque de chaleur aujourd'hui" in text and "Avec le scénario" in text
    assert "de classe avec le scénario" in text
    assert "Habitants sortis du risque élevé" in text


def test_long_names_and_notes_still_fit(demo):
    need_poppler()
    terr, meta, table = demo
    summary, per_block = _scenario(
        terr,
        meta,
        table,
        name="Plan de végétalisation des cours d'école, des parvis et des rues, phase 2",
        trees=40,
        depave=60,
    )
    summary = {**summary, "sanity": {"trees": {"note": "Une note très longue des repères publiés " * 8}}}
    name = "Communauté d'agglomération du Grand Îlotville et des communes riveraines de la vallée " * 2
    _assert_laid_out(
        briefing_pdf(name, terr.blocks, meta, table, terr.manifest, summary, per_block, streets=terr.streets())
    )


def test_residents_unknown_is_said_not_zero(demo):
    need_poppler()
    terr, meta, table = demo
    blocks = terr.blocks.assign(residents=np.nan)
    text = _assert_laid_out(briefing_pdf(terr.name, blocks, meta, table, terr.manifest))
    assert "inconnu" in text and "pas de données de population" in text


def test_high_risk_residents_interval_is_that_of_the_fit(demo):
    terr, meta, table = demo
    attrs = pd.DataFrame(terr.blocks.drop(columns="geometry"))
    high = high_risk_residents(attrs, table, meta["risk"])
    expected = float((attrs["residents"].fillna(0) * table["p_high_risk"].fillna(0)).sum())
    assert high.expected == pytest.approx(expected, rel=1e-6)
    assert high.low < high.expected < high.high
    assert high_risk_residents(attrs.assign(residents=np.nan), table, meta["risk"]) is None
