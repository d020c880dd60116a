"""The upload page's column-mapping step: guessed columns shown, chosen, refused when wrong, remembered."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _web_client import check_file, confirm, hidden, make_web, sign_in, text_of  # noqa: E402

from lab_sync.column_mappings import saved_mapping  # noqa: E402

SMI = "CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1"
# A CRO export: "Sample Code" and "Mean Result" are no header MolTwin knows by itself.
LAB = ("Sample Code,SMILES,Assay,Endpoint,Qualifier,Mean Result,Units\n"
       f"CRO-1,{SMI},TYK2-BIOCHEM,IC50,=,120,nM\n"
       "CRO-2,O=C(CO)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1,TYK2-BIOCHEM,IC50,>,10000,nM\n"
       "CRO-3,CCC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1,TYK2-BIOCHEM,IC50,=,45,nM\n").encode()
CHOICE = {"map_0": "compound_id", "map_1": "smiles", "map_2": "assay_id", "map_3": "endpoint",
          "map_4": "qualifier", "map_5": "value", "map_6": "units"}


def _selected(html: str, index: int) -> str:
    select = re.search(rf'<select name="map_{index}".*?</select>', html, re.S).group(0)
    found = re.search(r'<option value="([^"]*)" selected>', select)
    return found.group(1) if found else ""


def test_guessed_columns_are_shown_applied_when_chosen_and_remembered(tmp_path):
    web = make_web(tmp_path)
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        first = check_file(client, csrf, LAB, filename="cro.csv")
        words = text_of(first.text)
        assert first.status_code == 200 and 'id="mapping"' in first.text
        assert 'id="app-name">MolTwin</a>' in first.text and "lab uploads" not in first.text  # the twin, not an upload tool
        assert "0 rows will be stored" in words and "required column 'value' not found" in words
        # the guesses are pre-selected, marked as guesses and not applied until checked again
        assert _selected(first.text, 5) == "value" and _selected(first.text, 0) == "compound_id"
        assert "guess : check again to use it" in words
        assert "120 · 10000 · 45" in words  # the column's first values help the chemist choose
        draft = hidden(first.text, "draft_id")
        assert draft and not hidden(first.text, "pending_id")

        again = client.post("/projects/tyk2/columns", data={"csrf_token": csrf, "draft_id": draft, **CHOICE})
        words = text_of(again.text)
        assert again.status_code == 200 and "3 rows will be stored" in words
        assert "2 CRO-1 TYK2-BIOCHEM IC50 = 120 nM 120 6.921" in words
        assert again.text.split('id="to-store"')[1].split("</table>")[0].count("<svg") == 3  # each row drawn
        stored = confirm(client, csrf, again.text)
        assert stored.status_code == 200 and "/uploads/" in str(stored.url)

    assert web.store.count("measurements", "tyk2") == 3
    assert saved_mapping(web.store, "tyk2") == {"sample code": "compound_id", "mean result": "value"}

    # The project's next file with the same headers is read the same way at once.
    second = LAB.replace(b"CRO-", b"CRO-B").replace(b",120,", b",130,")
    with web.client() as client:
        csrf = sign_in(client, web, "bob")
        page = check_file(client, csrf, second, filename="cro-2.csv")
    words = text_of(page.text)
    assert "3 rows will be stored" in words and "as last time" in words
    assert _selected(page.text, 5) == "value"
    with web.client() as client:
        sign_in(client, web, "bob")
        project = text_of(client.get("/projects/tyk2").text)
    assert "mean result → value; sample code → compound id" in project


def test_a_bad_mapping_gets_a_clear_message_and_stores_nothing(tmp_path):
    web = make_web(tmp_path)
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        first = check_file(client, csrf, LAB, filename="cro.csv")
        draft = hidden(first.text, "draft_id")
        twice = client.post("/projects/tyk2/columns", data={"csrf_token": csrf, "draft_id": draft,
                                                            **CHOICE, "map_4": "value"})
        assert twice.status_code == 422
        words = text_of(twice.text)
        assert ("2 columns of the file are read as value: 'Qualifier', 'Mean Result'. Choose one of them and set "
                "the others to 'not stored'.") in words
        assert _selected(twice.text, 4) == "value"  # the refused choice is shown for correcting
        forged = client.post("/projects/tyk2/columns", data={"csrf_token": csrf, "draft_id": draft,
                                                             **CHOICE, "map_1": "favourite_colour"})
        assert forged.status_code == 422 and "is not a column MolTwin stores" in text_of(forged.text)
        short = client.post("/projects/tyk2/columns", data={"csrf_token": csrf, "draft_id": draft, "map_0": "smiles"})
        assert short.status_code == 422 and "does not match this file" in text_of(short.text)
        gone = client.post("/projects/tyk2/columns", data={"csrf_token": csrf, "draft_id": "ab" * 16, **CHOICE})
        assert gone.status_code == 410
        # Ignoring a column whose values are qualifiers is refused by the check itself.
        ignored = client.post("/projects/tyk2/columns", data={"csrf_token": csrf, "draft_id": draft,
                                                              **CHOICE, "map_4": ""})
        assert "0 rows will be stored" in text_of(ignored.text) and "look like qualifiers" in text_of(ignored.text)
    assert web.store.count("measurements") == 0 and saved_mapping(web.store, "tyk2") == {}


def test_viewers_see_the_columns_but_cannot_map_them(tmp_path):
    web = make_web(tmp_path)
    with web.client() as client:
        csrf = sign_in(client, web, "vera")
        page = check_file(client, csrf, LAB, filename="cro.csv")
        assert page.status_code == 200 and 'id="mapping"' in page.text and "disabled" in page.text
        assert not hidden(page.text, "draft_id")
        refused = client.post("/projects/tyk2/columns", data={"csrf_token": csrf, "draft_id": "ab" * 16, **CHOICE})
    assert refused.status_code == 403
    assert not any((tmp_path / "staging" / "bytes").iterdir())  # a viewer's file is never kept


def test_an_unreadable_file_checked_again_gets_a_message(tmp_path):
    web = make_web(tmp_path)
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        first = check_file(client, csrf, b"compound_id,value\n", filename="header_only.csv")
        draft = re.search(r"[0-9a-f]{32}", "".join(p.stem for p in (tmp_path / "staging" / "drafts").glob("*.json")))
        again = client.post("/projects/tyk2/columns", data={"csrf_token": csrf, "draft_id": draft.group(0),
                                                            "map_0": "compound_id", "map_1": "value"})
    assert first.status_code == 422 and again.status_code == 422
    assert "header but no data rows" in text_of(again.text)
