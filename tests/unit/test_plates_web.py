"""The web page's plate uploads: check, store, heat maps and curve plots, accepting a failed plate."""

from __future__ import annotations

import re

from lab_sync.plates.plate_views import curve_fit_table
from lab_sync.projects import create_project
from tests.unit._web_client import hidden, make_web, sign_in, text_of


def _post(client, csrf, path, action="check", accept="", project="tyk2"):
    return client.post(f"/projects/{project}/plates/upload", data={"csrf_token": csrf, "action": action,
                                                                   "accept": accept},
                       files={"file": (path.name, path.read_bytes(), "text/csv")})


def test_check_store_and_accept_plates_on_the_web_page(tmp_path, testdata):
    calls = []
    web = make_web(tmp_path, sync_trigger=lambda url, project, upload_id: calls.append(upload_id) or {"ok": 1})
    create_project(web.store, "tyk2", "Tyk2", created_by="alice")
    client = web.client()
    csrf = sign_in(client, web, "alice")
    page = client.get("/projects/tyk2/plates")
    assert page.status_code == 200 and 'name="plate_map"' in page.text
    plates = testdata / "plates"
    check = _post(client, csrf, plates / "plate96_inactive.csv")
    text = text_of(check.text)
    assert check.status_code == 200 and "plate96_inactive.csv: dry_run" in text
    assert "Plate PLT-0096-I: Z′ 0.81" in text.replace("&prime;", "′")
    assert len(re.findall(r'src="data:image/svg\+xml;base64,', check.text)) == 1 + 3  # heat map + 3 curves
    assert "inactive" in text and "> 3e+04 nM" in text and "unknown well" in text
    assert web.store.count("uploads") == 0
    stored = _post(client, csrf, plates / "plate96_failing_controls.csv", action="store")
    assert stored.status_code == 200 and "committed" in text_of(stored.text) and "not used" in stored.text
    assert len(calls) == 1 and web.store.count("measurements", "tyk2") == 0
    listing = client.get("/projects/tyk2/plates")
    link = re.search(r'href="(/projects/tyk2/plates/[^"]+)">curves', listing.text).group(1)
    plate = client.get(link)
    assert plate.status_code == 200 and "Accept the plate" in plate.text and "failed" in plate.text
    accepted = client.post(link + "/accept", data={"csrf_token": hidden(plate.text, "csrf_token")})
    assert accepted.status_code == 200 and "accepted by alice" in text_of(accepted.text)
    assert web.store.count("measurements", "tyk2") == 4 and len(calls) == 2
    curves = client.get("/projects/tyk2/curves/ejm_31")
    assert curves.status_code == 200 and "plate PLT-0096-F" in text_of(curves.text)
    assert curves.text.count("data:image/svg+xml;base64,") == 1
    compound = client.get("/projects/tyk2/compounds/ejm_31")  # the compound page links its curves
    assert compound.status_code == 200, compound.text
    link = re.search(r'<p id="curves-link"><a href="([^"]+)">1 current curve fit\(s\)', compound.text)
    assert link and link.group(1) == "/projects/tyk2/curves/ejm_31"


def test_viewer_checks_but_cannot_store(tmp_path, testdata):
    web = make_web(tmp_path)
    create_project(web.store, "tyk2", "Tyk2", created_by="alice")
    client = web.client()
    csrf = sign_in(client, web, "vera")
    assert 'value="store"' not in client.get("/projects/tyk2/plates").text
    refused = _post(client, csrf, testdata / "plates" / "plate96_inactive.csv", action="store")
    assert refused.status_code == 403 and web.store.count("uploads") == 0


def test_unknown_project_gets_a_clear_404_on_every_plate_route(tmp_path, testdata):
    web = make_web(tmp_path)
    create_project(web.store, "tyk2", "Tyk2", created_by="alice")
    client = web.client()
    csrf = sign_in(client, web, "alice")
    for path in ("/projects/nosuch/plates", "/projects/nosuch/plates/PLT-1", "/projects/nosuch/curves/ejm_31"):
        page = client.get(path)
        assert page.status_code == 404, path
        assert "There is no project 'nosuch'" in text_of(page.text), path
    upload = _post(client, csrf, testdata / "plates" / "plate96_inactive.csv", action="store", project="nosuch")
    assert upload.status_code == 404 and "There is no project 'nosuch'" in text_of(upload.text)
    accept = client.post("/projects/nosuch/plates/PLT-1/accept", data={"csrf_token": csrf})
    assert accept.status_code == 404
    assert web.store.count("uploads") == 0 and "nosuch" not in set(web.store.read_table("projects")["name"])


def test_one_compounds_curves_are_read_by_compound(tmp_path, testdata):
    web = make_web(tmp_path)
    create_project(web.store, "tyk2", "Tyk2", created_by="alice")
    client = web.client()
    csrf = sign_in(client, web, "alice")
    assert _post(client, csrf, testdata / "plates" / "plate96_inactive.csv", action="store").status_code == 200
    every = curve_fit_table(web.store, "tyk2")
    assert every["compound_id"].nunique() >= 2
    one = every["compound_id"].iloc[0]
    mine = curve_fit_table(web.store, "tyk2", compound_id=one)
    assert len(mine) == (every["compound_id"] == one).sum() and set(mine["compound_id"]) == {one}
    other = every.loc[every["compound_id"] != one, "compound_id"].iloc[0]
    page = client.get(f"/projects/tyk2/curves/{one}")
    assert page.status_code == 200 and page.text.count("data:image/svg+xml;base64,") == len(mine)
    assert f"{other} (" not in text_of(page.text)
