"""flows.local_server without starting any server: what it changes and what it leaves alone."""

from __future__ import annotations

from pathlib import Path

from prefect.settings import (PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
                              temporary_settings)

from flows.local_server import STARTUP_TIMEOUT_S, local_prefect, sqlite_database_path


def test_sqlite_database_path_reads_prefect_urls():
    assert sqlite_database_path("sqlite+aiosqlite:////tmp/h/prefect.db") == Path("/tmp/h/prefect.db")
    assert sqlite_database_path("sqlite+aiosqlite:///file::memory:?cache=shared") is None
    assert sqlite_database_path("postgresql+asyncpg://u:p@db/prefect") is None


def test_a_real_server_is_left_alone():
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:1/api"}):
        with local_prefect() as info:
            assert info == {"mode": "server", "migrated_s": None, "startup_timeout_s": None}
            assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() != STARTUP_TIMEOUT_S


def test_a_timeout_the_user_chose_is_kept():
    with temporary_settings(updates={PREFECT_API_URL: None, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: 45}):
        with local_prefect() as info:
            assert info["mode"] == "ephemeral" and info["startup_timeout_s"] == 45
            assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() == 45
