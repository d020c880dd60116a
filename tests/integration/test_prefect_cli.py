"""Prefect's own command line against a real server: ``prefect deploy --all`` (``prefect.yaml`` at the
repository root) and the listing commands a Prefect user runs must exit 0.

With FastAPI 0.151-0.154 the server answered 422 to the client's ``"limit": null`` (a ``Body(None)``
typed ``int``), so ``prefect deploy --all`` stopped after the first deployment and every listing
command failed; ``requirements/constraints.txt`` pins FastAPI 0.150.0. Slow: a server start.
"""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_deploy_all_and_listing_commands_exit_0(cluster):
    env, prefect, _start, _tmp = cluster
    prefect("work-pool", "create", "moltwin-cpu", "--type", "process")
    prefect("work-pool", "create", "moltwin-gpu", "--type", "process")
    prefect("global-concurrency-limit", "create", "gpu:0", "--limit", "1")
    deployed = prefect("deploy", "--all")
    for name in ("screen/screen", "simulate/gpu", "sync_assays/sync-assays", "dmta_cycle/dmta-cycle"):
        assert name in deployed.stdout, deployed.stdout[-3000:]
    listed = prefect("deployment", "ls")
    for name in ("screen", "gpu", "sync-assays", "dmta-cycle"):
        assert name in listed.stdout, listed.stdout
    pools = prefect("work-pool", "ls")
    assert "moltwin-cpu" in pools.stdout and "moltwin-gpu" in pools.stdout
    started = prefect("deployment", "run", "sync_assays/sync-assays", "--params",
                      '{"params": {"project": "nobody", "db_url": "sqlite:///nowhere.db"}}')
    flow_run_id = started.stdout.split("UUID:")[1].split()[0]
    runs = prefect("flow-run", "ls")
    assert "sync_assays" in runs.stdout, runs.stdout
    prefect("flow-run", "inspect", flow_run_id)
    prefect("flow-run", "logs", flow_run_id)
    prefect("artifact", "ls")
    prefect("global-concurrency-limit", "ls")
