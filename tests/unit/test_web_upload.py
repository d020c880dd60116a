"""The web page's check → confirm → result flow on real messy files, through the FastAPI app."""

from __future__ import annotations

import sys

import pytest

from _web_client import check_file, confirm, hidden, make_web, sign_in, text_of
from lab_sync.upload import upload_assay_file


@pytest.fixture()
def messy(testdata):
    return (testdata / "assays" / "messy_mixed.csv").read_bytes()


def _ranking_changes(store_url, project, upload_id):
    return {"ranking_changes": [{"compound_id": "007", "rank_before": 3, "rank_after": 1}],
            "project": project, "upload": upload_id}


def test_check_shows_every_problem_and_stores_nothing(tmp_path, messy):
    web = make_web(tmp_path)
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        page = check_file(client, csrf, messy, filename="C:\\lab\\plate 7\\messy.csv")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Check of messy.csv" in words  # only the base name, shown as text
    assert "9 rows in the file 3 rows will be stored 6 rows have problems" in words
    assert "8 units furlongs unknown concentration unit 'furlongs'" in words
    assert "9 test_concentration % inhibition needs the test concentration" in words
    assert "5 smiles not_a_smiles invalid structure" in words
    # exactly the rows that would be stored, normalized
    assert "2 007 TYK2-BIOCHEM IC50 = 120 nM 120 6.921" in words
    assert "4 008 TYK2-BIOCHEM IC50 > 10 µM 10000 5" in words
    assert "Store 3 measurements" in words
    assert web.store.count("uploads") == 0 and web.store.count("measurements") == 0
    assert not (tmp_path / "archive").exists() or not any((tmp_path / "archive").iterdir())


def test_confirm_stores_the_valid_rows_under_the_users_name(tmp_path, messy):
    web = make_web(tmp_path, sync_trigger=_ranking_changes)
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        checked = check_file(client, csrf, messy, filename="messy.csv")
        result = confirm(client, csrf, checked.text)
    assert result.status_code == 200 and "/uploads/" in str(result.url)
    uploads = web.store.read_table("uploads")
    assert len(uploads) == 1
    up = uploads.iloc[0]
    assert (up.uploader, up.filename, up.n_valid, up.n_invalid) == ("alice", "messy.csv", 3, 6)
    m = web.store.read_table("measurements", "tyk2")
    assert sorted(m["source_row"]) == [2, 3, 4] and set(m["upload_id"]) == {up.upload_id}
    assert web.store.count("quarantine") == 6
    assert (tmp_path / "archive" / f"{up.sha256}.csv").read_bytes() == messy
    words = text_of(result.text)
    assert f"Upload {up.upload_id}" in words and "uploaded by alice" in words
    assert "rows stored 3" in words and "rows with problems (kept aside) 6" in words
    assert "twin update: done" in words and "007 3 1" in words  # the hook's ranking change
    assert "007 TYK2-BIOCHEM IC50 6.971" in words  # the replicates combined


def test_a_second_click_commits_nothing_more(tmp_path, messy):
    web = make_web(tmp_path)
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        checked = check_file(client, csrf, messy)
        first = confirm(client, csrf, checked.text)
        second = confirm(client, csrf, checked.text)
        again = check_file(client, csrf, messy)  # the same bytes checked anew
    assert second.url == first.url
    assert "already stored" in text_of(again.text) and not hidden(again.text, "pending_id")
    assert web.store.count("uploads") == 1 and web.store.count("measurements") == 3


def test_a_different_or_altered_file_is_never_committed(tmp_path, messy):
    web = make_web(tmp_path)
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        checked = check_file(client, csrf, messy)
        swapped = confirm(client, csrf, checked.text, sha256="ab" * 32)
        assert swapped.status_code == 400 and "not the file that was checked" in swapped.text
        # the staged bytes changed on the server after the check
        staged = tmp_path / "staging" / "bytes" / f"{hidden(checked.text, 'sha256')}.csv"
        staged.write_bytes(messy.replace(b"120,nM", b"1.2,nM"))
        altered = confirm(client, csrf, checked.text)
    assert altered.status_code == 410 and "changed on the server" in altered.text
    assert web.store.count("uploads") == 0 and web.store.count("measurements") == 0


def test_viewers_check_files_but_cannot_commit(tmp_path, messy):
    web = make_web(tmp_path)
    with web.client() as alice_client, web.client() as vera_client:
        alice_csrf = sign_in(alice_client, web, "alice")
        alices_check = check_file(alice_client, alice_csrf, messy)
        vera_csrf = sign_in(vera_client, web, "vera")
        veras_check = check_file(vera_client, vera_csrf, messy)
        assert veras_check.status_code == 200 and "6 rows have problems" in text_of(veras_check.text)
        assert not hidden(veras_check.text, "pending_id") and "viewer" in veras_check.text
        refused = confirm(vera_client, vera_csrf, alices_check.text)
    assert refused.status_code == 403
    assert "may check files but not store them (role: viewer). Nothing was stored." in text_of(refused.text)
    assert web.store.count("uploads") == 0


def test_another_users_confirmation_and_forged_forms_are_refused(tmp_path, messy):
    web = make_web(tmp_path)
    with web.client() as alice_client, web.client() as bob_client:
        alice_csrf = sign_in(alice_client, web, "alice")
        checked = check_file(alice_client, alice_csrf, messy)
        bob_csrf = sign_in(bob_client, web, "bob")
        stolen = confirm(bob_client, bob_csrf, checked.text)
        forged = confirm(alice_client, "not-the-token", checked.text)
        no_csrf_check = check_file(alice_client, "", messy)
    assert stolen.status_code == 403 and "belongs to another sign-in" in stolen.text
    assert forged.status_code == 403 and no_csrf_check.status_code == 403
    assert web.store.count("uploads") == 0


def test_a_corrected_file_can_supersede_the_earlier_upload_of_that_name(tmp_path, messy):
    web = make_web(tmp_path)
    corrected = messy.replace(b"40,furlongs", b"40,nM")  # row 8 fixed
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        first = confirm(client, csrf, check_file(client, csrf, messy, filename="plate7.csv").text)
        old_id = str(first.url).rsplit("/", 1)[1]
        checked = check_file(client, csrf, corrected, filename="plate7.csv")
        assert f"corrects upload {old_id}" in text_of(checked.text)
        result = confirm(client, csrf, checked.text, supersedes="1")
        old_page = client.get(f"/uploads/{old_id}")
    assert f"This upload corrects upload {old_id}" in text_of(result.text)
    assert "This upload was corrected by upload" in text_of(old_page.text)
    m = web.store.read_table("measurements", "tyk2")
    assert len(m) == 7 and m["active"].astype(bool).sum() == 4  # 3 kept as history, 4 counted
    ups = web.store.read_table("uploads").set_index("upload_id")
    assert ups.loc[old_id, "status"] == "superseded"


def test_the_twin_changing_between_check_and_commit_shows_the_new_check(tmp_path, messy):
    web = make_web(tmp_path)
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        checked = check_file(client, csrf, messy)
        # meanwhile another upload registers compound 007 with a different structure
        other = tmp_path / "other.csv"
        other.write_text("compound_id,smiles,assay_id,endpoint,value,units\n007,c1ccccc1O,TYK2-BIOCHEM,IC50,5,uM\n")
        upload_assay_file(web.store, other, "tyk2", archive_dir=tmp_path / "archive")
        rechecked = confirm(client, csrf, checked.text)
    words = text_of(rechecked.text)
    assert rechecked.status_code == 200 and "The twin changed since you checked this file" in words
    assert "1 rows will be stored" in words  # only 008 is still fine
    assert web.store.count("uploads") == 1  # only the other upload


def test_twin_update_states_are_shown(tmp_path, messy, monkeypatch):
    def broken(store_url, project, upload_id):
        raise RuntimeError("model training needs 5 measurements")

    for trigger, expected in [("auto", "twin update: not available"),
                              (broken, "twin update: failed: RuntimeError: model training needs 5")]:
        monkeypatch.setitem(sys.modules, "flows.sync_trigger", None)  # the hook is not installed
        web = make_web(tmp_path / str(id(trigger)), sync_trigger=trigger)
        with web.client() as client:
            csrf = sign_in(client, web, "alice")
            result = confirm(client, csrf, check_file(client, csrf, messy).text)
        assert expected in text_of(result.text) and web.store.count("measurements") == 3


def test_unreadable_files_get_a_plain_message(tmp_path, testdata):
    web = make_web(tmp_path)
    cases = {"binary.csv": "binary file", "empty.csv": "the file is empty",
             "header_only.csv": "header but no data rows", "wrong_delimiter.csv": "single column"}
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        for name, message in cases.items():
            page = check_file(client, csrf, (testdata / "assays" / name).read_bytes(), filename=name)
            assert page.status_code == 422 and message in page.text, name
    assert web.store.count("uploads") == 0
