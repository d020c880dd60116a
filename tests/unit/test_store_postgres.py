"""What only PostgreSQL needs checking; every other store, ingestion and ledger test runs on both
backends through the ``db_url`` fixture (``tests/conftest.py``, ``tests/pg_cluster.py``)."""

from __future__ import annotations

import pytest

from lab_sync.store import open_store


def test_the_postgresql_backend_is_a_real_server(pg_cluster):
    from sqlalchemy import text

    store = open_store(pg_cluster.new_database())
    assert store.engine.dialect.name == "postgresql" and store.engine.dialect.driver == "psycopg"
    with store.engine.connect() as conn:
        assert conn.execute(text("SHOW server_version")).scalar().split(".")[0].isdigit()
        assert conn.execute(text("SELECT inet_server_addr()::text")).scalar().startswith("127.0.0.1")


@pytest.mark.slow
def test_screen_stages_write_to_postgres(pg_cluster, tmp_path, monkeypatch):
    """Every store write of a screen run (runs, registry, models, prediction ledger, rankings)
    goes through psycopg: numpy values and booleans must be adapted."""
    from pipeline.config import DEMO_CONFIG, load_config
    from pipeline.screen import run_screen

    pg_url = pg_cluster.new_database()
    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    cfg = load_config(DEMO_CONFIG, ["generate.max_candidates=20", "screen.simulate_top_n=0",
                                    f"results_dir={tmp_path / 'results'}"])
    summary = run_screen(cfg, pg_url)
    assert summary["status"] == "completed"
    store = open_store(pg_url)
    assert store.count("predictions", "tyk2-demo") == summary["model"]["n_predicted"]
    assert store.count("rankings", "tyk2-demo") == summary["n_ranked"]
    assert list(store.read_table("runs")["status"]) == ["completed"]
