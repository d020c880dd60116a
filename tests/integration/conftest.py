"""A real Prefect server on loopback for the integration tests (``cluster`` fixture).

The server, and every ``prefect`` command the tests run, use a temporary ``PREFECT_HOME``;
processes started with ``start`` run in their own process groups and are stopped at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def cluster(tmp_path):
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "MOLTWIN_HOME": str(tmp_path / "home"),
           "MOLTWIN_DB": f"sqlite:///{tmp_path / 'twin.db'}", "MOLTWIN_REPO": str(REPO),
           "PATH": f"{BIN}:{os.environ['PATH']}", "COLUMNS": "200"}  # wide tables: names not cut
    (tmp_path / "prefect").mkdir()
    procs = []

    def start(args, extra=None, log="x"):
        out = open(tmp_path / f"{log}.log", "w")
        procs.append(subprocess.Popen(args, env={**env, **(extra or {})}, cwd=REPO, stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True))

    def prefect(*args, check=True):
        done = subprocess.run([str(BIN / "prefect"), "--no-prompt", *args], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=300)
        if check:
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done

    try:
        start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)], log="server")
        deadline = time.monotonic() + 180
        while subprocess.run(["curl", "-sf", f"{env['PREFECT_API_URL']}/health"], capture_output=True).returncode:
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()[-2000:]
            time.sleep(1)
        yield env, prefect, start, tmp_path
    finally:
        for proc in reversed(procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)


