"""Prefect retry policy: retry transient failures (GPU context, I/O, lost database
connections) with exponential backoff; never retry chemistry (those are records) or
configuration errors (a retry cannot fix them)."""

from __future__ import annotations

from prefect.tasks import exponential_backoff

from moltwin.transient import is_transient_exception

#: Task options for steps that touch GPUs, shared files or the database.
TRANSIENT_RETRIES = 3


def retry_if_transient(task, task_run, state) -> bool:
    """``retry_condition_fn``: True when the failed state's exception is transient."""
    try:
        state.result(raise_on_failure=True)
    except Exception as exc:  # noqa: BLE001 - the exception is what we classify
        return is_transient_exception(exc)
    return False


def transient_retry_options(backoff_factor_s: float = 10.0) -> dict:
    """``retries``/``retry_delay_seconds``/``retry_condition_fn`` for a ``@task``: delays of
    ``backoff_factor_s * 2**n`` seconds with ±50 % jitter (so retries from several
    workers do not arrive together)."""
    return {"retries": TRANSIENT_RETRIES,
            "retry_delay_seconds": exponential_backoff(backoff_factor=backoff_factor_s),
            "retry_jitter_factor": 0.5, "retry_condition_fn": retry_if_transient}
