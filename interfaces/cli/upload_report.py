"""The one printer of ``moltwin assays upload`` and ``upload-plate``: the report, then the twin update.

Both commands print a head line (what was stored), their own detail lines (plates, curves), every
row problem and flagged row, the notes, and how the twin update after the commit went; with
``--json`` the same as one object. A failed twin update never undoes the committed upload.
"""

from __future__ import annotations

import typer

from interfaces.cli import emit

MAX_ROWS_PRINTED = 200


def sync_after_upload(store, project: str, upload_id: str | None) -> dict:
    """Update the twin; a failed update is reported but never undoes the committed upload."""
    from flows.sync_trigger import trigger_sync
    from moltwin import progress

    try:
        with progress.to_stderr("moltwin sync", n_stages=5):  # a direct sync reports its stages
            return trigger_sync(store.engine.url.render_as_string(hide_password=False), project, upload_id)
    except Exception as exc:  # noqa: BLE001
        typer.echo(f"moltwin: warning: the upload is committed but the twin update failed: {exc}", err=True)
        return {"mode": "failed", "error": f"{exc.__class__.__name__}: {exc}"}


def sync_line(sync: dict) -> str:
    """How the twin update went, in one line (and its notes)."""
    if sync.get("mode") == "deployment":
        return f"twin update scheduled: flow run {sync['flow_run_id']} ({sync['deployment']})"
    if sync.get("mode") == "failed":
        return f"twin update failed: {sync['error']}"
    text = f"twin update {sync.get('run_id')}: {sync.get('status')}"
    if sync.get("report_html"):
        text += f"; report at {sync['report_html']}; {len(sync.get('ranking_changes', []))} ranking changes"
    return text + "".join(f"\n  note: {n}" for n in sync.get("notes", []))


def print_upload(report, head: str, details: list[str], *, store, project: str, no_sync: bool,
                 as_json: bool) -> None:
    """Print an upload report (``report.to_dict()`` for ``--json``), update the twin after a commit,
    and exit with the report's exit code."""
    payload = report.to_dict()
    if report.status == "committed" and not no_sync:
        payload["sync"] = sync_after_upload(store, project, report.upload_id)
    lines = [head + (f"; upload {report.upload_id}" if report.upload_id else ""), *details]
    lines += [f"  row {e.row}, column '{e.column}', value '{e.value}': {e.reason}"
              for e in report.errors[:MAX_ROWS_PRINTED]]
    lines += [f"  row {w.row}, flagged: {w.reason}" for w in getattr(report, "warnings", [])[:MAX_ROWS_PRINTED]]
    lines += [f"  note: {n}" for n in report.notes]
    if "sync" in payload:
        lines.append(sync_line(payload["sync"]))
    emit(payload, as_json, "\n".join(lines))
    raise typer.Exit(report.exit_code)
