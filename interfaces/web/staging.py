"""The web page's server-side scratch area: validated bytes, pending confirmations, outcomes.

What a chemist confirms is exactly what was validated: the uploaded bytes are kept
here under their SHA-256 (never under the name the browser sent), and the confirm
form refers to a random *pending id* whose record names that SHA-256, the project,
the user and what validation showed. Committing first *claims* the pending record
with an atomic rename, so a double click or a second tab cannot commit it twice.

Layout under the root (mode 0700)::

    bytes/<sha256>.csv        validated uploads
    pending/<id>.json         waiting for confirmation
    drafts/<id>.json          a checked file whose columns the chemist may map again
    claimed/<id>.json         being committed right now
    done/<id>.json            how the commit ended (upload id, status)
    twin/<upload_id>.json     the twin update after a commit (running / done / failed / not available)
    reports/<upload_id>.json  the upload report of a commit (new compounds, notes)
    scratch/                  a viewer's file while it is checked (deleted right after)

Bounded: each user keeps at most a few checked, unconfirmed files and all of them together at
most a set number of bytes (:meth:`Staging.make_room` drops the oldest first); bytes that no
confirmation waits for are deleted as soon as the check is shown (:meth:`Staging.drop_unreferenced`);
:class:`StagingJanitor` deletes expired files on a schedule.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_ID_RE = re.compile(r"^[0-9a-f]{8,64}$")
_DIRS = ("bytes", "pending", "drafts", "claimed", "done", "twin", "reports", "scratch")


class StagingError(Exception):
    """Staged bytes are missing or no longer match their SHA-256."""


class StagingFull(Exception):
    """The staging area cannot take this file even after dropping every older check."""


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

    # -- drafts: a checked file that may be checked again with other columns -------------------
    def new_draft(self, record: dict) -> str:
        did = secrets.token_hex(16)
        _write_json(self.root / "drafts" / f"{did}.json", {**record, "created": time.time()})
        return did

    def draft(self, did: str) -> dict | None:
        return _read_json(self.root / "drafts" / f"{did}.json") if valid_id(did) else None

    def update_draft(self, did: str, record: dict) -> None:
        if valid_id(did) and (self.root / "drafts" / f"{did}.json").is_file():
            _write_json(self.root / "drafts" / f"{did}.json", {**record, "created": time.time()})

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
        for name in ("bytes", "pending", "drafts", "scratch"):
            for path in (self.root / name).iterdir():
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                except OSError:
                    continue
        return removed

    # -- bounds -----------------------------------------------------------------------------
    def _records(self, folder: str) -> list[tuple[float, Path, dict]]:
        out = []
        for path in (self.root / folder).glob("*.json"):
            record = _read_json(path)
            if record is not None:
                out.append((float(record.get("created", 0.0)), path, record))
        return sorted(out, key=lambda r: r[0])

    def _referenced(self) -> set[str]:
        return {r.get("sha256") for folder in ("pending", "drafts", "claimed")
                for _, _, r in self._records(folder)}

    def drop_unreferenced(self, sha: str) -> None:
        """Delete the staged bytes of ``sha`` unless a confirmation waits for them."""
        if _SHA_RE.match(sha or "") and sha not in self._referenced():
            (self.root / "bytes" / f"{sha}.csv").unlink(missing_ok=True)

    def _drop_pending(self, path: Path, record: dict) -> None:
        path.unlink(missing_ok=True)
        self.drop_unreferenced(str(record.get("sha256", "")))

    def make_room(self, user: str, incoming: int, *, files_per_user: int, max_bytes: int) -> None:
        """Drop ``user``'s oldest checks beyond ``files_per_user - 1`` and, while the total would
        pass ``max_bytes``, anyone's oldest; :class:`StagingFull` when ``incoming`` cannot fit."""
        for folder in ("pending", "drafts"):
            mine = [(c, p, r) for c, p, r in self._records(folder) if r.get("user") == user]
            for _, path, record in mine[:max(0, len(mine) - (files_per_user - 1))]:
                self._drop_pending(path, record)
        if incoming > max_bytes:
            raise StagingFull(f"the file ({incoming / 1e6:.1f} MB) is larger than the check area")

        def total() -> int:
            return sum(p.stat().st_size for p in (self.root / "bytes").glob("*.csv"))

        for _, path, record in sorted(self._records("pending") + self._records("drafts"), key=lambda r: r[0]):
            if total() + incoming <= max_bytes:
                return
            self._drop_pending(path, record)
        claimed = {r.get("sha256") for _, _, r in self._records("claimed")}
        for path in sorted((self.root / "bytes").glob("*.csv"), key=lambda p: p.stat().st_mtime):
            if total() + incoming <= max_bytes:
                return
            if path.stem not in claimed:  # never the bytes of a commit in progress
                path.unlink(missing_ok=True)
        if total() + incoming > max_bytes:
            raise StagingFull("the check area is full with files being stored right now")

    @contextmanager
    def scratch_file(self, data: bytes) -> Iterator[Path]:
        """``data`` in a private temporary file, deleted when the block ends (a viewer's check)."""
        handle, name = tempfile.mkstemp(suffix=".csv", dir=self.root / "scratch")
        path = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            yield path
        finally:
            path.unlink(missing_ok=True)


class StagingJanitor:
    """Deletes expired staged files every ``every_s`` seconds in a daemon thread."""

    def __init__(self, staging: Staging, max_age_hours: float, every_s: float) -> None:
        self.staging, self.max_age_hours, self.every_s = staging, max_age_hours, every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.staging.purge(self.max_age_hours)
            except Exception:  # noqa: BLE001 - housekeeping must never stop the server
                continue

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="moltwin-staging-janitor",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
