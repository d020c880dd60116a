"""The twin's browsing pages over a small real Tyk2 twin: home, projects, grid, compound, what-if, SAR, runs."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from rdkit import Chem

from _twin_data import fill_tyk2
from _web_client import make_web, sign_in, text_of
from lab_sync.ledger import score_ledger
from ranking.grid_query import MAX_QUERY_CHARS

CORE = "O=C(Nc1ccnc(N[*:1])c1)c1c(Cl)cccc1[*:2]"


@pytest.fixture()
def twin_web(tmp_path, repo_dir):
    web = make_web(tmp_path)
    info = fill_tyk2(web.store, repo_dir, tmp_path)
    web.app.state.twin.extra["admet"] = False  # admet-ai's cold load takes ~10 s; its own tests cover it
    return web, info


def _ids(html: str) -> list[str]:
    return re.findall(r'<tr class="row" data-id="([^"]+)"', html)


def test_pages_need_sign_in_and_home_links_every_page(twin_web):
    web, _ = twin_web
    with web.client() as client:
        for path in ("/overview", "/projects/tyk2/compounds", "/projects/tyk2/whatif", "/projects/tyk2/sar",
                     "/projects/tyk2/runs", "/projects/tyk2/compounds/ejm_31", "/runs/screen-1/report"):
            assert client.get(path).url.path == "/signin", path
        sign_in(client, web, "vera")
        home = client.get("/")
    for link in ("/overview", "/projects/tyk2/compounds", "/projects/tyk2/whatif", "/projects/tyk2/sar",
                 "/projects/tyk2/runs", 'href="/projects/tyk2"'):
        assert link in home.text, link
    assert 'id="project-select"' in home.text  # the upload page is chosen from the list here


def test_projects_page_shows_state_and_the_ledgers_prospective_scores(twin_web):
    web, _ = twin_web
    with web.client() as client:
        sign_in(client, web, "vera")
        page = client.get("/overview")
        unknown = client.get("/projects/nope/compounds")
    words = text_of(page.text)
    assert "16 compounds" in words and "16 measured" in words
    assert "drop: 8; make: 8" in words and "later.csv by alice" in words and "screen-1 : completed" in words
    cycle = score_ledger(web.store, "tyk2").iloc[0]
    assert cycle["n_exact"] == 6  # the six measured after the model predicted them
    drawn = re.findall(r'id="rmse-tyk2".*?data-value="([0-9.]+)"', page.text)
    assert drawn and float(drawn[0]) == pytest.approx(cycle["rmse"], abs=1e-3)
    assert f'data-value="{cycle["coverage_80"]:.3f}"' in page.text
    assert unknown.status_code == 404 and "There is no project 'nope'" in text_of(unknown.text)


def test_grid_pages_sorts_and_filters(twin_web):
    web, info = twin_web
    with web.client() as client:
        sign_in(client, web, "vera")
        first = client.get("/projects/tyk2/compounds")
        by_activity = client.get("/projects/tyk2/compounds", params={"sort": "measured_p_activity", "desc": "1"})
        made = client.get("/projects/tyk2/compounds", params={"decision": "make"})
        heavy = client.get("/projects/tyk2/compounds", params={"min_mw_da": "380"})
        pyridine = client.get("/projects/tyk2/compounds", params={"substructure": "c1ccncc1"})
        cyclopropyl = client.get("/projects/tyk2/compounds", params={"substructure": "[CR1]1[CR1][CR1]1"})
    assert first.status_code == 200 and len(_ids(first.text)) == 16
    table = web.app.state.twin.cache.table("tyk2").table
    expected = table.sort_values("measured_p_activity", ascending=False)["compound_id"].tolist()
    assert _ids(by_activity.text) == expected
    assert set(_ids(made.text)) == set(table[table["decision"] == "make"]["compound_id"]) and len(_ids(made.text)) == 8
    assert set(_ids(heavy.text)) == set(table[table["mw_da"] >= 380]["compound_id"])
    assert len(_ids(pyridine.text)) == 16  # the whole series is built on an aminopyridine
    pattern = Chem.MolFromSmarts("[CR1]1[CR1][CR1]1")
    rings = {c for c, s in zip(table["compound_id"], table["smiles"]) if Chem.MolFromSmiles(s).HasSubstructMatch(pattern)}
    assert 0 < len(rings) < 16 and set(_ids(cyclopropyl.text)) == rings


def test_grid_pages_of_fifty(tmp_path):
    web = make_web(tmp_path)
    smiles = [f"C{'C' * i}O" for i in range(120)]
    web.store.register_compounds("big", [{"compound_id": f"c{i:03d}", "smiles": s,
                                          "inchikey": Chem.MolToInchiKey(Chem.MolFromSmiles(s)), "origin": "test"}
                                         for i, s in enumerate(smiles)])
    with web.client() as client:
        sign_in(client, web, "vera")
        page3 = client.get("/projects/big/compounds", params={"page": "3", "sort": "compound_id"})
        too_far = client.get("/projects/big/compounds", params={"page": "9", "sort": "compound_id"})
    assert _ids(page3.text) == [f"c{i:03d}" for i in range(100, 120)]
    assert "page 3 of 3" in text_of(page3.text) and 'id="prev-page"' in page3.text
    assert _ids(too_far.text) == _ids(page3.text)


@pytest.mark.parametrize("params, message", [
    ({"substructure": "C((("}, "is neither a valid SMILES nor a valid SMARTS"),
    ({"substructure": "C" * (MAX_QUERY_CHARS + 1)}, f"the limit is {MAX_QUERY_CHARS}"),
    ({"substructure": "C" * 80}, "atoms; the limit is 60"),
    ({"min_mw_da": "heavy"}, "MW (Da): 'heavy' is not a number"),
    ({"sort": "password"}, "cannot sort by 'password'"),
    ({"page": "-1"}, "is not a page number"),
])
def test_grid_bad_input_gets_a_clear_message(twin_web, params, message):
    web, _ = twin_web
    with web.client() as client:
        sign_in(client, web, "vera")
        page = client.get("/projects/tyk2/compounds", params=params)
    assert page.status_code == 400 and message in text_of(page.text)


def test_export_the_selection_as_csv_and_sdf(twin_web):
    web, _ = twin_web
    with web.client() as client:
        sign_in(client, web, "vera")
        csv = client.get("/projects/tyk2/compounds.csv", params={"decision": "drop", "sort": "compound_id"})
        sdf = client.get("/projects/tyk2/compounds.sdf", params={"substructure": "[CR1]1[CR1][CR1]1"})
        bad = client.get("/projects/tyk2/compounds.sdf", params={"substructure": "C((("})
    rows = pd.read_csv(io.StringIO(csv.text))
    assert len(rows) == 8 and set(rows["decision"]) == {"drop"} and list(rows["compound_id"]) == sorted(rows["compound_id"])
    assert "attachment" in csv.headers["content-disposition"]
    records = [m for m in Chem.ForwardSDMolSupplier(io.BytesIO(sdf.content)) if m is not None]
    assert 0 < len(records) < 16 and all(m.HasProp("inchikey") for m in records)
    assert bad.status_code == 400 and "neither a valid SMILES" in text_of(bad.text)


def test_compound_page_shows_only_predictions_made_before_the_measurement(twin_web):
    web, info = twin_web
    later, early = info["later"][0], info["first"][0]
    with web.client() as client:
        sign_in(client, web, "vera")
        page = client.get(f"/projects/tyk2/compounds/{later}")
        measured_first = client.get(f"/projects/tyk2/compounds/{early}")
        missing = client.get("/projects/tyk2/compounds/nope")
    words = text_of(page.text)
    predicted = info["preds"].loc[later, "pred_p_activity"]
    assert f"{predicted:.4g}" in re.search(r'id="predictions".*?</table>', page.text, re.S).group(0)
    assert "later.csv" in words and "current" in words
    decision = web.store.read_table("rankings", "tyk2", compound_id=later)["decision"].iloc[0]
    assert f"{decision} (stage" in words
    inchikey = web.store.read_table("compounds", "tyk2", compound_id=later)["inchikey"].iloc[0]
    assert inchikey in words
    assert "made no prediction for this compound before it was measured" in text_of(measured_first.text)
    assert "1 later prediction" in text_of(measured_first.text)
    assert missing.status_code == 404 and "has no compound 'nope'" in text_of(missing.text)


def test_whatif_predicts_with_the_projects_model(twin_web):
    web, info = twin_web
    from chem.models.predict import predict_activity

    smiles = "O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1F"
    with web.client() as client:
        sign_in(client, web, "vera")
        page = client.get("/projects/tyk2/whatif", params={"smiles": smiles})
    model = web.app.state.twin.models.model("tyk2")
    assert model.model_id == info["model_id"]
    expected = predict_activity(model, [smiles]).iloc[0]
    words = text_of(page.text)
    assert page.status_code == 200 and f"{expected['pred_p_activity']:.4g}" in words
    assert f"{expected['lower_80']:.4g}" in words
    assert ("in the model's domain" if expected["in_domain"] else "outside the model's domain") in words
    assert re.search(r'id="verdicts".*?<td>(pass|fail)</td>', page.text, re.S)
    assert 'id="gates"' in page.text and "ADMET not predicted" in words
    neighbours = re.findall(r'id="neighbours".*?</table>', page.text, re.S)[0]
    assert neighbours.count("<tr>") == 6  # header + 5 nearest measured compounds
    assert 'id="add-to-batch"' not in page.text  # a viewer may ask, not act


@pytest.mark.parametrize("smiles, message", [("xyz", "cannot be used: SMILES syntax error"),
                                             ("C" * 600, "the limit is 500"),
                                             ("C1CC", "cannot be used")])
def test_whatif_bad_smiles_gets_a_clear_message(twin_web, smiles, message):
    web, _ = twin_web
    with web.client() as client:
        sign_in(client, web, "vera")
        page = client.get("/projects/tyk2/whatif", params={"smiles": smiles})
    assert page.status_code == 400 and message in text_of(page.text)


def test_whatif_add_to_next_batch_and_refusals(twin_web):
    web, _ = twin_web
    smiles = "O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1F"
    with web.client() as client:
        vera = sign_in(client, web, "vera")
        refused = client.post("/projects/tyk2/whatif/batch", data={"csrf_token": vera, "smiles": smiles})
        alice = sign_in(client, web, "alice")
        stale = client.post("/projects/tyk2/whatif/batch", data={"csrf_token": "x", "smiles": smiles})
        added = client.post("/projects/tyk2/whatif/batch", data={"csrf_token": alice, "smiles": smiles})
        no_config = client.post("/projects/tyk2/whatif/simulate", data={"csrf_token": alice, "smiles": smiles})
    assert refused.status_code == 403 and "uploader role" in refused.text
    assert stale.status_code == 403
    batch = web.store.read_table("compounds", "tyk2", origin="what-if: next batch")
    assert len(batch) == 1 and "is in the next batch" in text_of(added.text)
    assert batch["compound_id"].iloc[0] in re.search(r'id="next-batch".*?</table>', added.text, re.S).group(0)
    assert no_config.status_code == 409 and "Run a screen first" in text_of(no_config.text)


def test_sar_page_decomposes_on_the_core(twin_web):
    web, _ = twin_web
    with web.client() as client:
        sign_in(client, web, "vera")
        page = client.get("/projects/tyk2/sar", params={"core": CORE})
        bad = client.get("/projects/tyk2/sar", params={"core": "C(((("})
        none = client.get("/projects/tyk2/sar")
    words = text_of(page.text)
    assert page.status_code == 200 and "16 of 16 measured compounds match the core" in words
    assert page.text.count('class="cell activity"') == 16 and 'id="pairs"' in page.text and 'id="cliffs"' in page.text
    assert bad.status_code == 400 and "neither SMILES nor SMARTS" in text_of(bad.text)
    assert "no saved series core" in text_of(none.text)


def test_runs_page_and_the_report_served_by_the_app(twin_web, tmp_path):
    web, _ = twin_web
    with web.client() as client:
        sign_in(client, web, "alice")
        missing = client.get("/runs/screen-1/report")
        folder = tmp_path / "results" / "screen-1"
        folder.mkdir(parents=True)
        (folder / "report.html").write_text("<html><body><h1>Ranked candidates</h1></body></html>")
        runs = client.get("/projects/tyk2/runs")
        report = client.get("/runs/screen-1/report")
        no_screen = client.post("/projects/tyk2/runs/screen", data={"csrf_token": sign_in(client, web, "alice")})
    assert missing.status_code == 404 and "has no report" in missing.text
    assert 'href="/runs/screen-1/report"' in runs.text and "completed" in text_of(runs.text)
    assert str(tmp_path) not in runs.text  # a link, not a file path
    assert report.status_code == 200 and "Ranked candidates" in report.text
    assert no_screen.status_code == 409


def test_job_queue_runs_one_job_at_a_time_and_keeps_failures(tmp_path):
    import threading
    from interfaces.web.job_queue import JobQueue

    jobs, running, overlap = JobQueue("sqlite://"), [], []
    lock = threading.Lock()

    def work(i):
        with lock:
            running.append(i)
            overlap.append(len(running))
        import time
        time.sleep(0.05)
        with lock:
            running.remove(i)
        if i == 2:
            raise ValueError("no protein")
        return {"message": f"job {i} done"}

    submitted = [jobs.submit("simulate", "p", f"c{i}", "alice", lambda i=i: work(i)) for i in range(3)]
    jobs.wait(10)
    assert max(overlap) == 1
    assert [j.status for j in submitted] == ["done", "done", "failed"]
    assert submitted[0].message == "job 0 done" and "no protein" in submitted[2].message
    assert [j.label for j in jobs.for_project("p")][0] in {"c0", "c1", "c2"}


def test_create_a_project_explicitly_with_clear_messages(tmp_path, repo_dir):
    from lab_sync.projects import project_target

    web = make_web(tmp_path)
    protein = (repo_dir / "data" / "tyk2" / "protein.pdb").read_bytes()
    with web.client() as client:
        vera = sign_in(client, web, "vera")
        assert client.get("/projects-new").status_code == 403
        refused = client.post("/projects-new", data={"csrf_token": vera, "name": "x", "target": "X"})
        csrf = sign_in(client, web, "alice")
        bad = {"csrf_token": csrf, "name": "jak1", "target": "JAK1"}
        cases = [({**bad, "name": "my series"}, "cannot be a project name"),
                 ({**bad, "target": ""}, "Name the target"),
                 ({**bad, "core": "C1CC(("}, "neither a valid SMILES nor a valid SMARTS")]
        answers = [(client.post("/projects-new", data=form), message) for form, message in cases]
        not_pdb = client.post("/projects-new", data=bad, files={"protein": ("p.pdb", b"hello", "chemical/x-pdb")})
        made = client.post("/projects-new", data={**bad, "core": CORE},
                           files={"protein": ("protein.pdb", protein, "chemical/x-pdb")})
        again = client.post("/projects-new", data=bad)
        sar = client.get("/projects/jak1/sar")
    assert refused.status_code == 403 and web.store.count("projects") == 1  # only jak1, made below
    for page, message in answers:
        assert page.status_code == 400 and message in text_of(page.text), message
    assert not_pdb.status_code == 400 and "no ATOM records" in text_of(not_pdb.text)
    assert made.url.path == "/projects/jak1"
    target = project_target(web.store, "jak1")
    assert target["target"] == "JAK1" and target["core_smiles"] == CORE and target["created_by"] == "alice"
    assert open(target["protein_pdb"], "rb").read() == protein
    assert again.status_code == 400 and "already a project 'jak1'" in text_of(again.text)
    assert f'value="{CORE}"' in sar.text  # the SAR page starts from the core given at creation


def test_what_changed_after_an_upload_reads_as_decisions_and_evidence(tmp_path, testdata):
    from _web_client import check_file, confirm

    def sync(store_url, project, upload_id):
        return {"project": project, "upload_id": upload_id, "run_id": "sync-1", "report_html": "/x/report.html",
                "ranking_changes": [{"compound_id": "007", "change": "decision", "previous_rank": 4, "current_rank": 1,
                                     "rank_change": 3, "previous_decision": "test", "current_decision": "make",
                                     "detail": "measured pIC50 8.1 now clears the potency gate"}],
                "model": {"model_id": "m2", "model_kind": "random_forest", "n_train": 12, "n_predicted": 40,
                          "cv_metrics": {"rmse": 0.61}},
                "ledger": [{"cycle": 1, "model_id": "m1", "n_exact": 3, "rmse": 0.72, "coverage_80": 0.67}],
                "next_batch": ["007", "008"], "notes": []}

    web = make_web(tmp_path, sync_trigger=sync)
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        checked = check_file(client, csrf, (testdata / "assays" / "messy_mixed.csv").read_bytes())
        page = confirm(client, csrf, checked.text)
    words = text_of(page.text)
    assert "Decisions that changed" in words and "test → make" in words and "4 → 1" in words
    assert "measured pIC50 8.1 now clears the potency gate" in words
    assert "random_forest on 12 measured compounds (cross-validated RMSE 0.61)" in words
    assert "3 compounds measured after the twin predicted them, RMSE 0.72, 80 % interval coverage 0.67" in words
    assert 'href="/runs/sync-1/report"' in page.text and 'href="/projects/tyk2/compounds/007"' in page.text
    assert "/x/report.html" not in words.split("All details")[0]  # no file path in the readable part


def test_a_big_table_is_refreshed_in_the_background_and_smarts_atoms_stay_queries(tmp_path):
    import time

    from interfaces.web.twin_cache import TwinCache
    from lab_sync.store import open_store
    from ranking.grid_query import GridQuery, build_substructure_library, run_query

    store = open_store(str(tmp_path / "twin.db"))
    rows = [{"compound_id": f"c{i}", "smiles": s, "inchikey": Chem.MolToInchiKey(Chem.MolFromSmiles(s)), "origin": "t"}
            for i, s in enumerate(["CCO", "c1ccccc1O", "CC(=O)N"])]
    store.register_compounds("p", rows[:2])
    cache = TwinCache(store, tmp_path / "cache", background_rows=0)
    assert len(cache.table("p").table) == 2 and not cache.table("p").stale
    store.register_compounds("p", rows[2:])
    first = cache.table("p")
    assert first.stale and len(first.table) == 2  # served at once, refreshed behind
    deadline = time.time() + 30
    while cache.table("p").stale or len(cache.table("p").table) != 3:
        assert time.time() < deadline
        time.sleep(0.05)
    table = cache.table("p").table
    library = build_substructure_library(table["smiles"].tolist())
    hits = run_query(table, GridQuery(substructure="[#6]", sort="compound_id"), library).rows
    assert list(hits["compound_id"]) == ["c0", "c1", "c2"]  # [#6] is any carbon, not "carbon without H"
    kekule = run_query(table, GridQuery(substructure="C1=CC=CC=C1", sort="compound_id"), library).rows
    assert list(kekule["compound_id"]) == ["c1"]  # a Kekule benzene finds the aromatic ring


@pytest.mark.slow
def test_a_queued_simulation_runs_real_md_and_lands_on_the_compound_page(tmp_path, repo_dir, monkeypatch):
    """What-if -> queue a simulation -> the one-job queue runs a (very short) real MD of the Tyk2 pocket."""
    import time

    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    web = make_web(tmp_path)
    fill_tyk2(web.store, repo_dir, tmp_path, saved_config=True, simulate={
        "platform": "CPU", "pocket_radius_angstrom": 6.0, "minimize_max_iterations": 20, "equilibration_steps": 10,
        "production_steps": 20, "report_interval_steps": 5})
    web.app.state.twin.extra["admet"] = False
    # open stereocentres are refused since #18, so the analog has none
    smiles = "O=C(Nc1ccnc(NC(=O)C2CCC2)c1)c1c(Cl)cccc1F"  # not in the series, no stereocentre
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        queued = client.post("/projects/tyk2/whatif/simulate", data={"csrf_token": csrf, "smiles": smiles})
        cid = queued.url.path.rsplit("/", 1)[-1]
        assert queued.status_code == 200 and cid.startswith("WI-") and 'class="notice job"' in queued.text
        web.app.state.twin.jobs.wait(900)
        page = client.get(f"/projects/tyk2/compounds/{cid}")
        runs = client.get("/projects/tyk2/runs")
    job = web.app.state.twin.jobs.for_project("tyk2")[0]
    assert job.status == "done", job.message + job.result.get("traceback", "")
    sims = web.store.read_table("simulations", "tyk2", compound_id=cid)
    assert len(sims) == 1 and sims["status"].iloc[0] == "ok"
    table = re.search(r'id="simulations".*?</table>', page.text, re.S).group(0)
    assert f"{sims['mmgbsa_kcal_mol'].iloc[0]:.4g}" in table
    assert 'id="rmsd-' in page.text and 'data-pose="pose-' in page.text  # the trace and the 3D pose
    assert 'data-pose-end="pose-end-' in page.text  # the real run's last checkpoint lines up with its start model
    assert "simulate" in text_of(runs.text) and "completed" in text_of(runs.text)
