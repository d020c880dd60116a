"""prefect.yaml on a real Prefect server: a CPU worker, a "GPU" worker with its strict slot,
the screen deployment sending its simulations to the GPU pool, and an upload starting sync_assays.

Slow (a server, two workers, a screen run with one short MD run): ``pytest --runslow``.
The GPU worker runs on whatever OpenMM platform exists (CPU here); what is checked is the
plumbing: pools, deployments, job environments, the ``gpu:<WORKER_ID>`` limit, records
coming back through the store.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FAST_MD = ["generate.max_candidates=30", "screen.simulate_top_n=1",
           "screen.simulate_measured_n=0", "screen.batch_size=10",
           "model.model_kinds=[random_forest]", "model.n_estimators=20", "model.cv_folds=3",
           "simulate.charge_methods=[mmff94]", "simulate.pose_method=mcs", 'simulate.pose_check="off"',
           "simulate.ligand_protonation=keep", "simulate.minimize_max_iterations=20",
           "simulate.equilibration_steps=10", "simulate.production_steps=40",
           "simulate.report_interval_steps=10", "simulate.checkpoint_interval_steps=20"]


def _wait_final(env, flow_run_id: str, timeout_s: float = 1200):
    from prefect.client.orchestration import SyncPrefectClient

    deadline = time.monotonic() + timeout_s
    with SyncPrefectClient(env["PREFECT_API_URL"]) as client:
        while True:
            run = client.read_flow_run(flow_run_id)
            if run.state is not None and run.state.is_final():
                return run
            assert time.monotonic() < deadline, f"flow run {flow_run_id} still {run.state}"
            time.sleep(3)


@pytest.mark.slow
def test_screen_deployment_sends_simulations_to_the_gpu_pool(cluster):
    from lab_sync.store import open_store
    from pipeline.config import load_config

    env, prefect, start, tmp = cluster
    prefect("work-pool", "create", "moltwin-cpu", "--type", "process")
    prefect("work-pool", "create", "moltwin-gpu", "--type", "process")
    prefect("global-concurrency-limit", "create", "gpu:0", "--limit", "1")
    for name in ("screen", "gpu", "sync-assays", "dmta-cycle"):
        out = prefect("deploy", "-n", name)  # exit 0 required (FastAPI 0.150 pin: no 422 on `limit: null`)
        assert "successfully created" in out.stdout, out.stdout[-3000:] + out.stderr[-3000:]
    start([str(BIN / "prefect"), "worker", "start", "--pool", "moltwin-cpu", "--name", "cpu-1"],
          {"MOLTWIN_DASK_WORKERS": "2"}, log="cpu")
    start([str(BIN / "prefect"), "worker", "start", "--pool", "moltwin-gpu", "--name", "gpu-0", "--limit", "1"],
          {"CUDA_VISIBLE_DEVICES": "0", "WORKER_ID": "0", "MOLTWIN_GPU_SLOT": "strict"}, log="gpu")

    params = {"config": load_config(None, [*FAST_MD, f"results_dir={tmp / 'results'}"]).model_dump(mode="json")}
    out = prefect("deployment", "run", "screen/screen", "--params", json.dumps(params))
    flow_run_id = out.stdout.split("UUID:")[1].split()[0]
    run = _wait_final(env, flow_run_id)
    assert run.state.is_completed(), (tmp / "cpu.log").read_text()[-4000:]

    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    with SyncPrefectClient(env["PREFECT_API_URL"]) as client:
        sims = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_="simulate-")),
                                     sort=FlowRunSort.START_TIME_DESC, limit=50)
        assert len(sims) == 1 and sims[0].state.is_completed()
        assert sims[0].work_pool_name == "moltwin-gpu"
        assert client.read_global_concurrency_limit_by_name("gpu:0").active_slots == 0
    store = open_store(env["MOLTWIN_DB"])
    runs = store.read_table("runs")
    assert list(runs["status"]) == ["completed"]
    assert store.count("simulations", "tyk2-demo") == 1
    assert (Path(runs.loc[0, "results_dir"]) / "report.html").is_file()

    # An upload starts the sync deployment on the CPU pool (event-driven sync through a server).
    lines = (REPO / "data" / "tyk2" / "tyk2_measurements.csv").read_text().splitlines()
    (tmp / "new.csv").write_text("\n".join([lines[0], lines[1].replace(",1,2015", ",2,2015")]) + "\n")
    up = subprocess.run([str(BIN / "moltwin"), "assays", "upload", str(tmp / "new.csv"), "--project", "tyk2-demo"],
                        env=env, capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, up.stderr
    assert "sync_assays/sync-assays" in up.stdout, up.stdout
    sync_id = up.stdout.split("flow run ")[1].split()[0]
    assert _wait_final(env, sync_id).state.is_completed(), (tmp / "cpu.log").read_text()[-4000:]


@pytest.mark.slow
def test_web_page_queues_a_screen_on_the_deployment_and_shows_the_flow_runs_state(cluster):
    """`moltwin serve` with PREFECT_API_URL set: "Start a screen" runs the screen deployment on a worker,
    and the Runs page follows the flow run until it is done."""
    import re
    import socket

    import httpx

    from lab_sync.store import open_store
    from lab_sync.upload import upload_assay_file
    from interfaces.web.users import add_user
    from pipeline.config import load_config

    env, prefect, start, tmp = cluster
    prefect("work-pool", "create", "moltwin-cpu", "--type", "process")
    prefect("work-pool", "create", "moltwin-gpu", "--type", "process")
    for name in ("screen", "compound"):  # the web's two deployments (compound: GPU pool, not run here)
        out = prefect("deploy", "-n", name)
        assert "successfully created" in out.stdout, out.stdout[-3000:] + out.stderr[-3000:]
    store = open_store(env["MOLTWIN_DB"])
    upload_assay_file(store, REPO / "data" / "tyk2" / "tyk2_measurements.csv", "tyk2-demo",
                      archive_dir=tmp / "archive")
    token = add_user(store, "alice", "uploader")
    # The project's saved configuration: a finished run's (no MD, a small fast model).
    config = load_config(None, ["generate.max_candidates=20", "screen.simulate_top_n=0", "model.model_kinds=[knn]",
                                "model.cv_folds=3", "admet.enabled=false", f"results_dir={tmp / 'results'}"])
    config = config.model_copy(update={"measurements_csv": None})
    store.start_run(run_id="screen-0", project="tyk2-demo", kind="screen", config_json=config.model_dump_json(),
                    config_hash=config.config_hash(), code_version="test", results_dir=str(tmp / "results" / "screen-0"))
    store.finish_run("screen-0", status="completed", summary={})

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start([str(BIN / "moltwin"), "serve", "--port", str(port), "--db", env["MOLTWIN_DB"]], log="web")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while subprocess.run(["curl", "-sf", f"{base}/signin"], capture_output=True).returncode:
        assert time.monotonic() < deadline, (tmp / "web.log").read_text()[-3000:]
        time.sleep(1)
    with httpx.Client(base_url=base, follow_redirects=True, timeout=60) as web:
        home = web.post("/signin", data={"name": "alice", "token": token})
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
        queued = web.post("/projects/tyk2-demo/runs/screen", data={"csrf_token": csrf})
        assert queued.status_code == 200, queued.text[-2000:]
        start([str(BIN / "prefect"), "worker", "start", "--pool", "moltwin-cpu", "--name", "cpu-1"],
              {"MOLTWIN_DASK_WORKERS": "1"}, log="cpu")
        deadline = time.monotonic() + 1200
        while True:
            page = web.get("/projects/tyk2-demo/runs").text
            job = re.search(r'<tr class="job" data-status="([a-z]+)">(.*?)</tr>', page, re.S)
            assert job and "Prefect server" in job.group(2), page[-3000:]
            if job.group(1) in ("done", "failed"):
                break
            assert time.monotonic() < deadline, job.group(2)
            time.sleep(5)
    assert job.group(1) == "done", job.group(2) + (tmp / "cpu.log").read_text()[-4000:]
    assert "Prefect deployment screen/screen, flow run" in job.group(2) and "Completed" in job.group(2)
    runs = store.read_table("runs", "tyk2-demo")
    assert sorted(runs["status"]) == ["completed", "completed"]
    new = runs[runs["run_id"] != "screen-0"].iloc[0]
    assert (Path(new["results_dir"]) / "report.html").is_file()
