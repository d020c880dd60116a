"""A mistyped --db / MOLTWIN_DB never creates a store; a broken MOLTWIN_HOME stops before any write."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from interfaces.cli import app
from lab_sync.store import open_existing_store, open_store
from moltwin.errors import BadInputError
from moltwin.paths import check_twin_home

REPO_DATA = os.path.join(os.path.dirname(__file__), "..", "data", "assays")


def test_open_existing_store_refuses_a_missing_or_foreign_database(tmp_path):
    with pytest.raises(BadInputError, match="no twin store at .*typo.db.*moltwin db init"):
        open_existing_store(str(tmp_path / "typo.db"))
    assert not (tmp_path / "typo.db").exists()
    import sqlite3

    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE x (a)").connection.commit()
    with pytest.raises(BadInputError, match="no MolTwin tables"):
        open_existing_store(str(tmp_path / "other.db"))
    open_store(str(tmp_path / "real.db"))
    assert open_existing_store(str(tmp_path / "real.db")).schema_version() >= 3


@pytest.mark.parametrize("command", [
    ["assays", "upload", os.path.join(REPO_DATA, "chembl_export.csv"), "--project", "p"],
    ["assays", "list"], ["db", "info"], ["models", "train", "--project", "p"],
    ["users", "add", "alice", "--role", "uploader"], ["users", "list"],
])
def test_cli_commands_never_create_a_store(tmp_path, monkeypatch, command):
    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    for how in ("--db", "env"):
        typo = tmp_path / f"tpyo-{how.strip('-')}.db"
        if how == "--db":
            out = CliRunner().invoke(app, [*command, "--db", str(typo)])
        else:
            monkeypatch.setenv("MOLTWIN_DB", str(typo))
            out = CliRunner().invoke(app, command)
        assert out.exit_code == 2, out.output
        assert "no twin store at" in out.output and "moltwin db init" in out.output
        assert not typo.exists()


def test_db_init_creates_and_then_commands_work(tmp_path, monkeypatch):
    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    db = str(tmp_path / "new.db")
    init = CliRunner().invoke(app, ["db", "init", "--db", db])
    assert init.exit_code == 0, init.output
    assert "created" in init.output
    assert CliRunner().invoke(app, ["assays", "list", "--db", db]).exit_code == 0
    again = CliRunner().invoke(app, ["db", "init", "--db", db])
    assert again.exit_code == 0 and "already" in again.output


def test_broken_twin_home_is_a_clear_error_before_any_write(tmp_path, monkeypatch):
    home_file = tmp_path / "home-is-a-file"
    home_file.write_text("x")
    monkeypatch.setenv("MOLTWIN_HOME", str(home_file))
    with pytest.raises(BadInputError, match="is a file"):
        check_twin_home()
    db = str(tmp_path / "t.db")
    open_store(db)
    out = CliRunner().invoke(app, ["assays", "upload", os.path.join(REPO_DATA, "chembl_export.csv"),
                                   "--project", "p", "--db", db, "--no-sync"])
    assert out.exit_code == 2 and "MOLTWIN_HOME" in out.output
    assert open_store(db).count("measurements") == 0 and open_store(db).count("uploads") == 0
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setenv("MOLTWIN_HOME", str(locked))
    if os.access(locked, os.W_OK):  # root ignores permissions
        pytest.skip("running as root: permissions are not enforced")
    with pytest.raises(BadInputError, match="not writable"):
        check_twin_home()
