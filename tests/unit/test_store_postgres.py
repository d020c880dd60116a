"""The twin store on a real PostgreSQL server (Debian's ``postgresql`` package), on loopback.

The module starts its own throw-away cluster (``initdb`` + ``pg_ctl``, as the ``postgres``
user when the tests run as root, since PostgreSQL refuses to run as root) in a temporary
folder on a free port, runs the store tests against ``postgresql+psycopg://...`` and stops
it. Skipped when the server binaries are not installed (``apt-get install -y postgresql``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

from lab_sync import schema
from lab_sync.store import open_store
from moltwin.errors import StoreError

TYK2 = Path(__file__).resolve().parents[2] / "data" / "tyk2" / "tyk2_measurements.csv"


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def pg_server():
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found: apt-get install -y postgresql")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
    root = Path(tempfile.mkdtemp(prefix="moltwin-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", _free_port()
    subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", "twin", "--auth=trust",
                                    "-E", "UTF8", "--no-sync"]), check=True, capture_output=True)
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
    subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts,
                                    "-l", str(root / "server.log"), "-w", "-t", "60", "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://twin@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def pg_url(pg_server):
    """A fresh, empty database per test."""
    from sqlalchemy import create_engine, text

    name = f"twin_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{pg_server}/{name}"


def test_migrations_apply_once_on_postgres(pg_url):
    store = open_store(pg_url)
    assert store.engine.dialect.name == "postgresql"
    assert store.schema_version() == schema.LATEST_VERSION
    assert store.migrate() == []
    assert open_store(pg_url).schema_version() == schema.LATEST_VERSION


def test_register_compounds_dedupes_and_guards_ids_on_postgres(pg_url):
    store = open_store(pg_url)
    rows = [{"compound_id": "A", "smiles": "CCO", "inchikey": "LFQSCWFLJHTTHZ-UHFFFAOYSA-N", "origin": "x"},
            {"compound_id": "B", "smiles": "OCC", "inchikey": "LFQSCWFLJHTTHZ-UHFFFAOYSA-N", "origin": "x"}]
    out = store.register_compounds("p", rows)
    assert list(out["status"]) == ["new", "existing"]
    with pytest.raises(StoreError, match="different structure"):
        store.register_compounds("p", [{"compound_id": "A", "smiles": "C",
                                        "inchikey": "VNWKTOKETHGBQD-UHFFFAOYSA-N", "origin": "x"}])
    assert store.count("compounds", "p") == 1


def test_transaction_rolls_back_on_postgres(pg_url):
    store = open_store(pg_url)
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            store.ensure_project("p", conn=conn)
            raise RuntimeError("crash mid-write")
    assert store.count("projects") == 0


def test_upload_commits_whole_and_rolls_back_whole_on_postgres(pg_url, tmp_path, monkeypatch):
    from lab_sync.upload import upload_assay_file

    store = open_store(pg_url)
    real_insert = store.insert_rows

    def failing_insert(table, rows, conn=None):
        if table == "measurements":
            raise StoreError("disk full while writing measurements")
        return real_insert(table, rows, conn=conn)

    monkeypatch.setattr(store, "insert_rows", failing_insert)
    with pytest.raises(StoreError, match="disk full"):
        upload_assay_file(store, TYK2, "tyk2", archive_dir=tmp_path / "archive")
    for table in ("projects", "uploads", "compounds", "measurements"):
        assert store.count(table) == 0, table  # nothing half-written

    monkeypatch.setattr(store, "insert_rows", real_insert)
    report = upload_assay_file(store, TYK2, "tyk2", archive_dir=tmp_path / "archive")
    assert report.status == "committed" and report.n_valid == 16
    assert store.count("measurements", "tyk2") == 16 and store.count("compounds", "tyk2") == 16
    again = upload_assay_file(store, TYK2, "tyk2", archive_dir=tmp_path / "archive")
    assert again.status == "duplicate" and store.count("measurements", "tyk2") == 16


def test_same_file_uploaded_twice_at_once_is_stored_once_on_postgres(pg_url, tmp_path):
    from lab_sync.upload import upload_assay_file

    barrier, reports, errors = threading.Barrier(2, timeout=60), [], []

    def upload(i: int) -> None:
        barrier.wait()
        try:
            store = open_store(pg_url)  # one engine per "process", both migrating a fresh database
            reports.append(upload_assay_file(store, TYK2, "tyk2", uploader=f"u{i}",
                                             archive_dir=tmp_path / "archive"))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(r.status for r in reports) == ["committed", "duplicate"]
    store = open_store(pg_url)
    assert store.count("uploads", "tyk2") == 1 and store.count("measurements", "tyk2") == 16


@pytest.mark.slow
def test_screen_stages_write_to_postgres(pg_url, tmp_path, monkeypatch):
    """Every store write of a screen run (runs, registry, models, prediction ledger, rankings)
    goes through psycopg: numpy values and booleans must be adapted."""
    from pipeline.config import DEMO_CONFIG, load_config
    from pipeline.screen import run_screen

    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    cfg = load_config(DEMO_CONFIG, ["generate.max_candidates=20", "screen.simulate_top_n=0",
                                    f"results_dir={tmp_path / 'results'}"])
    summary = run_screen(cfg, pg_url)
    assert summary["status"] == "completed"
    store = open_store(pg_url)
    assert store.count("predictions", "tyk2-demo") == summary["model"]["n_predicted"]
    assert store.count("rankings", "tyk2-demo") == summary["n_ranked"]
    assert list(store.read_table("runs")["status"]) == ["completed"]
