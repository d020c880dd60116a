"""Make Prefect's temporary (ephemeral) API server start reliably on the first run.

Without ``PREFECT_API_URL`` a flow call starts a temporary Prefect server in a child process
and waits ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` (Prefect's default: 20 s) for
it. The very first start on a machine also creates and migrates Prefect's SQLite database
(``$PREFECT_HOME/prefect.db``), which alone takes 10-20 s on two busy cores, so a fresh
``make demo`` used to die with "Timed out while attempting to connect to ephemeral Prefect API
server". :func:`local_prefect` fixes both halves, for every command that runs a flow:

1. when Prefect's database file does not exist yet, it is created and migrated first, in a
   child process (``prefect server database upgrade -y``), with a line on stderr saying so;
2. the startup timeout is raised to :data:`STARTUP_TIMEOUT_S` unless the user set it
   (environment or Prefect profile), because a loaded machine can also be slow to start an
   already-migrated server.

With ``PREFECT_API_URL`` set (a real server), nothing is changed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from moltwin.errors import ConfigError

#: Seconds to wait for the temporary server when the user did not choose (Prefect's default is 20).
STARTUP_TIMEOUT_S = 600
TIMEOUT_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
#: Seconds the one-time database migration may take before we give up with a clear error.
MIGRATE_TIMEOUT_S = 900


def _say(message: str) -> None:
    print(f"moltwin: {message}", file=sys.stderr, flush=True)


def sqlite_database_path(connection_url: str) -> Path | None:
    """The file behind a Prefect SQLite connection URL, or None for other databases / in-memory."""
    if not connection_url.startswith("sqlite"):
        return None
    path = connection_url.split(":///", 1)[1] if ":///" in connection_url else ""
    if not path or ":memory:" in path or "mode=memory" in path:
        return None
    return Path(path.split("?", 1)[0])


def migrate_prefect_database(env: dict | None = None, timeout_s: float = MIGRATE_TIMEOUT_S) -> float:
    """Create/upgrade Prefect's own database in a child process; return the seconds it took.

    Raises
    ------
    ConfigError
        When the migration fails or exceeds ``timeout_s`` (its output is in the message).
    """
    start = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
                              env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise ConfigError(f"migrating Prefect's database took over {timeout_s:.0f} s", field="PREFECT_HOME") from exc
    if done.returncode != 0:
        raise ConfigError("could not create Prefect's database: "
                          f"{(done.stdout + done.stderr).strip()[-1500:]}", field="PREFECT_HOME")
    return time.monotonic() - start


@contextlib.contextmanager
def local_prefect(startup_timeout_s: int = STARTUP_TIMEOUT_S) -> Iterator[dict]:
    """Run the body with a temporary Prefect server that is ready to start on time.

    Yields a dict saying what was done: ``mode`` (``"server"`` when ``PREFECT_API_URL`` points
    at a real server, else ``"ephemeral"``), ``migrated_s`` (seconds spent creating Prefect's
    database first, or None) and ``startup_timeout_s`` (the effective timeout).
    """
    # Prefect's telemetry insert races its own SQLite at ephemeral start-up ("database is locked").
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, get_current_settings, \
        temporary_settings

    settings = get_current_settings()
    if settings.api.url:
        yield {"mode": "server", "migrated_s": None, "startup_timeout_s": None}
        return
    info: dict = {"mode": "ephemeral", "migrated_s": None}
    url = settings.server.database.connection_url
    db_file = sqlite_database_path(url.get_secret_value() if hasattr(url, "get_secret_value") else str(url))
    if db_file is not None and not db_file.exists():
        _say(f"first Prefect run here: creating Prefect's database {db_file} (once; up to a minute)")
        info["migrated_s"] = migrate_prefect_database()
        _say(f"Prefect's database ready in {info['migrated_s']:.0f} s")
    # A value from the environment or the Prefect profile is the user's choice: kept as is.
    chosen = "startup_timeout_seconds" in settings.server.ephemeral.model_fields_set
    timeout = settings.server.ephemeral.startup_timeout_seconds if chosen \
        else max(startup_timeout_s, settings.server.ephemeral.startup_timeout_seconds)
    info["startup_timeout_s"] = timeout
    with temporary_settings(updates={PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: timeout}):
        yield info
