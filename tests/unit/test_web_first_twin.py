"""A project created on the page gets a useful twin from its first upload (not "skipped: run moltwin screen")."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _web_client import check_file, confirm, make_web, sign_in, text_of  # noqa: E402

from flows.sync_trigger import trigger_sync  # noqa: E402

FAST = ["model.model_kinds=[knn,random_forest]", "model.n_estimators=30", "model.cv_folds=3", "admet.enabled=false"]


def first_rows(repo_dir: Path, n: int) -> bytes:
    lines = (repo_dir / "data" / "tyk2" / "tyk2_measurements.csv").read_text().splitlines()
    return ("\n".join(lines[:1 + n]) + "\n").encode()


def test_created_project_first_upload_trains_ranks_and_reports(tmp_path, repo_dir, monkeypatch):
    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    results = tmp_path / "results"
    web = make_web(tmp_path, sync_trigger=lambda url, project, upload: trigger_sync(
        url, project, upload, results_dir=results, starter=FAST))
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        made = client.post("/projects-new", data={"csrf_token": csrf, "name": "tyk2-new", "target": "Tyk2", "core": ""})
        assert made.status_code == 200 and str(made.url).endswith("/projects/tyk2-new")
        checked = check_file(client, csrf, first_rows(repo_dir, 12), filename="first.csv", project="tyk2-new")
        assert "12 rows will be stored" in text_of(checked.text)
        stored = confirm(client, csrf, checked.text)
        words = text_of(stored.text)
        assert "twin update: done" in words, words[-2000:]
        assert ("first twin of tyk2-new: activity model trained on its measurements, prediction ledger started, "
                "measured compounds ranked") in words
        assert "skipped" not in words and "moltwin screen" not in words
        runs = client.get("/projects/tyk2-new/runs")
        report = re.search(r'href="(/runs/[^"]+/report)"', runs.text)
        assert runs.status_code == 200 and report, text_of(runs.text)
        served = client.get(report.group(1))
        screen = client.post("/projects/tyk2-new/runs/screen", data={"csrf_token": csrf})
    assert served.status_code == 200 and "tyk2-new" in served.text
    assert len(web.store.read_table("rankings", "tyk2-new")) == 12
    assert len(web.store.read_table("predictions", "tyk2-new")) == 12  # the ledger's first cycle
    # No core, no protein: the Runs page offers no screen, and a forged request is told why.
    assert screen.status_code == 409 and "no series core or no protein" in text_of(screen.text)
    assert 'id="start-screen"' not in runs.text
