"""Which Prefect task runner a flow fans out on, chosen from the environment.

- default: ``ThreadPoolTaskRunner(max_workers=1)``: tasks one after the other in the flow's
  process. Chemistry holds the GIL and CPU MD already uses every core, so more threads
  would only compete (a laptop, ``make demo``, the tests).
- ``MOLTWIN_TASK_RUNNER=dask``: ``prefect_dask.DaskTaskRunner`` on a temporary
  ``distributed.LocalCluster`` (``MOLTWIN_DASK_WORKERS`` processes, one thread each;
  default: the CPU count), so filter chunks and simulations run in parallel processes.
- ``MOLTWIN_DASK_ADDRESS=tcp://scheduler:8786``: the same on an existing Dask cluster
  (its workers must see the run folder, the twin home and the database).
- The LocalCluster's dashboard listens on ``127.0.0.1`` (a free port) unless
  ``MOLTWIN_DASK_DASHBOARD`` says otherwise (e.g. ``0.0.0.0:8787`` to reach it from another host,
  or ``none`` for no dashboard): it shows task details and must not be open to the network by default.
"""

from __future__ import annotations

import os

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

RUNNER_ENV = "MOLTWIN_TASK_RUNNER"
ADDRESS_ENV = "MOLTWIN_DASK_ADDRESS"
WORKERS_ENV = "MOLTWIN_DASK_WORKERS"
DASHBOARD_ENV = "MOLTWIN_DASK_DASHBOARD"


def dashboard_address() -> str | None:
    """Where a LocalCluster's dashboard listens: ``$MOLTWIN_DASK_DASHBOARD``, default loopback on a free port."""
    value = os.environ.get(DASHBOARD_ENV, "").strip() or "127.0.0.1:0"
    return None if value.lower() in {"none", "off", "false", "0"} else value


def dask_runner(address: str | None = None, n_workers: int | None = None) -> TaskRunner:
    """A ``DaskTaskRunner`` on ``address``, or on a new LocalCluster of ``n_workers`` processes."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    n = n_workers or os.cpu_count() or 1
    # One thread per worker process: RDKit and OpenMM work is per-process parallel, not threaded.
    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs={"n_workers": n, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": dashboard_address()})


def task_runner_from_env() -> TaskRunner:
    """The task runner named by ``MOLTWIN_TASK_RUNNER`` / ``MOLTWIN_DASK_ADDRESS`` (see module doc)."""
    address = os.environ.get(ADDRESS_ENV, "").strip() or None
    kind = os.environ.get(RUNNER_ENV, "dask" if address else "thread").strip().lower()
    if kind == "dask":
        workers = os.environ.get(WORKERS_ENV, "").strip()
        return dask_runner(address, int(workers) if workers else None)
    if kind != "thread":
        from moltwin.errors import ConfigError

        raise ConfigError(f"{RUNNER_ENV} must be 'thread' or 'dask', not {kind!r}", field=RUNNER_ENV)
    return ThreadPoolTaskRunner(max_workers=1)
