"""Telling transient failures (retry them) from chemistry failures (record them).

A GPU that is busy or out of memory when a Context is created, a flaky network file
system or a database that drops a connection can succeed on a second try; a ligand
that cannot be embedded cannot. Only the first kind is retried, with exponential
backoff (by Prefect in flows, by :func:`call_with_retries` without Prefect).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Messages of failures that a retry can fix: GPU context creation, device memory, I/O.
_TRANSIENT_MESSAGE = re.compile(
    r"failed to create a Context|Error (creating|initializing) (the )?[Cc]ontext|CUDA_ERROR|"
    r"out of memory|devices? (are|is) busy|Input/output error|Stale file handle|"
    r"Resource temporarily unavailable|No space left on device|database is locked|"
    r"server closed the connection|connection (refused|reset)", re.IGNORECASE)


class TransientError(RuntimeError):
    """A failure worth retrying (the same inputs may succeed on a later attempt)."""


def is_transient_record(record: dict) -> bool:
    """True for a failed simulation record whose cause was the machine, not the molecule."""
    if record.get("status") == "ok":
        return False
    text = f"{record.get('reason_code', '')} {record.get('message', '')}"
    return bool(_TRANSIENT_MESSAGE.search(text))


def is_transient_exception(exc: BaseException | None) -> bool:
    """True for exceptions a retry can fix: :class:`TransientError`, OS-level I/O errors and
    lost database connections (also when wrapped as the cause of a ``StoreError``)."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, TransientError):
            return True
        if isinstance(exc, OSError) and not isinstance(exc, (FileNotFoundError, PermissionError,
                                                             IsADirectoryError, NotADirectoryError)):
            return True
        if type(exc).__name__ in {"OperationalError", "InterfaceError"}:  # SQLAlchemy/DB-API
            return True
        if _TRANSIENT_MESSAGE.search(str(exc)) and type(exc).__name__ == "OpenMMException":
            return True
        exc, seen = exc.__cause__, seen + 1
    return False


def call_with_retries(fn: Callable[[], T], *, retries: int = 3, base_delay_s: float = 10.0,
                      sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``fn``; on a transient exception wait ``base_delay_s * 2**attempt`` and try again.

    Any other exception propagates at once (chemistry failures are already records).
    """
    for attempt in range(retries + 1):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - filtered just below
            if attempt == retries or not is_transient_exception(exc):
                raise
            delay = base_delay_s * 2 ** attempt
            log.warning("transient failure (%s); retry %d/%d in %.0f s", exc, attempt + 1, retries, delay)
            sleep(delay)
    raise AssertionError("unreachable")
