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


def check_twin_home() -> Path:
    """The twin home, after checking it can be written; raises ``BadInputError`` otherwise.

    Called before a command writes anything, so a ``MOLTWIN_HOME`` that is a file or a
    read-only folder stops it with a plain message instead of failing half-way.
    """
    from moltwin.errors import BadInputError

    home = twin_home()
    where = f"{HOME_ENV_VAR}={os.environ[HOME_ENV_VAR]}" if HOME_ENV_VAR in os.environ else \
        f"the twin home {home.resolve()}"
    hint = f"point {HOME_ENV_VAR} at a folder you can write (it is created when missing)"
    if home.exists() and not home.is_dir():
        raise BadInputError(f"{where} is a file, not a folder; {hint}", field=HOME_ENV_VAR)
    probe = home
    while not probe.exists():  # the nearest existing folder decides whether home can be made
        probe = probe.parent
    if not probe.is_dir():
        raise BadInputError(f"{where}: {probe} is a file, not a folder; {hint}", field=HOME_ENV_VAR)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise BadInputError(f"{where}: {probe} is not writable; {hint}", field=HOME_ENV_VAR)
    return home


def archive_dir() -> Path:
    return twin_home() / "archive"


def models_dir() -> Path:
    return twin_home() / "models"


def cache_dir() -> Path:
    return twin_home() / "cache"
