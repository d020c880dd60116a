"""The per-project compound table and substructure library the browsing pages read, kept warm.

Building the table for 100 k compounds means one RDKit parse per compound (properties) and
another for the substructure library; both are done once and written under
``$MOLTWIN_HOME/web-cache/`` (properties keyed by InChIKey, the library as RDKit's binary),
so a restarted server is warm again in seconds. The joined table is rebuilt from the store
only when :func:`ranking.compound_table.store_state` changes (a commit, a run).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rdkit.Chem import rdSubstructLibrary

from lab_sync.store import TwinStore
from ranking.compound_table import PROPERTY_COLUMNS, build_compound_table, store_state
from ranking.grid_query import build_substructure_library


@dataclass
class ProjectTable:
    state: tuple
    table: pd.DataFrame
    library: rdSubstructLibrary.SubstructLibrary | None = None
    stale: bool = False  # the store has moved on; a newer table is being built
    #: Things derived from the table once and kept with it (e.g. the measured compounds' fingerprints).
    derived: dict = field(default_factory=dict)

    def get(self, name: str, make):
        """``derived[name]``, made by ``make(table)`` on first use (a new table starts empty)."""
        if name not in self.derived:
            self.derived[name] = make(self.table)
        return self.derived[name]


class TwinCache:
    """Compound tables per project, rebuilt when the store changes (thread-safe)."""

    def __init__(self, store: TwinStore, folder: Path, background_rows: int = 20_000) -> None:
        self.store = store
        self.folder = folder
        self.background_rows = background_rows
        self._tables: dict[str, ProjectTable] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    def _file(self, project: str, kind: str) -> Path:
        digest = hashlib.sha256(f"{self.store.url}|{project}".encode()).hexdigest()[:16]
        return self.folder / f"{digest}-{kind}"

    def _properties(self, project: str) -> pd.DataFrame | None:
        path = self._file(project, "properties.parquet")
        try:
            props = pd.read_parquet(path)
        except (OSError, ValueError):
            return None
        return props if list(props.columns) == ["inchikey", *PROPERTY_COLUMNS] else None

    def _build(self, project: str, state: tuple) -> ProjectTable:
        known = self._properties(project)
        table, props = build_compound_table(self.store, project, known)
        if known is None or len(props) != len(known):
            self.folder.mkdir(parents=True, exist_ok=True)
            props.to_parquet(self._file(project, "properties.parquet"), index=False)
        return ProjectTable(state=state, table=table)

    def _refresh(self, project: str, state: tuple) -> None:
        try:
            entry = self._build(project, state)
            with self._lock:
                self._tables[project] = entry
        finally:
            with self._lock:
                self._refreshing.discard(project)

    def table(self, project: str) -> ProjectTable:
        """The current table of ``project`` (built or refreshed when the store changed).

        A table of more than :attr:`background_rows` rows that the store has moved past is
        refreshed in a background thread while the pages keep showing it (``stale`` is then
        True, and the pages say so): rebuilding 100 k rows takes seconds, a page must not.
        """
        state = store_state(self.store, project)
        with self._lock:
            cached = self._tables.get(project)
            if cached is not None and cached.state == state:
                return cached
            if cached is not None and len(cached.table) > self.background_rows:
                if project not in self._refreshing:
                    self._refreshing.add(project)
                    threading.Thread(target=self._refresh, args=(project, state), daemon=True,
                                     name=f"moltwin-table-{project}").start()
                cached.stale = True
                return cached
        entry = self._build(project, state)  # built outside the lock: other projects stay served
        with self._lock:
            self._tables[project] = entry
        return entry

    def library(self, project: str) -> tuple[pd.DataFrame, rdSubstructLibrary.SubstructLibrary]:
        """The table and its substructure library (built on first use, kept on disk per table content)."""
        entry = self.table(project)
        with self._lock:
            if entry.library is None:
                digest = hashlib.sha256("\n".join(entry.table["smiles"].astype(str)).encode()).hexdigest()[:16]
                path = self._file(project, f"substruct-{digest}.bin")
                if path.is_file():
                    entry.library = rdSubstructLibrary.SubstructLibrary(path.read_bytes())
                else:
                    entry.library = build_substructure_library(entry.table["smiles"].tolist())
                    self.folder.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(entry.library.Serialize())
            return entry.table, entry.library
