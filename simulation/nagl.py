"""NAGL charges in a helper process, so that one molecule can be given a time limit.

NAGL featurizes a molecule by enumerating its resonance forms over every
simple path between electron donors and acceptors. For most drugs that takes
well under a second, but it grows exponentially with the size of a conjugated
system: suramin (MiniDrugBank DrugBank_4330, six sulfonic acids on aryl rings
linked by amides) runs for hours, and a pure-Python loop cannot be
interrupted from another thread. So the model runs in one *spawned* helper
process per parent process, started on first use and reused (torch and the
model load once). A call that overruns its limit kills the helper (the next
call starts a new one) and raises ``TimeoutError``; the caller then falls
back to the next charge method. The helper is a fresh interpreter
(``python -c``) talking over a socket pair: not forked, because a forked child
of a process that already ran torch's OpenMP pool can hang, and not
multiprocessing's "spawn", which re-runs the parent's ``__main__`` module and
so breaks any script without an ``if __name__ == "__main__"`` guard.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection

import numpy as np

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 600.0  # importing torch on a loaded two-core machine can take a minute

_lock = threading.Lock()  # one request at a time per parent; threads share the helper
_helper: tuple | None = None  # (process, connection)


def serve(fd: int) -> None:
    """Helper process main loop: answer (model name, molecule) requests on socket ``fd``."""
    from openff.nagl import GNNModel
    from openff.nagl_models import validate_nagl_model_path

    conn = Connection(fd)
    models: dict = {}
    conn.send(("ready", None))
    while True:
        try:
            model_name, molecule = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if model_name not in models:
                models[model_name] = GNNModel.load(str(validate_nagl_model_path(model_name)),
                                                   eval_mode=True)
            charges = models[model_name].compute_property(
                molecule, as_numpy=True, readout_name="am1bcc_charges", check_domains=True,
                error_if_unsupported=True)
            conn.send(("ok", np.asarray(charges, dtype=float)))
        except Exception as exc:  # reported to the parent, which falls back
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


def _start() -> tuple:
    parent_sock, child_sock = socket.socketpair()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    fd = child_sock.fileno()
    process = subprocess.Popen(
        [sys.executable, "-c", f"from simulation.nagl import serve; serve({fd})"],
        pass_fds=(fd,), env=env, stdin=subprocess.DEVNULL)
    child_sock.close()
    conn = Connection(parent_sock.detach())
    if not conn.poll(STARTUP_TIMEOUT_S):
        process.kill()
        raise RuntimeError("the NAGL helper process did not start")
    try:
        conn.recv()
    except (EOFError, OSError) as exc:
        process.kill()
        raise RuntimeError(f"the NAGL helper process died at start-up: {exc}") from exc
    return process, conn


def stop_helper() -> None:
    """Kill the helper process (it is restarted on the next call)."""
    global _helper
    if _helper is not None:
        process, conn = _helper
        _helper = None
        conn.close()
        process.kill()
        process.wait(timeout=10)


atexit.register(stop_helper)


def nagl_charges(molecule, model_name: str, timeout_s: float = 60.0) -> np.ndarray:
    """AM1-BCC-like charges from an OpenFF NAGL model, with a time limit.

    Parameters
    ----------
    molecule
        ``openff.toolkit.Molecule`` (explicit hydrogens).
    model_name
        NAGL model file name, e.g. ``openff-gnn-am1bcc-1.0.0.pt``.
    timeout_s
        Limit for this molecule (the helper's start-up is not counted).

    Returns
    -------
    numpy.ndarray
        One charge per atom (elementary charges).

    Raises
    ------
    TimeoutError
        The molecule took longer than ``timeout_s``.
    RuntimeError
        NAGL rejected the molecule or the model (message from the helper).
    """
    global _helper
    with _lock:
        if _helper is None or _helper[0].poll() is not None:
            _helper = _start()
        process, conn = _helper
        try:
            conn.send((model_name, molecule))
            ready = conn.poll(timeout_s)
        except (OSError, EOFError) as exc:  # the helper died under us
            stop_helper()
            raise RuntimeError(f"NAGL helper process failed: {exc}") from exc
        if not ready:
            stop_helper()
            raise TimeoutError(f"NAGL did not finish within {timeout_s:g} s")
        try:
            status, payload = conn.recv()
        except (OSError, EOFError) as exc:
            stop_helper()
            raise RuntimeError(f"NAGL helper process failed: {exc}") from exc
    if status != "ok":
        raise RuntimeError(payload)
    return payload
