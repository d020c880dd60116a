"""The web page's sign-in, project choice, size limit, headers and the `moltwin users` commands."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from _web_client import check_file, hidden, make_web, sign_in, text_of
from lab_sync.store import open_store
from interfaces.web.forms import parse_multipart
from interfaces.web.users import authenticate
from interfaces.cli import app as cli_app


def test_every_page_needs_a_signed_in_user(tmp_path):
    web = make_web(tmp_path)
    with web.client() as client:
        for path in ("/", "/projects/tyk2", "/uploads/0123456789abcdef", "/project?new_name=x"):
            page = client.get(path)
            assert str(page.url).endswith("/signin") and "Sign in" in page.text, path
        assert client.post("/commit", data={"pending_id": "00" * 16}).status_code == 401
        assert check_file(client, "", b"a,b\n1,2\n").status_code == 401


def test_a_wrong_token_is_refused_plainly(tmp_path):
    web = make_web(tmp_path)
    with web.client() as client:
        page = client.post("/signin", data={"name": "alice", "token": web.tokens["bob"]})
        assert page.status_code == 401 and "That name and token do not match" in page.text
        assert not client.cookies and client.get("/").url.path == "/signin"


def test_sign_in_choose_project_and_sign_out(tmp_path):
    web = make_web(tmp_path)
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        assert client.cookies.get("moltwin_session")
        typo = client.get("/project", params={"name": "tky2"})
        assert typo.status_code == 404 and "There is no project 'tky2'" in text_of(typo.text)
        unknown = client.get("/projects/tyk2")  # never created implicitly by opening it
        assert unknown.status_code == 404 and "create it first" in text_of(unknown.text)
        form = client.get("/project", params={"new_name": "tyk2"})
        assert form.url.path == "/projects-new" and 'value="tyk2"' in form.text
        page = client.post("/projects-new", data={"csrf_token": csrf, "name": "tyk2", "target": "Tyk2"})
        assert page.url.path == "/projects/tyk2" and "Check an assay file" in page.text
        assert 'enctype="multipart/form-data"' in page.text and hidden(page.text, "csrf_token") == csrf
        home = client.get("/")
        assert '<option value="tyk2">' in home.text
        out = client.post("/signout", data={"csrf_token": csrf})
        assert out.url.path == "/signin"
    assert web.store.count("sessions") == 0


def test_forms_posted_from_another_site_are_refused(tmp_path):
    web = make_web(tmp_path)
    with web.client() as client:
        form = {"name": "alice", "token": web.tokens["alice"]}
        assert client.post("/signin", data=form, headers={"origin": "http://evil.example"}).status_code == 403
        assert client.post("/signin", data=form, headers={"origin": "null"}).status_code == 403
        assert not client.cookies
        assert client.post("/signin", data=form, headers={"origin": "http://testserver"}).status_code == 200


def test_session_cookie_and_security_headers(tmp_path):
    web = make_web(tmp_path)
    with web.client() as client:
        raw = client.post("/signin", data={"name": "vera", "token": web.tokens["vera"]}, follow_redirects=False)
        cookie = raw.headers["set-cookie"].lower()
        assert raw.status_code == 303 and "httponly" in cookie and "samesite=strict" in cookie
        page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "form-action 'self'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert "http://" not in page.text and "https://" not in page.text  # nothing loaded from elsewhere


def test_a_file_over_the_limit_gets_a_clear_message(tmp_path):
    web = make_web(tmp_path)  # the default 50 MB limit
    big = b"compound_id,smiles,assay_id,endpoint,value,units\n" + b"C1,CCO,A,IC50,5,nM\n" * 2_700_000
    assert len(big) > 50_000_000
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        page = check_file(client, csrf, big)
    assert page.status_code == 413
    assert "the limit is 50 MB. Split the file into smaller ones" in text_of(page.text)
    assert not any((tmp_path / "staging" / "bytes").iterdir()) and web.store.count("uploads") == 0


def test_a_body_far_over_the_limit_is_not_read(tmp_path):
    web = make_web(tmp_path, max_upload_bytes=1000)
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        assert check_file(client, csrf, b"x" * 500_000).status_code == 413
        assert "Check of" in check_file(client, csrf, b"compound_id,value\nC1,5\n").text


def test_multipart_parser_keeps_the_file_name_as_text_only():
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc\r\n"
            b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../a \\\"b\\\".csv\"\r\n"
            b"Content-Type: text/csv\r\n\r\nid,value\r\n1,2\r\n\r\n--XyZ--\r\n")
    form = parse_multipart(body, "multipart/form-data; boundary=XyZ")
    assert form.get("csrf_token") == "abc"
    assert form.files["file"].content == b"id,value\r\n1,2\r\n"
    assert form.files["file"].filename == '../../a \\"b\\".csv'


def test_users_commands_print_the_token_once_and_store_only_its_hash(tmp_path):
    runner, db = CliRunner(), str(tmp_path / "twin.db")
    open_store(db)  # `moltwin db init`
    added = runner.invoke(cli_app, ["users", "add", "alice", "--role", "uploader", "--db", db, "--json"])
    assert added.exit_code == 0, added.output
    token = json.loads(added.output)["token"]
    store = open_store(db)
    assert authenticate(store, "alice", token).can_upload
    assert token not in store.read_table("users").iloc[0].token_hash
    listed = runner.invoke(cli_app, ["users", "list", "--db", db])
    assert "alice" in listed.output and "uploader" in listed.output and token not in listed.output
    again = runner.invoke(cli_app, ["users", "add", "alice", "--role", "viewer", "--db", db])
    assert again.exit_code == 2 and "already exists" in again.output
    bad_role = runner.invoke(cli_app, ["users", "add", "bob", "--role", "admin", "--db", db])
    assert bad_role.exit_code == 2 and store.count("users") == 1
    assert "--port" in runner.invoke(cli_app, ["serve", "--help"]).output
