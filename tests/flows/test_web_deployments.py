"""The web pages' queued work on a real (test-harness) Prefect API: the deployment is started and the
job's status is the flow run's state, read back from the server."""

from __future__ import annotations

import time


def test_a_queued_screen_becomes_a_flow_run_of_the_screen_deployment(monkeypatch):
    from prefect.settings import PREFECT_API_URL

    from flows.screen import screen_flow
    from flows.simulate_compound import simulate_compound_flow
    from interfaces.web.job_queue import JobQueue

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    screen_flow.to_deployment(name="screen").apply()
    simulate_compound_flow.to_deployment(name="compound").apply()
    from pipeline.config import load_config

    config = load_config(None, ["project=p"]).model_dump(mode="json")
    jobs = JobQueue("sqlite://")
    ran_here = []
    screen = jobs.submit("screen", "p", "screen", "alice", lambda: ran_here.append("screen") or {},
                         deployment=lambda: ("screen/screen", {"config": config, "db_url": "sqlite://"}))
    sim = jobs.submit("simulate", "p", "WI-1", "alice", lambda: ran_here.append("sim") or {},
                      deployment=lambda: ("simulate_compound/compound", {"project": "p", "db_url": "sqlite://",
                                                                         "compound_id": "WI-1", "smiles": "CCO"}))
    absent = jobs.submit("simulate", "p", "WI-2", "alice", lambda: {"message": "simulated here"},
                         deployment=lambda: ("simulate_compound/absent", {}))
    refused = jobs.submit("screen", "p", "screen", "alice", lambda: {"message": "screened here"},
                          deployment=lambda: ("screen/screen", {"config": {"project": "p"}, "db_url": "sqlite://"}))
    jobs.wait(60)
    assert screen.mode == sim.mode == "deployment", (screen.message, sim.message)
    assert screen.flow_run_id and sim.flow_run_id
    assert ran_here == []  # no worker here: the runs wait on the server
    listed = {j.job_id: j for j in jobs.for_project("p")}
    assert listed[screen.job_id].status == "queued" and "Scheduled" in screen.message
    assert "Prefect deployment simulate_compound/compound, flow run" in sim.message
    assert absent.mode == "local" and absent.status == "done"
    assert "no deployment 'simulate_compound/absent'" in absent.message
    assert refused.mode == "local" and "the Prefect server refused a run of 'screen/screen'" in refused.message

    from prefect import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(sim.flow_run_id)
        assert run.parameters["compound_id"] == "WI-1"
        client.set_flow_run_state(sim.flow_run_id, __import__("prefect.states", fromlist=["Failed"]).Failed(
            message="no GPU worker"), force=True)
    sim.checked_at = 0.0
    time.sleep(0.1)
    assert jobs.refresh(sim).status == "failed" and "no GPU worker" in sim.message
