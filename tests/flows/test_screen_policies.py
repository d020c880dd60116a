"""Retries only for transient failures; one simulation per GPU slot when GPU slots are configured."""

from __future__ import annotations

import pytest
from prefect import flow, task

from flows.concurrency import gpu_limit_name, gpu_slot
from flows.retry import transient_retry_options
from moltwin.errors import ConfigError
from moltwin.transient import TransientError


def test_transient_failures_are_retried_and_chemistry_failures_are_not():
    calls = {"flaky": 0, "chem": 0}

    @task(**transient_retry_options(backoff_factor_s=0.0))
    def flaky_gpu() -> str:
        calls["flaky"] += 1
        if calls["flaky"] < 3:
            raise TransientError("platform CUDA failed to create a Context: all CUDA-capable devices are busy")
        return "ok"

    @task(**transient_retry_options(backoff_factor_s=0.0))
    def bad_chemistry() -> str:
        calls["chem"] += 1
        raise ValueError("RDKit cannot parse SMILES 'C1CC'")

    @flow
    def run_both() -> tuple[str, bool]:
        ok = flaky_gpu()
        state = bad_chemistry(return_state=True)
        return ok, state.is_failed()

    assert run_both() == ("ok", True)
    assert calls == {"flaky": 3, "chem": 1}


def test_gpu_slot_is_a_no_op_unless_configured(monkeypatch):
    monkeypatch.delenv("MOLTWIN_GPU_SLOT", raising=False)
    with gpu_slot() as name:
        assert name is None
    monkeypatch.setenv("MOLTWIN_GPU_SLOT", "strict")
    monkeypatch.delenv("WORKER_ID", raising=False)
    with pytest.raises(ConfigError, match="WORKER_ID"):
        gpu_limit_name()


def test_gpu_slot_holds_the_workers_limit_strictly(monkeypatch):
    from prefect import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    monkeypatch.setenv("MOLTWIN_GPU_SLOT", "strict")
    monkeypatch.setenv("WORKER_ID", "test-7")

    @flow
    def simulate_like() -> int:
        with gpu_slot() as name:
            assert name == "gpu:test-7"
            with get_client(sync_client=True) as client:
                return client.read_global_concurrency_limit_by_name(name).active_slots

    with pytest.raises(Exception, match="gpu:test-7"):  # strict: a missing limit is an error
        simulate_like()
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="gpu:test-7", limit=1))
    assert simulate_like() == 1  # the slot is held while the simulation runs
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name("gpu:test-7").active_slots == 0  # and released
