"""One GPU, one simulation: a Prefect global concurrency limit per GPU, when configured.

A GPU worker sets ``MOLTWIN_GPU_SLOT=strict`` and ``WORKER_ID`` (and
``CUDA_VISIBLE_DEVICES`` to its GPU); every simulation task then holds the slot
``gpu:<WORKER_ID>`` while it runs. ``strict=True`` makes a missing limit an error instead
of a silent free-for-all, so a mis-deployed worker fails loudly. Without
``MOLTWIN_GPU_SLOT`` (a laptop, the test suite, ``make demo``) nothing is acquired and no
Prefect server is needed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

GPU_SLOT_ENV = "MOLTWIN_GPU_SLOT"
WORKER_ENV = "WORKER_ID"


def gpu_limit_name() -> str | None:
    """``gpu:<WORKER_ID>`` when GPU slots are configured, else None."""
    if os.environ.get(GPU_SLOT_ENV, "").strip().lower() not in {"1", "strict", "true", "on"}:
        return None
    worker = os.environ.get(WORKER_ENV, "").strip()
    if not worker:
        from moltwin.errors import ConfigError

        raise ConfigError(f"{GPU_SLOT_ENV} is set but {WORKER_ENV} is not: a GPU worker must say which "
                          "GPU it owns (WORKER_ID=0 with CUDA_VISIBLE_DEVICES=0)", field=WORKER_ENV)
    return f"gpu:{worker}"


@contextmanager
def gpu_slot() -> Iterator[str | None]:
    """Hold this worker's GPU slot (``gpu:<WORKER_ID>``, one occupant) for the block."""
    name = gpu_limit_name()
    if name is None:
        with nullcontext():
            yield None
        return
    from prefect.concurrency.sync import concurrency

    with concurrency(name, occupy=1, strict=True):
        yield name
