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
from dataclasses import dataclass
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


class TwinCache:
    """Compound tables per project, rebuilt when the store changes (thread-safe)."""

    def __init__(self, store: TwinStore, folder: Path) -> None:
        self.store = store
        self.folder = folder
        self._tables: dict[str, ProjectTable] = {}
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

    def table(self, project: str) -> ProjectTable:
        """The current table of ``project`` (built or refreshed when the store changed)."""
        state = store_state(self.store, project)
        with self._lock:
            cached = self._tables.get(project)
            if cached is not None and cached.state == state:
                return cached
            known = self._properties(project)
            table, props = build_compound_table(self.store, project, known)
            if known is None or len(props) != len(known):
                self.folder.mkdir(parents=True, exist_ok=True)
                props.to_parquet(self._file(project, "properties.parquet"), index=False)
            entry = ProjectTable(state=state, table=table)
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
