"""Web users: hashed tokens, constant-time checks, sessions, CSRF, and the schema migration that adds them."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import insert, inspect

from lab_sync import schema
from lab_sync.store import open_store, utcnow
from interfaces.web.staging import Staging
from interfaces.web.users import (add_user, authenticate, close_session, csrf_ok, find_session, hash_token,
                                list_users, open_session, verify_token)
from moltwin.errors import BadInputError


@pytest.fixture()
def store(tmp_path):
    return open_store(str(tmp_path / "twin.db"))


def test_migration_2_adds_users_and_sessions_to_an_existing_store(tmp_path):
    db = str(tmp_path / "old.db")
    store = open_store(db, migrate=False)
    with store.transaction() as conn:  # a store as migration 1 left it, with some data
        schema.schema_version.create(conn)
        schema.MIGRATIONS[0].upgrade(conn)
        conn.execute(insert(schema.schema_version).values(version=1, description="v1", applied_at=utcnow()))
    store.ensure_project("tyk2")
    assert store.schema_version() == 1 and "users" not in inspect(store.engine).get_table_names()
    assert 2 in open_store(db, migrate=False).migrate()
    assert {"users", "sessions"} <= set(inspect(store.engine).get_table_names())
    assert store.count("projects") == 1  # data of migration 1 untouched


def test_tokens_are_stored_only_as_salted_hashes(store):
    token = add_user(store, "alice", "uploader")
    stored = store.read_table("users").iloc[0]
    assert token not in stored.token_hash and stored.token_hash.startswith("scrypt$")
    assert len(token) >= 30
    assert hash_token(token) != hash_token(token)  # salted
    assert verify_token(token, stored.token_hash) and not verify_token(token + "x", stored.token_hash)
    assert not verify_token(token, "garbage") and not verify_token(token, "md5$1$2$3$ab$cd")
    assert authenticate(store, "alice", token).role == "uploader"
    assert authenticate(store, "alice", "wrong") is None
    assert authenticate(store, "mallory", token) is None
    assert [u["name"] for u in list_users(store)] == ["alice"] and "token_hash" not in list_users(store)[0]


def test_user_names_roles_and_duplicates_are_checked(store):
    add_user(store, "alice", "viewer")
    with pytest.raises(BadInputError, match="already exists"):
        add_user(store, "alice", "viewer")
    with pytest.raises(BadInputError, match="unknown role"):
        add_user(store, "bob", "admin")
    with pytest.raises(BadInputError, match="not allowed"):
        add_user(store, "../bob", "viewer")
    assert store.count("users") == 1


def test_replacing_a_token_ends_old_sessions_and_old_token(store):
    old = add_user(store, "alice", "viewer")
    cookie, _ = open_session(store, authenticate(store, "alice", old))
    assert find_session(store, cookie) is not None
    new = add_user(store, "alice", "uploader", replace=True)
    assert find_session(store, cookie) is None
    assert authenticate(store, "alice", old) is None
    assert authenticate(store, "alice", new).can_upload


def test_sessions_expire_close_and_carry_a_csrf_token(store):
    token = add_user(store, "alice", "uploader")
    user = authenticate(store, "alice", token)
    cookie, csrf = open_session(store, user)
    session = find_session(store, cookie)
    assert session.user == user and session.csrf_token == csrf
    assert cookie not in set(store.read_table("sessions")["session_hash"])  # only its digest is kept
    assert csrf_ok(session, csrf) and not csrf_ok(session, "") and not csrf_ok(session, csrf[:-1] + "é")
    assert find_session(store, "not-a-cookie") is None and find_session(store, None) is None
    close_session(store, cookie)
    assert find_session(store, cookie) is None
    expired, _ = open_session(store, user, hours=-1)
    assert find_session(store, expired) is None


def test_a_pending_confirmation_can_be_claimed_only_once(tmp_path):
    staging = Staging(tmp_path / "staging")
    pid = staging.new_pending({"sha256": "0" * 64})
    wins = []
    barrier = threading.Barrier(8)

    def claim():
        barrier.wait()
        wins.append(staging.claim(pid))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(w is not None for w in wins) == 1
    assert staging.claim("../../etc/passwd") is None and staging.pending("../x") is None
