"""The web page's server-side scratch area: validated bytes, pending confirmations, outcomes.

What a chemist confirms is exactly what was validated: the uploaded bytes are kept
here under their SHA-256 (never under the name the browser sent), and the confirm
form refers to a random *pending id* whose record names that SHA-256, the project,
the user and what validation showed. Committing first *claims* the pending record
with an atomic rename, so a double click or a second tab cannot commit it twice.

Layout under the root (mode 0700)::

    bytes/<sha256>.csv        validated uploads
    pending/<id>.json         waiting for confirmation
    claimed/<id>.json         being committed right now
    done/<id>.json            how the commit ended (upload id, status)
    twin/<upload_id>.json     the twin update after a commit (running / done / failed / not available)
    reports/<upload_id>.json  the upload report of a commit (new compounds, notes)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from pathlib import Path

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_ID_RE = re.compile(r"^[0-9a-f]{8,64}$")
_DIRS = ("bytes", "pending", "claimed", "done", "twin", "reports")


class StagingError(Exception):
    """Staged bytes are missing or no longer match their SHA-256."""


def valid_id(value: str) -> bool:
    """True for ids this module hands out (hex); anything else never reaches a path."""
    return bool(_ID_RE.match(value or ""))


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(payload, default=str))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class Staging:
    """Scratch files for one web server (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        for name in _DIRS:
            (self.root / name).mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)

    # -- bytes -------------------------------------------------------------------------
    def put_bytes(self, data: bytes) -> tuple[str, Path]:
        """Keep ``data`` under its SHA-256; returns ``(sha256, path)``."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.root / "bytes" / f"{sha}.csv"
        if path.exists():
            os.utime(path)  # validated again now: keep it through the next purge
        else:
            tmp = path.with_name(f".{sha}.{secrets.token_hex(4)}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return sha, path

    def verified_path(self, sha: str) -> Path:
        """Path of the staged bytes for ``sha``, after checking they still hash to it."""
        if not _SHA_RE.match(sha or ""):
            raise StagingError("not a SHA-256")
        path = self.root / "bytes" / f"{sha}.csv"
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StagingError("the validated file is no longer on the server") from exc
        if hashlib.sha256(data).hexdigest() != sha:
            raise StagingError("the validated file changed on the server")
        return path

    # -- pending confirmations -----------------------------------------------------------
    def new_pending(self, record: dict) -> str:
        pid = secrets.token_hex(16)
        _write_json(self.root / "pending" / f"{pid}.json", {**record, "created": time.time()})
        return pid

    def pending(self, pid: str) -> dict | None:
        return _read_json(self.root / "pending" / f"{pid}.json") if valid_id(pid) else None

    def claim(self, pid: str) -> dict | None:
        """Take the pending record for committing; None when another request already took it."""
        if not valid_id(pid):
            return None
        src, dst = self.root / "pending" / f"{pid}.json", self.root / "claimed" / f"{pid}.json"
        try:
            os.rename(src, dst)  # atomic: exactly one of two simultaneous requests wins
        except FileNotFoundError:
            return None
        return _read_json(dst)

    def release(self, pid: str) -> None:
        """Give a claimed record back (the commit did not happen, so it may be tried again)."""
        try:
            os.rename(self.root / "claimed" / f"{pid}.json", self.root / "pending" / f"{pid}.json")
        except FileNotFoundError:
            pass

    def finish(self, pid: str, outcome: dict) -> None:
        _write_json(self.root / "done" / f"{pid}.json", outcome)
        (self.root / "claimed" / f"{pid}.json").unlink(missing_ok=True)

    def outcome(self, pid: str) -> dict | None:
        return _read_json(self.root / "done" / f"{pid}.json") if valid_id(pid) else None

    def save_report(self, upload_id: str, report: dict) -> None:
        if valid_id(upload_id):
            _write_json(self.root / "reports" / f"{upload_id}.json", report)

    def report(self, upload_id: str) -> dict | None:
        return _read_json(self.root / "reports" / f"{upload_id}.json") if valid_id(upload_id) else None

    # -- twin updates --------------------------------------------------------------------
    def save_twin_update(self, upload_id: str, payload: dict) -> None:
        if valid_id(upload_id):
            _write_json(self.root / "twin" / f"{upload_id}.json", payload)

    def twin_update(self, upload_id: str) -> dict | None:
        return _read_json(self.root / "twin" / f"{upload_id}.json") if valid_id(upload_id) else None

    # -- housekeeping ----------------------------------------------------------------------
    def purge(self, max_age_hours: float = 24.0) -> int:
        """Delete staged bytes and pending records older than ``max_age_hours``; returns the count."""
        cutoff = time.time() - max_age_hours * 3600
        removed = 0
        for name in ("bytes", "pending"):
            for path in (self.root / name).iterdir():
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                except OSError:
                    continue
        return removed
