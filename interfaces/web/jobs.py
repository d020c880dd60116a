"""The work the pages can queue, and how each is sent to a Prefect deployment when a server is configured.

The work itself lives in :mod:`pipeline.queued_work`; here each kind also names its deployment
and parameters (for :class:`interfaces.web.job_queue.JobQueue`): a screen runs the ``screen``
deployment with the saved configuration, a simulation the ``simulate_compound`` deployment.
Deployment names can be changed with ``$MOLTWIN_SCREEN_DEPLOYMENT`` and
``$MOLTWIN_COMPOUND_DEPLOYMENT``.
"""

from __future__ import annotations

import os

from lab_sync.store import open_store
from pipeline.config import check_screen_config
from pipeline.queued_work import saved_config, screen_project, simulate_compound

__all__ = ["saved_config", "screen_project", "simulate_compound", "screen_deployment", "simulate_deployment"]

SCREEN_DEPLOYMENT = "screen/screen"
COMPOUND_DEPLOYMENT = "simulate_compound/compound"


def screen_deployment(store_url: str, project: str) -> tuple[str, dict]:
    """``(deployment name, parameters)`` of a screen with the project's saved configuration."""
    config = saved_config(open_store(store_url), project)
    if config is None:
        raise ValueError(f"project {project} has no completed run whose configuration could be reused")
    return (os.environ.get("MOLTWIN_SCREEN_DEPLOYMENT", SCREEN_DEPLOYMENT),
            {"config": check_screen_config(config).model_dump(mode="json"), "db_url": store_url})


def simulate_deployment(store_url: str, project: str, compound_id: str, smiles: str) -> tuple[str, dict]:
    """``(deployment name, parameters)`` of one compound's simulation."""
    return (os.environ.get("MOLTWIN_COMPOUND_DEPLOYMENT", COMPOUND_DEPLOYMENT),
            {"project": project, "db_url": store_url, "compound_id": compound_id, "smiles": smiles})
