"""The project's latest activity model (and ADMET engine), loaded once and kept for the what-if page.

``moltwin serve`` preloads them at start, so the first what-if answer is warm.
"""

from __future__ import annotations

import threading
from pathlib import Path

from chem.models.registry import load_model
from lab_sync.store import TwinStore
from moltwin.errors import ModelError


class ModelCache:
    """Latest model per project, by the store's ``models`` table (reloaded when a newer one appears)."""

    def __init__(self, store: TwinStore) -> None:
        self.store = store
        self._models: dict[str, object] = {}
        self._lock = threading.Lock()

    def latest_model_row(self, project: str) -> dict | None:
        models = self.store.read_table("models", project)
        if models.empty:
            return None
        return models.sort_values("created_at").iloc[-1].to_dict()

    def model(self, project: str):
        """The latest trained model of ``project``; :class:`ModelError` when none can be loaded."""
        row = self.latest_model_row(project)
        if row is None:
            raise ModelError(f"project {project} has no trained activity model yet: it is trained by the first "
                             "screen or twin update after measurements are uploaded")
        with self._lock:
            cached = self._models.get(project)
            if cached is not None and cached.model_id == row["model_id"]:
                return cached
            model = load_model(Path(row["path"]).parent, row["model_id"])
            self._models[project] = model
            return model

    def preload_admet(self) -> threading.Thread:
        """Load the admet-ai engine (default models) in the background: its cold load takes ~10 s."""
        from chem.admet_engine import AdmetUnavailableError, load_admet_engine

        def load() -> None:
            try:
                load_admet_engine(None)
            except AdmetUnavailableError:
                pass  # the what-if page then says why ADMET is missing

        thread = threading.Thread(target=load, name="moltwin-admet-preload", daemon=True)
        thread.start()
        return thread

    def preload(self) -> list[str]:
        """Load every project's latest model; returns notes on what could not be loaded."""
        notes = []
        projects = self.store.read_table("projects")
        for name in (projects["name"] if len(projects) else []):
            try:
                self.model(name)
            except ModelError as exc:
                notes.append(str(exc))
        return notes
