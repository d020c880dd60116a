"""Helpers for the web page tests: an app over a temporary store with two users, and form helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from lab_sync.store import TwinStore, open_store
from interfaces.web.app import create_app
from interfaces.web.context import WebSettings
from interfaces.web.users import add_user


@dataclass
class Web:
    store: TwinStore
    tokens: dict[str, str]
    settings: WebSettings
    app: object

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=True)


def make_web(tmp_path: Path, *, sync_trigger=None, **settings) -> Web:
    db = str(tmp_path / "twin.db")
    store = open_store(db)
    tokens = {"alice": add_user(store, "alice", "uploader"), "bob": add_user(store, "bob", "uploader"),
              "vera": add_user(store, "vera", "viewer")}
    cfg = WebSettings(staging_dir=tmp_path / "staging", archive_dir=tmp_path / "archive",
                      twin_update_inline=True, **settings)
    return Web(store, tokens, cfg, create_app(db, cfg, sync_trigger=sync_trigger))


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    return found.group(1) if found else ""


def sign_in(client: TestClient, web: Web, name: str) -> str:
    """Sign in; returns the session's CSRF token (from the sign-out form every page carries)."""
    page = client.post("/signin", data={"name": name, "token": web.tokens[name]})
    assert page.status_code == 200, page.text
    return hidden(page.text, "csrf_token")


def check_file(client: TestClient, csrf: str, data: bytes, filename: str = "results.csv",
               project: str = "tyk2", assay: str = ""):
    return client.post(f"/projects/{project}/validate", data={"csrf_token": csrf, "assay": assay},
                       files={"file": (filename, data, "text/csv")})


def confirm(client: TestClient, csrf: str, page_html: str, **override):
    form = {"csrf_token": csrf, "pending_id": hidden(page_html, "pending_id"),
            "sha256": hidden(page_html, "sha256"), **override}
    return client.post("/commit", data=form)


def text_of(html: str) -> str:
    """The page's visible words, for asserting on what a chemist reads."""
    body = re.sub(r"(?s)<(style|script)[^>]*>.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).replace("&#39;", "'").replace("&gt;", ">")
