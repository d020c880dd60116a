"""Where the twin keeps files beside its database: archived uploads, models, caches.

``$MOLTWIN_HOME`` (default ``./.moltwin`` in the working directory) holds
``archive/`` (raw uploads, content-addressed), ``models/`` (the model registry)
and ``cache/`` (prepared proteins, simulation checkpoints).
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV_VAR = "MOLTWIN_HOME"


def twin_home() -> Path:
    return Path(os.environ.get(HOME_ENV_VAR, ".moltwin")).expanduser()


def archive_dir() -> Path:
    return twin_home() / "archive"


def models_dir() -> Path:
    return twin_home() / "models"


def cache_dir() -> Path:
    return twin_home() / "cache"
