"""Queued work goes to a Prefect deployment when a server is configured, else to the one-job queue.

The deployment start and the flow-run status are given to the queue as plain functions; here
they are a recording stand-in (the Prefect server itself is exercised by the slow test in
tests/integration/test_deployments.py). The fallback is real: a server that does not answer.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _twin_data import fill_tyk2  # noqa: E402
from _web_client import make_web, sign_in, text_of  # noqa: E402

from interfaces.web.job_queue import JobQueue  # noqa: E402


class FakeServer:
    """Deployments that exist, and flow runs whose state the test moves on."""

    def __init__(self, deployments: set[str]) -> None:
        self.deployments, self.started, self.states = deployments, [], {}

    def launch(self, name: str, params: dict, key: str):
        if name not in self.deployments:
            return None, f"no deployment '{name}' on the Prefect server at http://x/api"
        run_id = f"run-{len(self.started) + 1}"
        self.started.append((name, params, key))
        self.states[run_id] = {"status": "queued", "state": "Scheduled", "message": ""}
        return run_id, ""

    def status(self, flow_run_id: str) -> dict:
        return self.states[flow_run_id]


def test_with_a_server_jobs_run_on_the_deployment_and_show_the_flow_runs_state(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://x/api")
    server = FakeServer({"screen/screen"})
    jobs = JobQueue("sqlite://", launch=server.launch, status=server.status)
    ran_here = []
    job = jobs.submit("screen", "p", "screen", "alice", lambda: ran_here.append(1) or {},
                      deployment=lambda: ("screen/screen", {"db_url": "sqlite://"}))
    jobs.wait(10)
    assert job.mode == "deployment" and job.flow_run_id == "run-1" and not ran_here
    assert server.started[0][2] == f"moltwin-web:{job.job_id}"  # a double submit cannot start two runs
    assert jobs.for_project("p")[0].status == "queued" and "Scheduled" in job.message
    server.states["run-1"] = {"status": "running", "state": "Running", "message": ""}
    job.checked_at = 0.0
    assert jobs.for_project("p")[0].status == "running"
    server.states["run-1"] = {"status": "failed", "state": "Crashed", "message": "worker lost"}
    job.checked_at = 0.0
    assert jobs.for_project("p")[0].status == "failed" and "Crashed (worker lost)" in job.message
    assert job.finished_at is not None


def test_without_the_deployment_or_without_a_server_jobs_run_here(monkeypatch):
    server = FakeServer(set())
    jobs = JobQueue("sqlite://", launch=server.launch, status=server.status)
    monkeypatch.setenv("PREFECT_API_URL", "http://x/api")
    missing = jobs.submit("simulate", "p", "c1", "alice", lambda: {"message": "simulation ok"},
                          deployment=lambda: ("simulate_compound/compound", {}))
    monkeypatch.delenv("PREFECT_API_URL")
    local = jobs.submit("simulate", "p", "c2", "alice", lambda: {"message": "simulation ok"},
                        deployment=lambda: ("simulate_compound/compound", {}))
    jobs.wait(10)
    assert (missing.mode, missing.status) == ("local", "done")
    assert missing.message == ("simulation ok; no deployment 'simulate_compound/compound' on the Prefect server at "
                               "http://x/api; running on this server instead")
    assert (local.mode, local.status, local.message) == ("local", "done", "simulation ok")
    assert not server.started


def test_an_unreachable_server_falls_back_to_this_server(monkeypatch):
    """The real deployment start against a port nobody listens on."""
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "0")
    jobs = JobQueue("sqlite://")
    job = jobs.submit("screen", "p", "screen", "alice", lambda: {"message": "screen completed"},
                      deployment=lambda: ("screen/screen", {}))
    jobs.wait(120)
    assert job.status == "done" and job.mode == "local", job.message
    # Run in one session after tests/flows, Prefect's test harness answers instead of the dead
    # port: "no deployment", or, once a test there has deployed screen/screen, a refused run.
    assert ("could not reach the Prefect server" in job.message or "no deployment 'screen/screen'" in job.message
            or "the Prefect server refused a run of 'screen/screen'" in job.message), job.message
    assert job.message.endswith("running on this server instead")


def test_pages_send_a_screen_and_a_simulation_to_their_deployments(tmp_path, repo_dir, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://x/api")
    web = make_web(tmp_path)
    fill_tyk2(web.store, repo_dir, tmp_path, saved_config=True)
    server = FakeServer({"screen/screen", "simulate_compound/compound"})
    web.app.state.twin.jobs = JobQueue(web.store.url, launch=server.launch, status=server.status)
    web.app.state.twin.extra["admet"] = False
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        client.post("/projects/tyk2/runs/screen", data={"csrf_token": csrf})
        queued = client.post("/projects/tyk2/whatif/simulate",
                             data={"csrf_token": csrf, "smiles": "O=C(Nc1ccnc(NC(=O)C2CC2C)c1)c1c(Cl)cccc1Cl"})
        web.app.state.twin.jobs.wait(10)
        runs = client.get("/projects/tyk2/runs")
    cid = queued.url.path.rsplit("/", 1)[-1]
    (screen, screen_params, _), (simulate, sim_params, _) = server.started
    assert screen == "screen/screen" and screen_params["config"]["project"] == "tyk2"
    assert screen_params["db_url"] == web.store.url and screen_params["config"]["measurements_csv"] is None
    assert simulate == "simulate_compound/compound"
    assert sim_params == {"project": "tyk2", "db_url": web.store.url, "compound_id": cid,
                          "smiles": sim_params["smiles"]} and cid.startswith("WI-")
    words = text_of(runs.text)
    assert "Prefect deployment screen/screen, flow run run-1: Scheduled" in words
    assert "Prefect server" in words
