"""The ranked-candidate report in headless Chromium: it renders, offline, with its key parts.

The report is written from real Tyk2 data (``tests/unit/_ranking_data.py``); three simulated
compounds get run folders built from the real Tyk2 pocket and posed ligands
(``tests/unit/_ranking_poses.py``), so the inline 3D viewer has real structures to draw.
A screenshot of the page is saved next to it (and copied to ``$MOLTWIN_SCREENSHOT_DIR``
when that is set).
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from _ranking_data import TYK2_CORE, build_tables, tyk2_records  # noqa: E402
from _ranking_poses import add_poses  # noqa: E402

from ranking.merge import merge_candidate_table  # noqa: E402
from ranking.next_batch import propose_next_batch  # noqa: E402
from ranking.report import ModelSummary, ReportContext, write_report  # noqa: E402
from ranking.score import rank_candidates  # noqa: E402
from ranking.settings import RankSettings  # noqa: E402

SETTINGS = RankSettings(n_samples=300)
NO_WEBGL = "HTMLCanvasElement.prototype.getContext = function () { return null; };"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report-page")
    tables = build_tables(tyk2_records(), measured_every=2, n_simulated=5)
    tables["simulations"] = add_poses(tables["simulations"], root, with_files=3)
    ranked = rank_candidates(merge_candidate_table(**tables), SETTINGS)
    previous = ranked.iloc[::-1].assign(rank=range(1, len(ranked) + 1))
    context = ReportContext(
        project_name="Tyk2 demo", run_id="run-0002", config_hash="0" * 64,
        created_at=datetime(2025, 1, 2, tzinfo=timezone.utc), code_version="test",
        core=TYK2_CORE, model=ModelSummary("knn3-loo", {"rmse": 0.61, "spearman": 0.55}, 8),
        funnel=[{"step": "alerts_brenk", "n_in": 20, "n_rejected": 4, "n_out": 16}],
        next_batch=propose_next_batch(ranked, 4, SETTINGS), settings=SETTINGS,
        previous_ranked=previous, previous_run_id="run-0001", search_roots=[root], pose_top_n=6)
    paths = write_report(ranked, root / "out", context)
    return paths.html, ranked


def _open(browser, html: Path):
    browser.get(html.as_uri())
    deadline = time.time() + 30
    while browser.execute_script(
            "return document.querySelectorAll('.pose3d[data-status=\"pending\"]').length"):
        assert time.time() < deadline, "the 3D viewers never left the 'pending' state"
        time.sleep(0.1)


def _visible(element) -> bool:
    return element.is_displayed() and element.size["height"] > 0


def _drawn_pixels(element) -> int:
    """Pixels of an element's screenshot that are not (near) white."""
    from PIL import Image

    image = Image.open(io.BytesIO(element.screenshot_as_png)).convert("L")
    return sum(1 for value in image.getdata() if value < 230)


def _save_screenshot(browser, html: Path, name: str) -> Path:
    shot = html.with_name(name)
    browser.set_window_size(1400, 1800)
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(shot))
    if os.environ.get("MOLTWIN_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(os.environ["MOLTWIN_SCREENSHOT_DIR"]) / name)
    return shot


def test_report_renders_with_its_key_parts(browser, report):
    from selenium.webdriver.common.by import By

    html, ranked = report
    _open(browser, html)
    assert browser.title == "Tyk2 demo · ranked candidates · run-0002"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Tyk2 demo: ranked candidates"
    rows = browser.find_elements(By.CSS_SELECTOR, "#decision-table tr.decision-row")
    assert len(rows) == len(ranked)
    assert rows[0].find_element(By.CSS_SELECTOR, "td:nth-child(3)").text.startswith(
        str(ranked["compound_id"].iloc[0]))
    assert rows[0].size["height"] <= 130  # compact rows: a dozen per screen
    assert len(browser.find_elements(By.CSS_SELECTOR, "#next-batch-table tr.next-row")) == 4
    plots = browser.find_elements(By.CSS_SELECTOR, "#plots figure svg")
    assert len(plots) >= 4 and all(p.size["width"] > 100 for p in plots)
    assert "Changes since the last run" in browser.find_element(By.ID, "changes").text

    cards = browser.find_elements(By.CSS_SELECTOR, ".pose3d")
    with_pose = [c for c in cards if c.get_attribute("data-pose")]
    assert len(with_pose) == 3 and len(cards) == 6  # 5 simulated + 1 failed
    for card in with_pose:
        status = card.get_attribute("data-status")
        assert status in {"ready", "fallback"}, card.get_attribute("data-error")
        if status == "ready":  # WebGL (software in headless Chromium): a drawn canvas
            canvas = card.find_element(By.CSS_SELECTOR, ".viewer canvas")
            assert canvas.size["width"] > 200 and _drawn_pixels(canvas) > 500
            assert not _visible(card.find_element(By.CSS_SELECTOR, ".fallback"))
        else:
            assert _visible(card.find_element(By.CSS_SELECTOR, ".fallback svg"))
    for card in cards:
        if not card.get_attribute("data-pose"):
            assert card.get_attribute("data-status") == "no-pose"
            assert _visible(card.find_element(By.CSS_SELECTOR, ".fallback svg"))
    shot = _save_screenshot(browser, html, "report.png")
    assert shot.stat().st_size > 50_000
    browser.execute_script("document.getElementById('poses').scrollIntoView()")
    browser.save_screenshot(str(html.with_name("report-poses.png")))
    if os.environ.get("MOLTWIN_SCREENSHOT_DIR"):
        shutil.copy(html.with_name("report-poses.png"), os.environ["MOLTWIN_SCREENSHOT_DIR"])
    print(f"\nscreenshot: {shot}; 3D viewers: "
          f"{[c.get_attribute('data-status') for c in with_pose]}")


def test_without_webgl_the_2d_fallback_shows(browser, report):
    from selenium.webdriver.common.by import By

    html, _ = report
    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": NO_WEBGL})
    try:
        _open(browser, html)
        cards = browser.find_elements(By.CSS_SELECTOR, ".pose3d[data-pose]")
        assert cards and all(c.get_attribute("data-status") == "fallback" for c in cards)
        for card in cards:
            assert _visible(card.find_element(By.CSS_SELECTOR, ".fallback svg"))
            assert "no WebGL" in card.find_element(By.CSS_SELECTOR, ".fallback").text
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                                {"identifier": script["identifier"]})


@pytest.mark.slow  # ~20-40 s: one real (very short) MD run of a Tyk2 analog, then the page
def test_real_simulation_pose_renders(browser, tmp_path):
    from selenium.webdriver.common.by import By

    from simulation.run import SimulationRequest, simulate_ligand
    from simulation.settings import SimulationSettings

    data = Path(__file__).resolve().parents[2] / "data" / "tyk2"
    settings = SimulationSettings(platform="CPU", pocket_radius_angstrom=6.0,
                                  minimize_max_iterations=20, equilibration_steps=10,
                                  production_steps=20, report_interval_steps=5)
    # one defined stereoisomer: open stereocentres are refused, never simulated as an arbitrary isomer
    record = simulate_ligand(SimulationRequest("MT-analog", "C[C@@H]1C[C@@H]1C(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1",
                                               data / "protein.pdb",
                                               data / "ligands.sdf"), settings, tmp_path / "md")
    assert record.status == "ok", record.message
    tables = build_tables(tyk2_records())
    tables["candidates"].loc[len(tables["candidates"])] = {
        "compound_id": "MT-analog", "smiles": "C[C@@H]1C[C@@H]1C(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1",
        "inchikey": "", "origin": "generated"}
    sims = [{**record.to_dict(), "sim_status": record.status}]
    tables["simulations"] = pd.DataFrame(sims).drop(columns=["status"])
    ranked = rank_candidates(merge_candidate_table(**tables), SETTINGS)
    paths = write_report(ranked, tmp_path / "out", ReportContext(
        project_name="Tyk2 MD", run_id="run-md", config_hash="1" * 64, code_version="test",
        created_at=datetime(2025, 1, 2, tzinfo=timezone.utc), core=TYK2_CORE, settings=SETTINGS))
    _open(browser, paths.html)
    card = browser.find_element(By.CSS_SELECTOR, ".pose3d[data-pose]")
    assert card.get_attribute("data-compound") == "MT-analog"
    assert card.get_attribute("data-status") in {"ready", "fallback"}
    assert "MD stability: ligand RMSD over time" in browser.page_source


def _ids(browser) -> list[str]:
    from selenium.webdriver.common.by import By

    return [row.find_element(By.CSS_SELECTOR, "td:nth-child(3) b").text
            for row in browser.find_elements(By.CSS_SELECTOR, "#decision-table tr.decision-row")
            if row.is_displayed()]


def test_decision_table_sorts_and_filters_in_the_page(browser, report):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    html, ranked = report
    _open(browser, html)
    assert _ids(browser) == list(ranked["compound_id"])  # rank order first
    header = browser.find_element(By.XPATH, "//table[@id='decision-table']//th[button[normalize-space()='Compound']]")
    header.find_element(By.TAG_NAME, "button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert _ids(browser) == sorted(ranked["compound_id"], key=str.lower) != list(ranked["compound_id"])
    header.find_element(By.TAG_NAME, "button").click()
    assert _ids(browser) == sorted(ranked["compound_id"], key=str.lower, reverse=True)

    mmgbsa = browser.find_element(By.XPATH, "//th[button[starts-with(normalize-space(), 'MM/GBSA')]]")
    mmgbsa.find_element(By.TAG_NAME, "button").click()  # most negative first, compounds never simulated last
    simulated = ranked.dropna(subset=["mmgbsa_kcal_mol"]).sort_values("mmgbsa_kcal_mol", kind="stable")
    shown = _ids(browser)
    assert shown[:len(simulated)] == list(simulated["compound_id"])
    assert set(shown[len(simulated):]) == set(ranked["compound_id"]) - set(simulated["compound_id"])

    Select(browser.find_element(By.ID, "filter-decision")).select_by_visible_text("advance")
    advance = set(ranked.loc[ranked["decision"] == "advance", "compound_id"])
    assert set(_ids(browser)) == advance and browser.find_element(By.ID, "table-count").text == str(len(advance))
    box = browser.find_element(By.ID, "filter-text")
    target = sorted(advance)[0]
    box.send_keys(target)
    assert _ids(browser) == [target] and browser.find_element(By.ID, "table-count").text == "1"
    _save_screenshot(browser, html, "report-table-filtered.png")
    browser.find_element(By.CSS_SELECTOR, "#table-filters button[type=reset]").click()
    time.sleep(0.2)
    assert len(_ids(browser)) == len(ranked)
    browser.find_element(By.ID, "filter-pclear").send_keys("0.9")
    assert set(_ids(browser)) == set(ranked.loc[ranked["p_clear_gates"] >= 0.9, "compound_id"])

    sar = browser.find_elements(By.CSS_SELECTOR, "#sar-table tr.sar-row")
    browser.execute_script("document.getElementById('sar').scrollIntoView()")
    drawings = browser.find_elements(By.CSS_SELECTOR, "#sar-table td.rg svg")
    assert sar and drawings and all(_drawn_pixels(d) > 30 for d in drawings[:5])  # <use> of a shared symbol draws
    browser.save_screenshot(str(html.with_name("report-sar.png")))
    if os.environ.get("MOLTWIN_SCREENSHOT_DIR"):
        shutil.copy(html.with_name("report-sar.png"), os.environ["MOLTWIN_SCREENSHOT_DIR"])
