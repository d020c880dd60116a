"""Shared pytest options (`slow` and `gpu` tests are opt-in) and the twin-store backends.

``db_url`` gives each test an empty twin store on every backend: SQLite (a file in the test's
temporary folder) and PostgreSQL (a new database on one throw-away server per session, see
``tests/pg_cluster.py``). The PostgreSQL case skips only when no server binaries are installed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pg_cluster import REQUIRE_ENV, PgCluster, find_pg_bin

REPO = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")
    parser.addoption("--rungpu", action="store_true", default=False, help="run tests marked gpu")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = config.getoption("--runslow") or os.environ.get("MOLTWIN_SLOW_TESTS") == "1"
    run_gpu = config.getoption("--rungpu") or os.environ.get("MOLTWIN_GPU_TESTS") == "1"
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow: run with --runslow or MOLTWIN_SLOW_TESTS=1"))
        if "gpu" in item.keywords and not run_gpu:
            item.add_marker(pytest.mark.skip(reason="gpu: run with --rungpu on a GPU machine"))


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    return REPO


@pytest.fixture(scope="session")
def datadir() -> Path:
    return REPO / "data"


@pytest.fixture(scope="session")
def testdata() -> Path:
    return REPO / "tests" / "data"


@pytest.fixture(scope="session")
def tyk2_protein(tmp_path_factory):
    """The bundled Tyk2 protein through PDBFixer, prepared once for the whole session.

    Shared read-only by the simulation tests (each used to prepare its own copy).
    """
    from simulation.protein import prepare_protein

    return prepare_protein(REPO / "data" / "tyk2" / "protein.pdb",
                           cache_dir=tmp_path_factory.mktemp("tyk2_prep"))


@pytest.fixture(scope="session")
def pg_cluster():
    """One PostgreSQL server for the session, started on first use and stopped at the end."""
    bindir = find_pg_bin()
    if bindir is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"PostgreSQL server binaries not found and {REQUIRE_ENV}=1")
        pytest.skip("PostgreSQL server binaries not found (make test installs them when root: apt-get install postgresql)")
    cluster = PgCluster(bindir)
    try:
        cluster.start()
    except Exception:
        cluster.stop()
        raise
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """An empty twin store's URL, once per backend (SQLite file; a new PostgreSQL database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'twin.db'}"
    return request.getfixturevalue("pg_cluster").new_database()
