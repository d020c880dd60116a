"""A throw-away PostgreSQL cluster for the store tests (Debian's ``postgresql`` package, loopback only).

:class:`PgCluster` runs ``initdb`` in a fresh temporary folder and ``pg_ctl start`` on a free
port of 127.0.0.1 (Unix socket in the same folder, ``fsync=off``: nothing here must survive);
PostgreSQL refuses to run as root, so under root the server runs as the ``postgres`` system
user (created by the Debian package; created here as a system user if missing). ``make test``
installs the package when it is missing and we are root. :func:`find_pg_bin` says where the
server binaries are, or None (then the PostgreSQL tests skip, unless ``MOLTWIN_REQUIRE_POSTGRES=1``
makes that a failure, as in CI).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

SERVER_USER = "postgres"
REQUIRE_ENV = "MOLTWIN_REQUIRE_POSTGRES"


def find_pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb`` and ``pg_ctl`` (or ``$PG_BIN``)."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_server_user() -> None:
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
                       check=True, capture_output=True)


class PgCluster:
    """One PostgreSQL server in a temporary folder; :meth:`start`, :meth:`new_database`, :meth:`stop`."""

    def __init__(self, bindir: Path, durable: bool = False) -> None:
        self.bindir = bindir
        self.durable = durable  # fsync and synchronous commit as shipped (benchmarks), else off (tests)
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="moltwin-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.url = f"postgresql+psycopg://twin@127.0.0.1:{self.port}"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        if done.returncode != 0:
            log = self.root / "server.log"
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stdout[-1500:]}{done.stderr[-1500:]}"
                               + (log.read_text()[-1500:] if log.exists() else ""))
        return done

    def start(self) -> "PgCluster":
        if self.as_root:
            _ensure_server_user()
            shutil.chown(self.root, SERVER_USER, SERVER_USER)
        self._run("initdb", "-D", str(self.data), "-U", "twin", "--auth=trust", "-E", "UTF8", "--no-sync")
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=100"
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "server.log"),
                  "-w", "-t", "120", "start")
        return self

    def new_database(self) -> str:
        """Create an empty database; return its SQLAlchemy URL."""
        from sqlalchemy import create_engine, text

        name = f"twin_{uuid.uuid4().hex[:12]}"
        admin = create_engine(f"{self.url}/postgres", isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return f"{self.url}/{name}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except Exception:  # noqa: BLE001 - never started, or already gone: nothing to stop
            pass
        shutil.rmtree(self.root, ignore_errors=True)
