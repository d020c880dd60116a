"""Bring the twin up to date after a commit from the web page, without making the page wait.

The update itself (retrain, re-predict, prediction ledger, re-rank, report) lives
outside lab_sync, behind the hook ``flows.sync_trigger.trigger_sync(store_url,
project, upload_id) -> dict``. It runs in one background thread (one update at a
time, in commit order); its state is written to the staging area, and the result
page shows it, refreshing itself while the update runs.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Union

from interfaces.web.staging import Staging

log = logging.getLogger(__name__)

SyncTrigger = Callable[[str, str, str], dict]
#: "auto": import the hook when a commit happens; None: no twin update; or the hook itself.
TriggerChoice = Union[SyncTrigger, str, None]


def load_sync_trigger() -> SyncTrigger | None:
    """The project's sync hook, or None where it is not installed."""
    try:
        from flows.sync_trigger import trigger_sync
    except ImportError as exc:
        log.info("twin update not available: %s", exc)
        return None
    return trigger_sync


class TwinUpdater:
    """Runs the sync hook after each commit and records how it went."""

    def __init__(self, staging: Staging, store_url: str, trigger: TriggerChoice = "auto", *,
                 inline: bool = False) -> None:
        self.staging = staging
        self.store_url = store_url
        self.trigger = trigger
        self.inline = inline
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="moltwin-twin-update")

    def _hook(self) -> SyncTrigger | None:
        return load_sync_trigger() if self.trigger == "auto" else self.trigger  # type: ignore[return-value]

    def start(self, project: str, upload_id: str) -> None:
        """Start the update for a committed upload (or record that none is available)."""
        hook = self._hook()
        if hook is None:
            self.staging.save_twin_update(upload_id, {"status": "not available"})
            return
        self.staging.save_twin_update(upload_id, {"status": "running", "started": time.time()})
        if self.inline:
            self._run(hook, project, upload_id)
        else:
            self._pool.submit(self._run, hook, project, upload_id)

    def _run(self, hook: SyncTrigger, project: str, upload_id: str) -> None:
        started = time.time()
        try:
            summary = hook(self.store_url, project, upload_id)
            payload = {"status": "done", "summary": summary if isinstance(summary, dict) else
                       {"result": summary}}
        except Exception as exc:  # noqa: BLE001  (the commit stands; the page says the update failed)
            log.error("twin update after upload %s failed:\n%s", upload_id, traceback.format_exc())
            payload = {"status": "failed", "message": f"{exc.__class__.__name__}: {exc}"}
        payload["seconds"] = round(time.time() - started, 1)
        self.staging.save_twin_update(upload_id, payload)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=False)
