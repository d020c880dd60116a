"""Run a batch of simulations: several at once on one GPU, one at a time on a CPU.

A small complex leaves most of a large GPU idle (a per-step floor of roughly
0.1–0.2 ms), so on a GPU platform the batch runs in ``simulations_per_gpu``
worker processes that share the device, each with its own OpenMM Context;
the aggregate throughput is higher than one run alone. On a CPU platform
OpenMM already uses every core for one run, so the batch runs sequentially
in this process. Workers are *spawned*, never forked: a forked child would
inherit the parent's GPU state. A worker that dies (driver crash, out of
memory) costs only its own ligands, which become failure records.
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

from simulation.platform import select_platform
from simulation.run import SimulationRecord, SimulationRequest, simulate_ligand
from simulation.settings import SimulationSettings

log = logging.getLogger(__name__)


def concurrency_for(settings: SimulationSettings, max_concurrent: int | None = None) -> tuple[int, str]:
    """How many simulations to run at once, and the platform that decided it.

    Parameters
    ----------
    settings
        ``platform`` is probed; ``simulations_per_gpu`` applies to GPU platforms.
    max_concurrent
        Upper bound (e.g. the number of ligands); None: no bound.

    Returns
    -------
    tuple of (int, str)
        1 on CPU/Reference platforms, else ``simulations_per_gpu`` (bounded).
    """
    choice = select_platform(settings.platform, settings.cpu_threads)
    if not choice.is_gpu:
        return 1, choice.name
    n = settings.simulations_per_gpu
    return (min(n, max_concurrent) if max_concurrent else n), choice.name


def _failed(request: SimulationRequest, reason: str, message: str) -> SimulationRecord:
    return SimulationRecord(compound_id=request.compound_id, reason_code=reason, message=message)


def run_in_processes(requests: list[SimulationRequest], settings: SimulationSettings,
                     work_dir: str | Path, n_processes: int,
                     on_done: Callable[[SimulationRecord], None] | None = None
                     ) -> list[SimulationRecord]:
    """Simulate ``requests`` in ``n_processes`` spawned workers; records in request order.

    Used by :func:`simulate_batch` on GPUs; callable directly (tests, custom schedulers).
    """
    records: list[SimulationRecord | None] = [None] * len(requests)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=n_processes, mp_context=context) as pool:
        futures = {pool.submit(simulate_ligand, req, settings, str(work_dir)): i
                   for i, req in enumerate(requests)}
        for future in as_completed(futures):
            index = futures[future]
            try:
                records[index] = future.result()
            except BrokenProcessPool as exc:
                records[index] = _failed(requests[index], "worker_crashed",
                                         f"simulation worker process died: {exc}")
            except Exception as exc:  # BadInputError from a worker: report, don't stop others
                records[index] = _failed(requests[index], getattr(exc, "reason_code", None)
                                         or type(exc).__name__, str(exc))
            if on_done is not None:
                on_done(records[index])
    return [r for r in records if r is not None]


def simulate_batch(requests: list[SimulationRequest], settings: SimulationSettings,
                   work_dir: str | Path, *, max_concurrent: int | None = None,
                   on_done: Callable[[SimulationRecord], None] | None = None
                   ) -> list[SimulationRecord]:
    """Simulate every request; concurrently on a GPU, sequentially otherwise.

    Parameters
    ----------
    requests
        Ligands to simulate.
    settings
        Simulation settings (one set for the batch).
    work_dir
        Root of the run directories (shared cache of prepared proteins and runs).
    max_concurrent
        Upper bound on concurrent simulations (None: ``settings.simulations_per_gpu``).
    on_done
        Called with each record as it is finished (progress reporting).

    Returns
    -------
    list of SimulationRecord
        One per request, in request order; failures included.

    Raises
    ------
    moltwin.errors.BadInputError
        Sequential mode only: a protein file is missing (shared by the batch).
    """
    if not requests:
        return []
    n, platform = concurrency_for(settings, max_concurrent)
    n = min(n, len(requests))
    if n > 1:
        log.info("running %d simulations, %d at a time on %s", len(requests), n, platform)
        return run_in_processes(requests, settings, work_dir, n, on_done)
    records = []
    for request in requests:
        records.append(simulate_ligand(request, settings, work_dir))
        if on_done is not None:
            on_done(records[-1])
    return records
