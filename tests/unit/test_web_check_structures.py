"""The check page draws new compounds and says where a known structure under a new name is filed."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _web_client import check_file, make_web, sign_in, text_of  # noqa: E402

from lab_sync.upload import upload_assay_file  # noqa: E402

SMI = "CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1"
HEAD = "compound_id,smiles,assay_id,endpoint,value,units\n"


def test_check_page_draws_new_compounds_and_names_where_known_ones_go(tmp_path):
    web = make_web(tmp_path)
    first = tmp_path / "first.csv"
    first.write_text(HEAD + f"REG-1,{SMI},T,IC50,10,nM\n")
    upload_assay_file(web.store, first, "tyk2", archive_dir=tmp_path / "a")
    data = (HEAD + f"NEWNAME-7,{SMI},T,IC50,12,nM\n"          # same structure, new name
            + "<b>X</b>,O=C(CO)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1,T,IC50,30,nM\n").encode()
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        page = check_file(client, csrf, data)
    words = text_of(page.text)
    assert page.status_code == 200
    assert "NEWNAME-7" in words and "REG-1" in words and "filed under" in words
    assert page.text.count("<svg") >= 1 and 'id="new-structures"' in page.text
    assert "<b>X</b>" not in page.text and "&lt;b&gt;X&lt;/b&gt;" in page.text  # ids stay text
    assert "<script" not in page.text.split('id="new-structures"')[1].split("</section>")[0]


def test_report_lists_renamed_and_new_structures(tmp_path):
    from lab_sync.store import open_store

    store = open_store(str(tmp_path / "t.db"))
    first = tmp_path / "first.csv"
    first.write_text(HEAD + f"REG-1,{SMI},T,IC50,10,nM\n")
    upload_assay_file(store, first, "p", archive_dir=tmp_path / "a")
    second = tmp_path / "second.csv"
    second.write_text(HEAD + f"ALIAS,{SMI},T,IC50,11,nM\nN1,C{SMI},T,IC50,5,nM\n")
    rep = upload_assay_file(store, second, "p", archive_dir=tmp_path / "a", dry_run=True)
    assert rep.filed_under == {"ALIAS": "REG-1"}
    assert list(rep.new_structures) == ["N1"] and "Cl" in rep.new_structures["N1"]
    assert any("ALIAS" in n and "REG-1" in n for n in rep.notes)
