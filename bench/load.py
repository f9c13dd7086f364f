"""Load test: N concurrent sessions on a local dashboard (127.0.0.1 only), bounded in count and time.

    python bench/load.py [--sessions 20] [--moves 3] [--territory DIR] [--browser]
                         [--processes 2] [--arrival-s 20] [--think-s 2]

Default: websocket sessions speaking Streamlit's own protocol (protobuf BackMsg/ForwardMsg on
/_stcore/stream), so that 20 sessions measure the server rather than 20 browser renderers competing for
the same 2 cores. Each session opens the map page, then the scenario page, then moves the trees slider
``--moves`` times (a fragment rerun, as the browser sends it), checking that the « Température de
surface » figure changes. ``--browser`` does the same with real Chromium pages (Playwright) on the same
machine: the map clock stops once every block of the map's GeoJSON layer is on the Leaflet map and two
frames were painted (the ~0.9 MB payload received, parsed and drawn), so it includes the browser's work,
competing with the servers for the same cores.
Reports errors (timeouts, exceptions, unchanged figures) and p50/p95. Target: no error, p95 < 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import dashboard_servers  # noqa: E402

# True once the map frame's Leaflet has every block of its GeoJSON layer on the map and two frames were
# painted since: the clock stops when the blocks are drawn, not when an empty canvas appears.
_MAP_DRAWN = """async () => {
  const L = window.L;
  if (!L) return false;
  let n = 0;
  for (const v of Object.values(window)) {
    if (v instanceof L.GeoJSON && v._map) n += v.getLayers().length;
  }
  if (n === 0) return false;
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return n;
}"""


async def session(browser, base: str, moves: int, results: dict, i: int, start_s: float = 0.0) -> None:
    await asyncio.sleep(start_s)
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    try:
        t0 = time.perf_counter()
        await page.goto(base + "/map", timeout=120_000)
        frame_el = await page.wait_for_selector('iframe[title*="st_folium"]', timeout=120_000)
        frame = await frame_el.content_frame()
        drawn = await frame.wait_for_function(_MAP_DRAWN, timeout=120_000, polling=50)
        results["map"].append(time.perf_counter() - t0)
        results.setdefault("blocks_drawn", []).append(await drawn.json_value())
        await page.goto(base + "/scenarios", timeout=120_000)
        metric = page.locator('[data-testid="stMetric"]', has_text="Température de surface").first
        await metric.wait_for(timeout=120_000)
        slider = page.get_by_role("slider", name="Arbres : points de couvert ajoutés")
        await slider.focus()
        for _ in range(moves):
            before = await metric.inner_text()
            t0 = time.perf_counter()
            await slider.press("ArrowRight")
            await page.wait_for_function(
                "(b) => { const m = [...document.querySelectorAll('[data-testid=stMetric]')]"
                ".find(e => e.innerText.includes('Température de surface')); return m && m.innerText !== b; }",
                arg=before,
                timeout=60_000,
            )
            results["slider"].append(time.perf_counter() - t0)
        if await page.locator('[data-testid="stException"]').count():
            results["errors"].append(f"session {i}: exception shown")
    except Exception as exc:  # a timeout or a crash counts as an error of this session
        results["errors"].append(f"session {i}: {type(exc).__name__}: {str(exc)[:120]}")
    finally:
        await ctx.close()


async def ws_rerun(ws, page: str, widgets=(), fragment_id: str = "", timeout: float = 120.0):
    """Send one rerun request and read ForwardMsgs until the script finishes: (seconds, elements)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.page_name = page
    if fragment_id:
        msg.rerun_script.fragment_id = fragment_id
    for w in widgets:
        msg.rerun_script.widget_states.widgets.append(w)
    t0 = time.perf_counter()
    await ws.send(msg.SerializeToString())
    found: dict = {}
    while True:
        fm = ForwardMsg()
        fm.ParseFromString(await asyncio.wait_for(ws.recv(), timeout))
        kind = fm.WhichOneof("type")
        if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
            el = fm.delta.new_element
            et = el.WhichOneof("type")
            if et == "slider":
                found[f"slider:{el.slider.label}"] = (el.slider.id, fm.delta.fragment_id)
            elif et == "metric":
                found[f"metric:{el.metric.label}"] = el.metric.body
            elif et == "exception":
                found["exception"] = el.exception.message
        elif kind == "script_finished":
            return time.perf_counter() - t0, found


async def ws_session(base: str, moves: int, results: dict, i: int, start_s: float = 0.0, think_s: float = 0.0) -> None:
    import websockets
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    url = base.replace("http://", "ws://") + "/_stcore/stream"
    await asyncio.sleep(start_s)
    try:
        async with websockets.connect(url, subprotocols=["streamlit"], max_size=None) as ws:
            dt, found = await ws_rerun(ws, "map")
            results["map"].append(dt)
            await asyncio.sleep(think_s)
            _, found = await ws_rerun(ws, "scenarios")
            slider_id, fragment = found["slider:Arbres : points de couvert ajoutés"]
            value = found["metric:Température de surface"]
            for k in range(moves):
                await asyncio.sleep(think_s)
                w = WidgetState(id=slider_id)
                w.double_array_value.data.append(12 + 4 * k + i % 3)
                dt, found = await ws_rerun(ws, "scenarios", [w], fragment)
                results["slider"].append(dt)
                new = found.get("metric:Température de surface")
                if "exception" in found or new is None or new == value:
                    results["errors"].append(f"session {i}: figure not updated ({found.get('exception', new)})")
                value = new
    except Exception as exc:  # a timeout or a dropped connection counts as an error of this session
        results["errors"].append(f"session {i}: {type(exc).__name__}: {str(exc)[:120]}")


def _cpu(pids: list[int]) -> tuple[float, float]:
    """(CPU seconds of the server processes, CPU seconds of the whole machine) so far."""
    import psutil

    server = sum(sum(psutil.Process(p).cpu_times()[:2]) for p in pids)
    t = psutil.cpu_times()
    return server, t.user + t.system + getattr(t, "nice", 0.0)


async def run_ws(
    bases: list[str],
    sessions: int,
    moves: int,
    arrival_s: float = 0.0,
    think_s: float = 0.0,
    pids: list[int] | None = None,
) -> dict:
    results = {"map": [], "slider": [], "errors": []}
    for base in bases:  # fills each server's caches once
        await ws_session(base, 1, {"map": [], "slider": [], "errors": []}, -1)
    cpu0 = _cpu(pids or [])
    t0 = time.perf_counter()
    # Session i goes to server i mod N (a reverse proxy's sticky spreading) and arrives at i·arrival/N.
    await asyncio.gather(
        *(
            ws_session(bases[i % len(bases)], moves, results, i, i * arrival_s / sessions, think_s)
            for i in range(sessions)
        )
    )
    results["wall"] = time.perf_counter() - t0
    results["cpu"] = tuple(b - a for a, b in zip(cpu0, _cpu(pids or []), strict=True))
    return results


async def run(
    bases: list[str],
    sessions: int,
    moves: int,
    arrival_s: float = 0.0,
    think_s: float = 0.0,
    pids: list[int] | None = None,
) -> dict:
    """Real Chromium pages, spread over every server like the websocket sessions (``think_s`` unused)."""
    from playwright.async_api import async_playwright

    results = {"map": [], "slider": [], "errors": []}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for base in bases:  # fills each server's caches once
            warm = {"map": [], "slider": [], "errors": []}
            await session(browser, base, 1, warm, -1)
            if warm["errors"]:
                raise RuntimeError(f"warm-up failed on {base}: {warm['errors'][0]}")
        cpu0 = _cpu(pids or [])
        t0 = time.perf_counter()
        await asyncio.gather(
            *(
                session(browser, bases[i % len(bases)], moves, results, i, i * arrival_s / sessions)
                for i in range(sessions)
            )
        )
        results["wall"] = time.perf_counter() - t0
        results["cpu"] = tuple(b - a for a, b in zip(cpu0, _cpu(pids or []), strict=True))
        await browser.close()
    return results


async def run_mixed(
    bases: list[str],
    sessions: int,
    moves: int,
    arrival_s: float = 0.0,
    think_s: float = 0.0,
    pids: list[int] | None = None,
    browsers: int = 1,
) -> dict:
    """``browsers`` real Chromium pages among ``sessions``, the others websocket sessions, all in one burst:
    what a visitor's browser shows while the servers carry the whole load (the browsers' own rendering
    stays small next to the servers' work, unlike ``--browser`` with every session a Chromium page)."""
    from playwright.async_api import async_playwright

    results = {"map": [], "slider": [], "errors": []}
    browser_res = {"map": [], "slider": [], "errors": []}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for base in bases:  # fills each server's caches once
            await session(browser, base, 1, {"map": [], "slider": [], "errors": []}, -1)
        cpu0 = _cpu(pids or [])
        t0 = time.perf_counter()
        jobs = []
        for i in range(sessions):
            base, start = bases[i % len(bases)], i * arrival_s / sessions
            if i % max(1, sessions // browsers) == 0 and sum(1 for j in jobs if j[0] == "b") < browsers:
                jobs.append(("b", session(browser, base, moves, browser_res, i, start)))
            else:
                jobs.append(("w", ws_session(base, moves, results, i, start, think_s)))
        await asyncio.gather(*(j for _, j in jobs))
        results["wall"] = time.perf_counter() - t0
        results["cpu"] = tuple(b - a for a, b in zip(cpu0, _cpu(pids or []), strict=True))
        await browser.close()
    results["browser"] = browser_res
    results["errors"] += browser_res["errors"]
    return results


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--moves", type=int, default=3)
    p.add_argument("--territory", type=Path, default=ROOT / "bench" / "out" / "demo_5km")
    p.add_argument("--browser", action="store_true", help="Chromium pages instead of websocket sessions")
    p.add_argument(
        "--mixed",
        type=int,
        default=0,
        metavar="N",
        help="N of the sessions are real Chromium pages, the others websocket sessions",
    )
    p.add_argument("--processes", type=int, default=1, help="dashboard processes, sessions spread over them")
    p.add_argument(
        "--arrival-s",
        type=float,
        default=0.0,
        help="spread session arrivals over this many seconds (0: all in the same instant)",
    )
    p.add_argument("--think-s", type=float, default=0.0, help="pause between a session's actions, in seconds")
    p.add_argument("--url", action="append", help="use these running servers instead of starting some (profiling)")
    args = p.parse_args()
    from ilots.analysis import fit_territory
    from ilots.demo import build_demo
    from ilots.store import is_territory, load_territory

    if not is_territory(args.territory):
        build_demo(args.territory)
    terr = load_territory(args.territory)
    if terr.model() is None:
        fit_territory(terr)
    data = Path(tempfile.mkdtemp(prefix="ilots-load-"))
    os.symlink(args.territory.resolve(), data / "demo")
    pids: list[int] = []
    try:
        with contextlib.nullcontext(args.url) if args.url else dashboard_servers(data, args.processes, pids) as bases:
            if args.mixed:
                res = asyncio.run(
                    run_mixed(bases, args.sessions, args.moves, args.arrival_s, args.think_s, pids, browsers=args.mixed)
                )
            else:
                res = asyncio.run(
                    (run if args.browser else run_ws)(
                        bases, args.sessions, args.moves, args.arrival_s, args.think_s, pids
                    )
                )
    finally:
        shutil.rmtree(data, ignore_errors=True)
    mode = (
        f"mixed ({args.mixed} Chromium pages, the others websocket)"
        if args.mixed
        else "browser (Chromium)"
        if args.browser
        else "websocket"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; {len(terr.blocks)} blocks; {args.sessions} concurrent "
        f"{mode} sessions, {args.moves} slider moves each; {args.processes} process(es), arrivals over "
        f"{args.arrival_s:g} s, think time {args.think_s:g} s; wall {res['wall']:.1f} s"
    )
    for key, label in (("map", "map page (full run)"), ("slider", "slider move until figure updated")):
        v = np.array(res[key])
        if len(v):
            print(
                f"{label}: n={len(v)} p50 {np.percentile(v, 50):.2f} s, p95 {np.percentile(v, 95):.2f} s, max "
                f"{v.max():.2f} s"
            )
    for key, label in (
        ("map", "Chromium pages: map drawn"),
        ("slider", "Chromium pages: slider move until figure shown"),
    ):
        v = np.array(res.get("browser", {}).get(key, []))
        if len(v):
            print(
                f"{label}: n={len(v)} p50 {np.percentile(v, 50):.2f} s, p95 {np.percentile(v, 95):.2f} s, max "
                f"{v.max():.2f} s"
            )
    if pids:
        server, machine = res["cpu"]
        print(
            f"CPU during the burst: servers {server:.1f} s, everything else on the machine (browsers, this "
            f"client) {machine - server:.1f} s ({100 * server / max(machine, 1e-9):.0f} % servers)"
        )
    if res.get("blocks_drawn"):
        print(f"blocks drawn per map: {min(res['blocks_drawn'])}–{max(res['blocks_drawn'])}")
    print(f"errors: {len(res['errors'])}")
    for e in res["errors"][:10]:
        print("  " + e)


if __name__ == "__main__":
    main()
