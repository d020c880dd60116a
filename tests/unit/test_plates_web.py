"""The web page's plate uploads: check, store, heat maps and curve plots, accepting a failed plate."""

from __future__ import annotations

import re

from tests.unit._web_client import hidden, make_web, sign_in, text_of


def _post(client, csrf, path, action="check", accept="", project="tyk2"):
    return client.post(f"/projects/{project}/plates/upload", data={"csrf_token": csrf, "action": action,
                                                                   "accept": accept},
                       files={"file": (path.name, path.read_bytes(), "text/csv")})


def test_check_store_and_accept_plates_on_the_web_page(tmp_path, testdata):
    calls = []
    web = make_web(tmp_path, sync_trigger=lambda url, project, upload_id: calls.append(upload_id) or {"ok": 1})
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
    client = web.client()
    csrf = sign_in(client, web, "vera")
    assert 'value="store"' not in client.get("/projects/tyk2/plates").text
    refused = _post(client, csrf, testdata / "plates" / "plate96_inactive.csv", action="store")
    assert refused.status_code == 403 and web.store.count("uploads") == 0
