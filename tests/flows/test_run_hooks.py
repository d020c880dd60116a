"""A screen that ends outside its own code (cancelled, crashed) or whose remote simulations fail or
never run still leaves a true twin store and a result that says why."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from prefect.client.schemas.objects import FlowRun
from prefect.states import Cancelled, Crashed

from flows.run_hooks import mark_store_run, run_id_for_flow_run
from flows.runners import dashboard_address
from flows.screen import screen_flow
from flows.simulate import TIMEOUT_ENV, records_from_store, remote_failure, wait_timeout_s
from lab_sync.store import open_store
from moltwin.errors import ConfigError
from pipeline import run_context
from pipeline.config import DEMO_CONFIG, load_config


@pytest.fixture()
def begun(tmp_path):
    """A screen run recorded as started in a fresh store (what the flow does first)."""
    db = f"sqlite:///{tmp_path / 'twin.db'}"
    cfg = load_config(DEMO_CONFIG, [f"results_dir={tmp_path / 'results'}"])

    def begin(run_id: str):
        return run_context.begin_run(cfg, db, run_id=run_id)
    return db, begin


def _flow_run(params: dict) -> FlowRun:
    return FlowRun(id=uuid.uuid4(), flow_id=uuid.uuid4(), name="screen-x", parameters=params,
                   created=datetime(2026, 12, 2, 14, 30, 5, tzinfo=timezone.utc))


def test_screen_flow_carries_the_cancel_and_crash_hooks():
    assert [h.__name__ for h in screen_flow.on_cancellation_hooks] == ["mark_store_run_cancelled"]
    assert [h.__name__ for h in screen_flow.on_crashed_hooks] == ["mark_store_run_crashed"]


def test_a_cancelled_screen_is_marked_cancelled_with_the_reason(begun):
    db, begin = begun
    flow_run = _flow_run({"db_url": db})  # no run_id given: the flow named it after its flow run
    run_id = run_id_for_flow_run(flow_run)
    assert run_id.startswith("screen-20261202-143005-")
    ctx = begin(run_id)
    mark_store_run("cancelled")(screen_flow, flow_run, Cancelled(message="cancelled from the UI"))
    run = open_store(db).read_table("runs", run_id=run_id).iloc[0]
    assert run["status"] == "cancelled" and "CANCELLED: cancelled from the UI" in run["error"]
    assert json.loads((Path(ctx.run_dir) / "summary.json").read_text())["status"] == "cancelled"


def test_a_crashed_screen_is_marked_crashed_and_a_finished_one_is_left_alone(begun):
    db, begin = begun
    begin("screen-given-id")
    hook = mark_store_run("crashed")
    hook(screen_flow, _flow_run({"db_url": db, "run_id": "screen-given-id"}),
         Crashed(message="process exited with SIGKILL"))
    store = open_store(db)
    assert store.read_table("runs", run_id="screen-given-id").iloc[0]["status"] == "crashed"
    ctx = begin("screen-done")
    run_context.finish_run(ctx, "completed", {})
    hook(screen_flow, _flow_run({"db_url": db, "run_id": "screen-done"}), Crashed(message="late"))
    assert store.read_table("runs", run_id="screen-done").iloc[0]["status"] == "completed"


def test_a_failed_remote_simulation_brings_its_error_back(begun):
    db, begin = begun
    ctx = begin("screen-remote")
    items = [{"compound_id": "ejm_31", "smiles": "C"}, {"compound_id": "ejm_42", "smiles": "CC"}]
    finals = {"ejm_31": ("FAILED", "Flow run encountered an exception: ConcurrencyLimitNotFound: gpu:3", "fr-1"),
              "ejm_42": ("TIMEOUT", "simulate flow run fr-2 still SCHEDULED after 60 s", "fr-2")}
    records = records_from_store(ctx, items, finals)
    assert records[0]["reason_code"] == "remote_run_failed" and "gpu:3" in records[0]["message"]
    assert records[0]["message"].startswith("simulate flow run fr-1 ended FAILED: ")
    assert records[1]["reason_code"] == "remote_run_timeout" and "SCHEDULED" in records[1]["message"]
    assert remote_failure("x", "CRASHED", "")["message"].endswith("without a record or an error message")


def test_the_simulation_wait_limit_is_configurable(monkeypatch):
    monkeypatch.setenv(TIMEOUT_ENV, "90")
    assert wait_timeout_s() == 90
    monkeypatch.setenv(TIMEOUT_ENV, "soon")
    with pytest.raises(ConfigError, match=TIMEOUT_ENV):
        wait_timeout_s()
    monkeypatch.delenv(TIMEOUT_ENV)
    assert wait_timeout_s() == 12 * 3600


def test_the_dask_dashboard_listens_on_loopback_unless_asked(monkeypatch):
    monkeypatch.delenv("MOLTWIN_DASK_DASHBOARD", raising=False)
    assert dashboard_address() == "127.0.0.1:0"
    monkeypatch.setenv("MOLTWIN_DASK_DASHBOARD", "0.0.0.0:8787")
    assert dashboard_address() == "0.0.0.0:8787"
    monkeypatch.setenv("MOLTWIN_DASK_DASHBOARD", "none")
    assert dashboard_address() is None
