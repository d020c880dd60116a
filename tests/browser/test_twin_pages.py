"""The twin's pages end to end in headless Chromium, over a small real Tyk2 twin.

Browse (home -> grid -> filter -> substructure -> compound), ask what-if, add to the next
batch, queue a simulation and see its status, SAR, runs and the report link. Screenshots go
to ``$MOLTWIN_SCREENSHOT_DIR`` when it is set (``docs/screenshots/`` via ``make screenshots``).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from _twin_data import CORE, fill_tyk2  # noqa: E402

from lab_sync.store import open_store  # noqa: E402
from interfaces.web.app import create_app  # noqa: E402
from interfaces.web.context import WebSettings  # noqa: E402
from interfaces.web.users import add_user  # noqa: E402


def _no_md_here(store_url, project, compound_id, smiles):
    raise RuntimeError("MD is not run in this test (see test_queued_simulation_runs_real_md)")


@pytest.fixture()
def twin_served(tmp_path, repo_dir):
    import uvicorn

    db = str(tmp_path / "twin.db")
    store = open_store(db)
    tokens = {"alice": add_user(store, "alice", "uploader"), "vera": add_user(store, "vera", "viewer")}
    info = fill_tyk2(store, repo_dir, tmp_path, saved_config=True)
    (tmp_path / "results" / "screen-1").mkdir(parents=True)
    (tmp_path / "results" / "screen-1" / "report.html").write_text(
        "<!doctype html><html><body><h1 id='report-title'>Ranked candidates of tyk2</h1></body></html>")
    app = create_app(db, WebSettings(staging_dir=tmp_path / "staging", archive_dir=tmp_path / "archive"),
                     sync_trigger=None)
    app.state.twin.extra.update(admet=False, simulate=_no_md_here)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "the web app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store, tokens, info, app
    server.should_exit = True
    thread.join(timeout=10)


def _wait_for(browser, css, timeout=20):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def _shot(browser, name):
    folder = os.environ.get("MOLTWIN_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        height = browser.execute_script("return Math.min(document.body.scrollHeight, 3000)")
        browser.set_window_size(1400, max(900, height))
        browser.save_screenshot(str(Path(folder) / f"{name}.png"))
        browser.set_window_size(1400, 1800)


def _sign_in(browser, url, name, token):
    browser.delete_all_cookies()
    browser.get(url + "/")
    _wait_for(browser, "#name").send_keys(name)
    _wait_for(browser, "#token").send_keys(token)
    _wait_for(browser, "#signin").click()
    _wait_for(browser, "#project-table")


def _rows(browser):
    from selenium.webdriver.common.by import By

    return [r.get_attribute("data-id") for r in browser.find_elements(By.CSS_SELECTOR, "#grid tr.row")]


def test_chemist_browses_filters_and_opens_a_compound(browser, twin_served):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, store, tokens, info, app = twin_served
    _sign_in(browser, url, "vera", tokens["vera"])
    _shot(browser, "home")
    browser.find_element(By.ID, "projects-link").click()
    _wait_for(browser, ".project-card")
    assert "16" in browser.find_element(By.CSS_SELECTOR, ".n-compounds").text
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart circle")  # the ledger's cycle is drawn
    _shot(browser, "projects")
    browser.find_element(By.LINK_TEXT, "Compounds").click()
    _wait_for(browser, "#grid")
    assert len(_rows(browser)) == 16
    images = browser.find_elements(By.CSS_SELECTOR, "#grid img")
    assert images and browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", images[0])
    _shot(browser, "compounds")

    Select(browser.find_element(By.ID, "f-decision")).select_by_value("make")
    browser.find_element(By.ID, "apply-filters").click()
    _wait_for(browser, "#n-matching")
    assert browser.find_element(By.ID, "n-matching").text == "8" and len(_rows(browser)) == 8

    browser.find_element(By.CSS_SELECTOR, 'a.sort[data-col="measured_p_activity"]').click()
    _wait_for(browser, "#grid")
    table = app.state.twin.cache.table("tyk2").table
    made = table[table["decision"] == "make"].sort_values("measured_p_activity")
    assert _rows(browser) == list(made["compound_id"])

    box = browser.find_element(By.ID, "f-substructure")
    box.clear()
    box.send_keys("C1CC((")
    browser.find_element(By.ID, "apply-filters").click()
    assert "neither a valid SMILES nor a valid SMARTS" in _wait_for(browser, "#grid-error").text

    browser.get(url + "/projects/tyk2/compounds?sort=compound_id")
    first = _rows(browser)[0]
    browser.find_element(By.CSS_SELECTOR, f'#grid tr[data-id="{first}"] a.cid').click()
    assert _wait_for(browser, "#compound-id").text == first
    assert browser.find_element(By.ID, "inchikey").text.strip()
    assert browser.find_elements(By.CSS_SELECTOR, "#measurements tr")
    assert browser.find_elements(By.CSS_SELECTOR, "#decisions tr")
    later = info["later"][0]
    browser.get(url + f"/projects/tyk2/compounds/{later}")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#predictions tr")) == 2  # header + the one before measuring
    _shot(browser, "compound")


def test_chemist_asks_what_if_and_acts_on_it(browser, twin_served):
    from selenium.webdriver.common.by import By

    url, store, tokens, info, app = twin_served
    _sign_in(browser, url, "alice", tokens["alice"])
    browser.get(url + "/projects/tyk2/whatif")
    _wait_for(browser, "#smiles").send_keys("not a molecule")
    browser.find_element(By.ID, "ask").click()
    assert "cannot be used" in _wait_for(browser, "#whatif-error").text

    box = _wait_for(browser, "#smiles")
    box.clear()
    box.send_keys("O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1F")
    browser.find_element(By.ID, "ask").click()
    prediction = _wait_for(browser, "#prediction").text
    assert "80 % interval" in prediction and "domain" in prediction
    assert browser.find_elements(By.CSS_SELECTOR, "#verdicts tr") and browser.find_elements(By.CSS_SELECTOR, "#gates tr")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#neighbours tr")) == 6
    _shot(browser, "whatif")

    browser.find_element(By.ID, "add-to-batch").click()
    assert "is in the next batch" in _wait_for(browser, "#notice").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#next-batch tr")) == 2
    assert len(store.read_table("compounds", "tyk2", origin="what-if: next batch")) == 1

    browser.find_element(By.ID, "queue-simulation").click()
    job = _wait_for(browser, ".job")
    for _ in range(40):  # the page refreshes itself while the job is queued or running
        if job.get_attribute("data-status") in ("done", "failed"):
            break
        time.sleep(0.5)
        job = _wait_for(browser, ".job")
    assert job.get_attribute("data-status") == "failed" and "MD is not run in this test" in job.text
    browser.get(url + "/projects/tyk2/runs")
    assert "simulate" in _wait_for(browser, "#jobs").text


def test_sar_runs_and_the_served_report(browser, twin_served):
    from selenium.webdriver.common.by import By

    url, store, tokens, info, app = twin_served
    _sign_in(browser, url, "vera", tokens["vera"])
    browser.get(url + "/projects/tyk2/sar")
    assert browser.find_element(By.ID, "core").get_attribute("value") == CORE  # the project's saved core
    assert len(_wait_for(browser, "#rgroups").find_elements(By.CSS_SELECTOR, "td.activity")) == 16
    assert browser.find_elements(By.CSS_SELECTOR, "#pairs tr") and browser.find_elements(By.CSS_SELECTOR, "#cliffs tr")
    _shot(browser, "sar")
    browser.get(url + "/projects/tyk2/runs")
    assert not browser.find_elements(By.ID, "start-screen")  # a viewer cannot start work
    _shot(browser, "runs")
    browser.find_element(By.CSS_SELECTOR, "a.report-link").click()
    assert "Ranked candidates of tyk2" in _wait_for(browser, "#report-title").text
    assert browser.current_url.endswith("/runs/screen-1/report")


def test_compound_pose_viewer_toggles_start_and_end_of_the_run(browser, twin_served, tmp_path):
    from selenium.webdriver.common.by import By

    from _ranking_poses import store_simulation

    url, store, tokens, info, app = twin_served
    store_simulation(store, "tyk2", "ejm_31", tmp_path / "md")
    _sign_in(browser, url, "vera", tokens["vera"])
    browser.get(url + "/projects/tyk2/compounds/ejm_31")
    card = _wait_for(browser, ".pose3d[data-pose-end]")
    deadline = time.time() + 30
    while card.get_attribute("data-status") not in ("ready", "fallback"):
        assert time.time() < deadline, "the 3D viewer never started"
        time.sleep(0.1)
    assert card.get_attribute("data-status") == "ready", card.get_attribute("data-error")  # software WebGL
    assert card.get_attribute("data-showing") == "start"
    canvas = card.find_element(By.CSS_SELECTOR, ".viewer canvas")
    before = canvas.screenshot_as_png
    card.find_element(By.CSS_SELECTOR, 'button[data-frame="end"]').click()
    assert card.get_attribute("data-showing") == "end"
    assert card.find_element(By.CSS_SELECTOR, 'button[data-frame="end"]').get_attribute("aria-pressed") == "true"
    assert canvas.screenshot_as_png != before  # the ligand moved (orange, shifted 1.6 Å)
    browser.execute_script("arguments[0].scrollIntoView()", card)
    _shot(browser, "compound-pose")
    card.find_element(By.CSS_SELECTOR, 'button[data-frame="start"]').click()
    assert card.get_attribute("data-showing") == "start"
