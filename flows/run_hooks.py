"""Prefect state hooks that keep the twin store's ``runs`` table true when a flow run ends
without reaching its own ``finish_run``: cancelled (from the UI/CLI, or a timeout) or crashed
(the process was killed, an interrupt). Without them the store would say "running" forever.

The hook may run in another process than the flow (Prefect runs ``on_cancellation`` hooks in
the worker that cancelled the run), so it finds the twin-store run from the flow run alone:
the ``run_id`` parameter when given, else :func:`run_id_for_flow_run`, which the flow uses
to name its run in the first place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


def run_id_for_flow_run(flow_run, kind: str = "screen") -> str:
    """The twin-store run id of a flow run that was not given one: ``<kind>-<created>-<flow-run id>``."""
    created = getattr(flow_run, "created", None) or getattr(flow_run, "expected_start_time", None)
    stamp = f"{created:%Y%m%d-%H%M%S}-" if created is not None else ""
    return f"{kind}-{stamp}{flow_run.id.hex[:8]}"


def mark_store_run(status: str, kind: str = "screen") -> Callable:
    """A Prefect flow-run state hook setting the store run to ``status`` (``cancelled``/``crashed``)
    with the state's message as the error, if that run is still ``running``."""

    def hook(flow, flow_run, state) -> None:
        from lab_sync.store import open_store, resolve_db_url
        from pipeline.run_context import finish_run
        from pipeline.stages import RunContext

        params = dict(flow_run.parameters or {})
        run_id = params.get("run_id") or run_id_for_flow_run(flow_run, kind)
        try:
            db_url = resolve_db_url(params.get("db_url"))
            runs = open_store(db_url).read_table("runs", run_id=run_id)
            if runs.empty or runs.iloc[0]["status"] != "running":
                return  # never started, or already finished by the flow itself
            row = runs.iloc[0]
            ctx = RunContext(run_id, row["results_dir"], db_url, row["config_json"])
            finish_run(ctx, status, {"prefect_flow_run_id": str(flow_run.id)},
                       error=f"Prefect flow run {flow_run.id} {state.type.value}: {state.message or ''}")
        except Exception:  # noqa: BLE001 - a hook must never hide the state it reports
            log.exception("could not mark run %s %s in the twin store", run_id, status)

    hook.__name__ = f"mark_store_run_{status}"
    return hook
