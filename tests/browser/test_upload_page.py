"""End to end in headless Chromium: sign in, choose a project, check a messy assay file, confirm, see the result.

The app runs under uvicorn on a free loopback port in a background thread, over a
temporary twin store; the twin update hook is a small stand-in that reports a
ranking change, so the page's "what changed" section has something to show.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from lab_sync.projects import create_project
from lab_sync.store import open_store
from interfaces.web.app import create_app
from interfaces.web.context import WebSettings
from interfaces.web.users import add_user


def _ranking_changes(store_url, project, upload_id):
    return {"ranking_changes": [{"compound_id": "007", "rank_before": 4, "rank_after": 1}]}


@pytest.fixture()
def served(tmp_path):
    import uvicorn

    db = str(tmp_path / "twin.db")
    store = open_store(db)
    tokens = {"alice": add_user(store, "alice", "uploader"), "vera": add_user(store, "vera", "viewer")}
    create_project(store, "tyk2", "Tyk2", created_by="alice")  # projects are created explicitly
    app = create_app(db, WebSettings(staging_dir=tmp_path / "staging", archive_dir=tmp_path / "archive"),
                     sync_trigger=_ranking_changes)
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
    yield f"http://127.0.0.1:{port}", store, tokens
    server.should_exit = True
    thread.join(timeout=10)


def _wait_for(browser, css, timeout=20):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def _open_tyk2(browser, url):
    """Choose project tyk2 from the list and open its upload page."""
    from selenium.webdriver.support.ui import Select

    Select(_wait_for(browser, "#project-select")).select_by_value("tyk2")
    _wait_for(browser, "#choose-project").click()


def _sign_in_and_check(browser, url, name, token, csv_path):
    """Sign in, open project tyk2, choose the file and press "Check the file"."""
    browser.delete_all_cookies()
    browser.get(url + "/")
    _wait_for(browser, "#name").send_keys(name)
    _wait_for(browser, "#token").send_keys(token)
    _wait_for(browser, "#signin").click()
    _open_tyk2(browser, url)
    _wait_for(browser, "#file").send_keys(str(csv_path))
    _wait_for(browser, "#check-file").click()
    _wait_for(browser, "#n-valid")


def test_chemist_checks_confirms_and_sees_the_result(browser, served, testdata):
    from selenium.webdriver.common.by import By

    url, store, tokens = served
    messy = testdata / "assays" / "messy_mixed.csv"
    _sign_in_and_check(browser, url, "alice", tokens["alice"], messy)
    assert browser.find_element(By.ID, "filename").text == "messy_mixed.csv"
    assert browser.find_element(By.ID, "n-valid").text == "3"
    assert browser.find_element(By.ID, "n-invalid").text == "6"
    problems = browser.find_element(By.ID, "problems").text
    assert "unknown concentration unit 'furlongs'" in problems
    assert "% inhibition needs the test concentration" in problems and "invalid structure" in problems
    assert len(browser.find_elements(By.CSS_SELECTOR, "#to-store tr")) == 1 + 3  # header + the 3 rows
    assert store.count("measurements") == 0  # checking stores nothing

    browser.find_element(By.ID, "confirm").click()
    upload_id = _wait_for(browser, "#upload-id").text
    assert browser.find_element(By.ID, "n-valid").text == "3"
    assert browser.find_element(By.ID, "uploader").text == "alice"
    twin = _wait_for(browser, "#twin-update")
    for _ in range(40):  # the update runs in the background; the page refreshes itself
        if "done" in twin.text:
            break
        time.sleep(0.5)
        twin = _wait_for(browser, "#twin-update")
    assert "twin update: done" in twin.text and "007" in twin.text

    uploads = store.read_table("uploads")
    assert list(uploads["upload_id"]) == [upload_id] and list(uploads["uploader"]) == ["alice"]
    stored = store.read_table("measurements", "tyk2")
    assert sorted(stored["source_row"]) == [2, 3, 4] and set(stored["compound_id"]) == {"007", "008"}
    assert store.count("quarantine") == 6


def test_a_viewer_can_check_but_not_commit(browser, served, testdata):
    from selenium.webdriver.common.by import By

    url, store, tokens = served
    _sign_in_and_check(browser, url, "vera", tokens["vera"], testdata / "assays" / "messy_mixed.csv")
    assert browser.find_element(By.ID, "n-valid").text == "3"
    assert not browser.find_elements(By.ID, "confirm")
    assert "viewer" in browser.find_element(By.ID, "viewer-note").text
    # Post the confirm form by hand, with this session's own security code: the server refuses.
    browser.execute_script("""
        const f = document.createElement('form'); f.method = 'post'; f.action = '/commit';
        for (const [k, v] of [['csrf_token', document.querySelector('input[name=csrf_token]').value],
                              ['pending_id', '0123456789abcdef0123456789abcdef'], ['sha256', '']]) {
          const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
        }
        document.body.appendChild(f); f.submit();""")
    message = _wait_for(browser, "#message").text
    assert "may check files but not store them (role: viewer). Nothing was stored." in message
    assert store.count("uploads") == 0 and store.count("measurements") == 0


def test_a_file_over_the_limit_is_refused_with_a_message(browser, served, tmp_path):
    from selenium.webdriver.common.by import By

    url, store, tokens = served
    big = tmp_path / "plate_reader_dump.csv"
    with big.open("wb") as fh:
        fh.write(b"compound_id,value\n" + b"C1,5\n" * 13_000_000)  # 52 MB
    browser.delete_all_cookies()
    browser.get(url + "/")
    _wait_for(browser, "#name").send_keys("alice")
    _wait_for(browser, "#token").send_keys(tokens["alice"])
    _wait_for(browser, "#signin").click()
    _open_tyk2(browser, url)
    _wait_for(browser, "#file").send_keys(str(big))
    assert "the limit is 50 MB" in _wait_for(browser, "#size-note").text  # said at once, in the page
    button = browser.find_element(By.ID, "check-file")
    assert not button.is_enabled()
    # Without the page's help (script off or bypassed) the server refuses it with the same words.
    browser.execute_script("arguments[0].disabled = false; arguments[0].form.submit();", button)
    message = _wait_for(browser, "#message").text
    assert "the limit is 50 MB. Split the file into smaller ones" in message
    assert store.count("uploads") == 0


FAST_STARTER = ["model.model_kinds=[knn,random_forest]", "model.n_estimators=30", "model.cv_folds=3",
                "admet.enabled=false"]


@pytest.fixture()
def served_first_twin(tmp_path, repo_dir, monkeypatch):
    """A freshly created project whose uploads run the real twin update (fast model settings)."""
    import uvicorn

    from flows.sync_trigger import trigger_sync

    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    db = str(tmp_path / "twin.db")
    store = open_store(db)
    tokens = {"alice": add_user(store, "alice", "uploader")}
    create_project(store, "tyk2", "Tyk2", created_by="alice")
    app = create_app(db, WebSettings(staging_dir=tmp_path / "staging", archive_dir=tmp_path / "archive"),
                     sync_trigger=lambda url, project, upload: trigger_sync(
                         url, project, upload, results_dir=tmp_path / "results", starter=FAST_STARTER))
    app.state.twin.extra["admet"] = False
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
    yield f"http://127.0.0.1:{port}", store, tokens
    server.should_exit = True
    thread.join(timeout=10)


def _shot(browser, name):
    import os
    from pathlib import Path

    folder = os.environ.get("MOLTWIN_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        height = browser.execute_script("return Math.min(document.body.scrollHeight, 3000)")
        browser.set_window_size(1400, max(900, height))
        browser.save_screenshot(str(Path(folder) / f"{name}.png"))
        browser.set_window_size(1400, 1800)


def test_chemist_maps_columns_uploads_and_the_new_projects_twin_starts(browser, served_first_twin, repo_dir, tmp_path):
    """A CRO export with its own headers: the guessed columns are confirmed, the file stored, the twin
    trained and ranked from this first upload, and the run's report opens from the Runs page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, store, tokens = served_first_twin
    lines = (repo_dir / "data" / "tyk2" / "tyk2_measurements.csv").read_text().splitlines()[:13]
    header = lines[0].replace("compound_id", "Sample Code").replace(",value,", ",Mean Result,")
    cro = tmp_path / "cro_export.csv"
    cro.write_text("\n".join([header, *lines[1:]]) + "\n")
    _sign_in_and_check(browser, url, "alice", tokens["alice"], cro)
    assert browser.find_element(By.ID, "app-name").text == "MolTwin"
    assert browser.find_element(By.ID, "n-valid").text == "0"
    headers = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#mapping tr td:first-child")]
    value_select = Select(browser.find_element(By.ID, f"map-{headers.index('Mean Result')}"))
    id_select = Select(browser.find_element(By.ID, f"map-{headers.index('Sample Code')}"))
    assert value_select.first_selected_option.get_attribute("value") == "value"  # the guess, shown
    assert id_select.first_selected_option.get_attribute("value") == "compound_id"
    _shot(browser, "upload-columns")
    # The chemist also keeps the operator column out, then checks again with these columns.
    Select(browser.find_element(By.ID, f"map-{headers.index('operator')}")).select_by_value("")
    browser.find_element(By.ID, "recheck").click()
    _wait_for(browser, "#notice")
    assert browser.find_element(By.ID, "n-valid").text == "12"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#to-store td.drawn svg")) == 12  # structures drawn
    browser.find_element(By.ID, "confirm").click()
    _wait_for(browser, "#upload-id")
    twin = _wait_for(browser, "#twin-update")
    for _ in range(240):  # the first twin trains a model: the page refreshes itself until it is done
        if "done" in twin.text or "failed" in twin.text:
            break
        time.sleep(0.5)
        twin = _wait_for(browser, "#twin-update")
    assert "twin update: done" in twin.text, twin.text
    assert "first twin of tyk2: activity model trained on its measurements" in twin.text
    _shot(browser, "upload-result")
    assert store.count("measurements", "tyk2") == 12
    assert set(store.read_table("measurements", "tyk2")["operator"]) == {""}  # the column kept out
    browser.get(url + "/projects/tyk2/runs")
    _wait_for(browser, "a.report-link").click()
    _wait_for(browser, "body")
    assert "tyk2" in browser.page_source and len(store.read_table("rankings", "tyk2")) == 12

    # The next file of the project is read with the remembered columns at once.
    nxt = tmp_path / "cro_export_2.csv"
    nxt.write_text("\n".join([header, *[ln.replace("2015-01-01", "2015-02-01") for ln in lines[1:4]]]) + "\n")
    browser.get(url + "/projects/tyk2")
    _wait_for(browser, "#file").send_keys(str(nxt))
    _wait_for(browser, "#check-file").click()
    assert _wait_for(browser, "#n-valid").text == "3"
    assert "as last time" in browser.find_element(By.ID, "mapping").text
