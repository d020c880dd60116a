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
