"""The twin store on every backend (``db_url``: SQLite and PostgreSQL)."""

import pytest

from lab_sync import schema
from lab_sync.store import open_store, resolve_db_url
from moltwin.errors import StoreError


def test_resolve_db_url_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("MOLTWIN_DB", raising=False)
    assert resolve_db_url(None, cwd=tmp_path) == f"sqlite:///{tmp_path / 'moltwin.db'}"
    monkeypatch.setenv("MOLTWIN_DB", "postgresql+psycopg://u@localhost/twin")
    assert resolve_db_url(None).startswith("postgresql")
    assert resolve_db_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"


def test_migrations_are_applied_once_and_recorded(db_url):
    db = db_url
    store = open_store(db)
    assert store.schema_version() == schema.LATEST_VERSION
    assert store.migrate() == []  # idempotent
    assert open_store(db).schema_version() == schema.LATEST_VERSION


def test_register_compounds_dedupes_by_inchikey_and_guards_ids(db_url):
    store = open_store(db_url)
    rows = [{"compound_id": "A", "smiles": "CCO", "inchikey": "LFQSCWFLJHTTHZ-UHFFFAOYSA-N", "origin": "x"},
            {"compound_id": "B", "smiles": "OCC", "inchikey": "LFQSCWFLJHTTHZ-UHFFFAOYSA-N", "origin": "x"}]
    out = store.register_compounds("p", rows)
    assert list(out["status"]) == ["new", "existing"] and out.loc[1, "registered_id"] == "A"
    with pytest.raises(StoreError, match="different structure"):
        store.register_compounds("p", [{"compound_id": "A", "smiles": "C", "inchikey": "VNWKTOKETHGBQD-UHFFFAOYSA-N",
                                        "origin": "x"}])
    assert store.count("compounds", "p") == 1


def test_transaction_rolls_back_on_error(db_url):
    store = open_store(db_url)
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            store.ensure_project("p", conn=conn)
            raise RuntimeError("crash mid-write")
    assert store.count("projects") == 0


def test_newer_schema_is_refused(db_url):
    store = open_store(db_url)
    from sqlalchemy import insert
    from lab_sync.store import utcnow
    with store.transaction() as c:
        c.execute(insert(schema.schema_version).values(version=999, description="future", applied_at=utcnow()))
    with pytest.raises(StoreError, match="newer"):
        store.migrate()


def test_unopenable_url_is_a_store_error():
    with pytest.raises(StoreError):
        open_store("nosuchdialect://x/y")
