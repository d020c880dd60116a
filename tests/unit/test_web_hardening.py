"""The web page under a flood or a careless setup: sign-in throttling with back-off, sign-out
without the CSRF token, Secure cookies over HTTPS, bounded and scheduled-clean staging, and a
viewer's check that keeps no file."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _web_client import check_file, make_web, sign_in, text_of  # noqa: E402

from interfaces.web.throttle import SignInThrottle  # noqa: E402

SMI = "CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1"


def _csv(i: int) -> bytes:
    return (f"compound_id,smiles,assay_id,endpoint,value,units\nA{i},{'C' * i}{SMI},T,IC50,"
            f"{10 + i},nM\n").encode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_backs_off_per_user_and_per_client():
    clock = Clock()
    t = SignInThrottle(user_failures=3, client_failures=5, base_delay_s=2, max_delay_s=60, clock=clock)
    for _ in range(3):
        assert t.wait_s("alice", "10.0.0.1") == 0
        t.failed("alice", "10.0.0.1")
    assert t.wait_s("alice", "10.0.0.2") == 2  # the user is locked from any client
    assert t.wait_s("bob", "10.0.0.1") == 0  # the client is not (yet)
    clock.now += 2
    assert t.wait_s("alice", "10.0.0.2") == 0
    t.failed("alice", "10.0.0.2")
    assert t.wait_s("alice", "10.0.0.2") == 4  # doubles
    for name in ("x", "y"):
        t.failed(name, "10.0.0.1")
    assert t.wait_s("carol", "10.0.0.1") > 0  # five failures from one client, any names
    t.succeeded("alice", "10.0.0.3")
    clock.now += 100
    assert t.wait_s("alice", "10.0.0.9") == 0
    for i in range(20_000):  # memory stays bounded under a flood of names
        t.failed(f"n{i}", f"c{i}")
    assert len(t) <= t.max_entries


def test_a_flood_of_wrong_tokens_is_refused_without_checking_them(tmp_path, monkeypatch):
    from interfaces.web import pages

    web = make_web(tmp_path, signin_user_failures=3)
    calls = []
    real = pages.authenticate
    monkeypatch.setattr(pages, "authenticate", lambda *a: calls.append(1) or real(*a))
    with web.client() as client:
        for _ in range(3):
            assert client.post("/signin", data={"name": "alice", "token": "wrong"}).status_code == 401
        blocked = client.post("/signin", data={"name": "alice", "token": web.tokens["alice"]})
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        assert "Too many" in text_of(blocked.text)
        assert blocked.headers["x-frame-options"] == "DENY"
        assert len(calls) == 3  # the expensive hash is not computed while blocked
        assert client.post("/signin", data={"name": "bob", "token": web.tokens["bob"]}).status_code == 200


def test_sign_out_ends_the_session_without_the_csrf_token(tmp_path):
    web = make_web(tmp_path)
    with web.client() as client:
        sign_in(client, web, "alice")
        assert web.store.count("sessions") == 1
        out = client.post("/signout", data={})
        assert out.url.path == "/signin"
    assert web.store.count("sessions") == 0


def test_cookies_are_secure_when_served_over_https(tmp_path):
    web = make_web(tmp_path)
    from fastapi.testclient import TestClient

    with TestClient(web.app, base_url="https://testserver") as client:
        raw = client.post("/signin", data={"name": "vera", "token": web.tokens["vera"]},
                          follow_redirects=False)
        assert "secure" in raw.headers["set-cookie"].lower()
    with TestClient(web.app) as client:  # behind a TLS-terminating proxy
        raw = client.post("/signin", data={"name": "vera", "token": web.tokens["vera"]},
                          headers={"x-forwarded-proto": "https"}, follow_redirects=False)
        assert "secure" in raw.headers["set-cookie"].lower()
        raw = client.post("/signin", data={"name": "vera", "token": web.tokens["vera"]},
                          follow_redirects=False)
        assert "secure" not in raw.headers["set-cookie"].lower()


def test_a_viewers_check_keeps_no_file(tmp_path):
    web = make_web(tmp_path)
    with web.client() as client:
        csrf = sign_in(client, web, "vera")
        page = check_file(client, csrf, _csv(1))
        assert page.status_code == 200 and "Check of" in page.text
    assert list((tmp_path / "staging" / "bytes").iterdir()) == []


def test_staged_files_are_bounded_per_user_and_in_total(tmp_path):
    one = len(_csv(1))
    web = make_web(tmp_path, staging_files_per_user=2, staging_max_bytes=one * 3 + 10)
    bytes_dir = tmp_path / "staging" / "bytes"
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        for i in range(1, 5):
            assert check_file(client, csrf, _csv(i)).status_code == 200
        assert len(list(bytes_dir.iterdir())) == 2  # alice's two newest checks
        bob = sign_in(client, web, "bob")
        assert check_file(client, bob, _csv(7)).status_code == 200
        assert check_file(client, bob, _csv(8)).status_code == 200
    total = sum(p.stat().st_size for p in bytes_dir.iterdir())
    assert total <= one * 3 + 10


def test_staging_is_cleaned_on_a_schedule(tmp_path):
    web = make_web(tmp_path, staging_hours=5 / 3600, staging_clean_every_s=0.2)
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        assert check_file(client, csrf, _csv(1)).status_code == 200
        bytes_dir = tmp_path / "staging" / "bytes"
        assert len(list(bytes_dir.iterdir())) == 1
        deadline = time.time() + 30
        while list(bytes_dir.iterdir()) and time.time() < deadline:
            time.sleep(0.1)
        assert list(bytes_dir.iterdir()) == []
        assert list((tmp_path / "staging" / "pending").iterdir()) == []
    assert os.path.isdir(tmp_path / "staging")
