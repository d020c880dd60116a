"""Shared pytest options: `slow` and `gpu` tests are opt-in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
