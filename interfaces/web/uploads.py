"""Check a file (dry run), confirm to store it, and the result page of an upload.

The file is validated exactly as ``moltwin assays upload --dry-run`` does; its bytes
stay on the server under their SHA-256 and the confirm form names only a random
pending id. The check page shows how each column is read (the column-mapping step of
:mod:`interfaces.web.column_mapping`): an uploader may change it and check again (a random
*draft* id names the staged bytes), and the columns of a stored file are remembered for the
project (:mod:`lab_sync.column_mappings`) and applied to its next file. Committing claims that id once (a second click finds it taken),
re-checks the same bytes against the twin as it is now, and stores them with the
signed-in user as uploader. Then the twin update runs in the background.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from lab_sync.aggregate import aggregate_measurements
from lab_sync.column_mappings import check_mapping, mapping_for, remember_mapping, saved_mapping
from lab_sync.supersede import live_upload_with_name
from lab_sync.upload import UploadReport, upload_assay_file
from interfaces.web.column_mapping import OPTIONS, choices_from_form, file_headers, mapping_rows
from interfaces.web.context import SMALL_FORM_BYTES, WebContext, current_session, get_ctx
from interfaces.web.forms import BadForm, BodyTooLarge, read_form
from interfaces.web.pages import project_allowed, project_url, signin_redirect
from interfaces.web.preview import STORED_COLUMNS, fingerprint, rows_to_store
from interfaces.web.staging import StagingError, StagingFull, valid_id
from interfaces.web.structures import row_structures, structure_cards
from interfaces.web.users import Session, csrf_ok
from moltwin.errors import BadInputError, MolTwinError

router = APIRouter()
_BODY_SLACK = 64 * 1024  # multipart headers and the small fields around the file


def display_name(raw: str) -> str:
    """The browser's file name, reduced to text worth showing (it is never used as a path)."""
    base = raw.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable())[:200] or "upload.csv"


def _expired(ctx: WebContext) -> Response:
    return ctx.message("Please sign in again", "Your sign-in has expired or you are signed out. Nothing "
                       "was stored.", status=401, links=[("/signin", "Sign in")])


def _stale_form(ctx: WebContext, session: Session) -> Response:
    return ctx.message("This page is out of date", "The form did not carry this sign-in's security "
                       "code (it is from an older page or another site). Nothing was stored. Go back, "
                       "reload the page and try again.", status=403, session=session)


def _dry_run(ctx: WebContext, path: Path, project: str, filename: str, assay: str | None,
             user: str, mapping: dict[str, str] | None = None) -> UploadReport:
    return upload_assay_file(ctx.store, path, project, uploader=user, default_assay=assay, dry_run=True,
                             display_name=filename, archive_dir=ctx.settings.archive_dir,
                             structure_key=ctx.structure_key, mapping=mapping or None)


def _registered_smiles(ctx: WebContext, project: str, ids: set[str]) -> dict[str, str]:
    compounds = ctx.store.read_table("compounds", project)
    if compounds.empty:
        return {}
    compounds = compounds[compounds["compound_id"].isin(ids)]
    return dict(zip(compounds["compound_id"], compounds["canonical_smiles"]))


def _validation_page(ctx: WebContext, session: Session, project: str, filename: str, assay: str | None,
                     data: bytes, sha: str, path: Path, *, notice: str = "", mapping: dict[str, str] | None = None,
                     draft_id: str = "", choices: dict[int, str] | None = None, mapping_error: str = "",
                     remembered: dict[str, str] | None = None) -> Response:
    """Dry-run the staged bytes with ``mapping`` and show the column mapping, the table, and a
    confirm form for uploaders (``choices``/``mapping_error``: a refused column form, shown again)."""
    try:
        report = _dry_run(ctx, path, project, filename, assay, session.user.name, mapping)
        columns_read = mapping_rows(path, filename, mapping, remembered, choices)
    except BadInputError as exc:
        return ctx.message("This file cannot be read", exc.message, status=422, session=session,
                           links=[(project_url(project), "Choose another file")])
    stored = rows_to_store(report, data, assay, mapping)
    earlier = ctx.store.read_table("uploads", project, sha256=sha)
    if len(earlier):
        first = earlier.sort_values("uploaded_at").iloc[0]
        notice = (notice + " " if notice else "") + (
            f"This exact file was already stored in {project} as upload {first.upload_id} by "
            f"{first.uploader} on {str(first.uploaded_at)[:16]}; storing it again would store nothing.")
    pending_id, correctable = "", None
    if session.user.can_upload and report.n_valid and not len(earlier):
        # An earlier live upload with this file name: offer to store this file as its correction.
        old_id = live_upload_with_name(ctx.store, project, filename, sha)
        if old_id:
            correctable = ctx.store.read_table("uploads", upload_id=old_id).iloc[0].to_dict()
        pending_id = ctx.staging.new_pending({
            "sha256": sha, "project": project, "filename": filename, "assay": assay, "supersedes": old_id,
            "user": session.user.name, "session": session.session_hash, "fingerprint": fingerprint(report),
            "mapping": mapping or {}})
    limit = ctx.settings.max_rows_shown
    shown = stored[:limit]
    by_column = Counter(e.column for e in report.errors)
    return ctx.render("validation.html", session=session, project=project, project_url=project_url(project),
                      report=report, sha=sha, pending_id=pending_id, notice=notice, correctable=correctable,
                      errors=report.errors[:limit], n_errors=len(report.errors),
                      by_column=sorted(by_column.items(), key=lambda kv: -kv[1]),
                      columns=STORED_COLUMNS, stored=shown,
                      drawings=row_structures(shown, _registered_smiles(
                          ctx, project, {str(r.get("compound_id")) for r in shown[:50]})),
                      columns_read=columns_read, options=OPTIONS, draft_id=draft_id,
                      mapping_error=mapping_error, remembered=remembered or {},
                      n_stored=max(len(stored), report.n_valid),
                      structures=structure_cards(report.new_structures),
                      warnings=report.warnings[:limit])


@router.post("/projects/{name}/validate")
async def validate_upload(request: Request, name: str) -> Response:
    ctx = get_ctx(request)
    session = await run_in_threadpool(current_session, request)
    if session is None:
        return _expired(ctx)
    try:
        form = await read_form(request, ctx.settings.max_upload_bytes + _BODY_SLACK)
    except BodyTooLarge as exc:
        return ctx.message("This file is too large", f"The upload was about {exc.size / 1e6:.0f} MB; the "
                           f"limit is {ctx.settings.max_upload_bytes / 1e6:.0f} MB. Split the file into "
                           "smaller ones and upload each. Nothing was stored.", status=413, session=session,
                           links=[(project_url(name), "Back to the project")])
    except BadForm:
        return ctx.message("Upload not understood", "The browser sent something this page did not "
                           "expect. Reload the page and choose the file again.", status=400, session=session)
    if not csrf_ok(session, form.get("csrf_token")):
        return _stale_form(ctx, session)
    upload = form.files.get("file")
    if upload is None or (not upload.filename and not upload.content):
        return ctx.message("No file chosen", "Choose a CSV file to check.", status=400, session=session,
                           links=[(project_url(name), "Back to the project")])
    if len(upload.content) > ctx.settings.max_upload_bytes:
        return ctx.message("This file is too large", f"The file is {len(upload.content) / 1e6:.1f} MB; the "
                           f"limit is {ctx.settings.max_upload_bytes / 1e6:.0f} MB. Split it and upload "
                           "each part. Nothing was stored.", status=413, session=session,
                           links=[(project_url(name), "Back to the project")])
    if not (await run_in_threadpool(project_allowed, ctx.store, name))[0]:
        return ctx.message("No such project", f"There is no project '{name}'.", status=404, session=session)
    filename = display_name(upload.filename)
    assay = form.get("assay").strip() or None

    def check(sha: str, path: Path, keep: bool) -> Response:
        try:
            try:
                remembered = mapping_for(saved_mapping(ctx.store, name), file_headers(path, filename))
            except BadInputError:
                remembered = {}  # the check below says why the file cannot be read
            draft_id = ctx.staging.new_draft({
                "sha256": sha, "project": name, "filename": filename, "assay": assay, "mapping": remembered,
                "user": session.user.name, "session": session.session_hash}) if keep else ""
            return _validation_page(ctx, session, name, filename, assay, upload.content, sha, path,
                                    mapping=remembered, draft_id=draft_id, remembered=remembered)
        except Exception as exc:  # noqa: BLE001 - never a 500 page for a file nobody foresaw
            logging.getLogger(__name__).exception("checking %s failed", filename)
            return ctx.message("This file cannot be read", f"Checking it failed "
                               f"({exc.__class__.__name__}); nothing was stored. Check it is a CSV "
                               "export of the assay table.", status=422, session=session,
                               links=[(project_url(name), "Choose another file")])

    def work() -> Response:
        settings = ctx.settings
        ctx.staging.purge(settings.staging_hours)
        if not session.user.can_upload:  # a viewer can never confirm: keep nothing on disk
            with ctx.staging.scratch_file(upload.content) as path:
                return check(hashlib.sha256(upload.content).hexdigest(), path, keep=False)
        try:
            ctx.staging.make_room(session.user.name, len(upload.content),
                                  files_per_user=settings.staging_files_per_user,
                                  max_bytes=settings.staging_max_bytes)
        except StagingFull as exc:
            return ctx.message("The server is busy", f"Checked files waiting for confirmation fill "
                               f"the server's check area ({exc}). Nothing was stored; try again in "
                               "a few minutes.", status=503, session=session,
                               links=[(project_url(name), "Back to the project")])
        sha, path = ctx.staging.put_bytes(upload.content)
        try:
            return check(sha, path, keep=True)
        finally:
            ctx.staging.drop_unreferenced(sha)  # bytes no confirmation waits for are not kept

    return await run_in_threadpool(work)


def _recheck(ctx: WebContext, session: Session, name: str, fields: dict[str, str]) -> Response:
    """Check a staged file again with the columns the chemist chose (a refused choice is shown with why)."""
    draft_id = fields.get("draft_id", "")
    draft = ctx.staging.draft(draft_id)
    if draft is None or draft.get("project") != name:
        return ctx.message("Check the file again, please", "This file is no longer waiting on the server (it "
                           "was checked long ago, or replaced by newer checks). Nothing was stored.", status=410,
                           session=session, links=[(project_url(name), "Back to the project")])
    if draft.get("user") != session.user.name or draft.get("session") != session.session_hash:
        return ctx.message("Not your file", "This check belongs to another sign-in. Nothing was stored.",
                           status=403, session=session)
    filename, assay, sha = draft["filename"], draft.get("assay"), draft["sha256"]
    try:
        path = ctx.staging.verified_path(sha)
    except StagingError as exc:
        return ctx.message("Upload again, please", f"Nothing was stored: {exc}.", status=410,
                           session=session, links=[(project_url(name), "Back to the project")])
    try:
        headers = file_headers(path, filename)
    except BadInputError as exc:
        return ctx.message("This file cannot be read", exc.message, status=422, session=session,
                           links=[(project_url(name), "Choose another file")])
    remembered = mapping_for(saved_mapping(ctx.store, name), headers)
    by_index: dict[int, str] | None = None
    try:
        chosen, by_index = choices_from_form(fields, headers)
        check_mapping(chosen)
    except BadInputError as exc:
        page = _validation_page(ctx, session, name, filename, assay, path.read_bytes(), sha, path,
                                mapping=draft.get("mapping") or {}, draft_id=draft_id,
                                choices=by_index, mapping_error=exc.message,
                                remembered=remembered)
        page.status_code = 422
        return page
    ctx.staging.update_draft(draft_id, {**draft, "mapping": chosen})
    return _validation_page(ctx, session, name, filename, assay, path.read_bytes(), sha, path,
                            mapping=chosen, draft_id=draft_id, remembered=remembered,
                            notice="Checked again with the columns you chose; they are remembered for "
                                   f"{name} when you store this file.")


@router.post("/projects/{name}/columns")
async def recheck_columns(request: Request, name: str) -> Response:
    ctx = get_ctx(request)
    session = await run_in_threadpool(current_session, request)
    if session is None:
        return _expired(ctx)
    try:
        form = await read_form(request, SMALL_FORM_BYTES)
    except (BodyTooLarge, BadForm):
        return ctx.message("Columns not understood", "Reload the page and try again. Nothing was stored.",
                           status=400, session=session)
    if not csrf_ok(session, form.get("csrf_token")):
        return _stale_form(ctx, session)
    if not session.user.can_upload:
        return ctx.message("You cannot map columns", "Choosing how a file's columns are read needs the uploader "
                           "role; you are signed in as a viewer. Nothing was stored.", status=403, session=session)
    return await run_in_threadpool(_recheck, ctx, session, name, form.fields)


def _commit(ctx: WebContext, session: Session, pending_id: str, sha: str, correct: bool) -> Response:
    """Claim the pending confirmation once, re-check the same bytes, commit them.

    With ``correct``, the file supersedes the earlier upload of the same name that the check
    offered (taken from the server-side record, never from the form).
    """
    record = ctx.staging.pending(pending_id)
    if record is not None and (record.get("user") != session.user.name
                               or record.get("session") != session.session_hash):
        return ctx.message("Not your upload", "This confirmation belongs to another sign-in. Nothing was "
                           "stored.", status=403, session=session)
    if record is not None and record.get("sha256") != sha:
        return ctx.message("Different file", "The file you confirmed is not the file that was checked. "
                           "Nothing was stored; upload the file again.", status=400, session=session)
    claimed = ctx.staging.claim(pending_id) if record is not None else None
    if claimed is None:
        outcome = ctx.staging.outcome(pending_id)
        if outcome and outcome.get("upload_id"):
            return RedirectResponse(f"/uploads/{outcome['upload_id']}", status_code=303)
        return ctx.message("Already handled", "This confirmation was already used, is being stored right "
                           "now (a second click?), or has expired. Nothing more was stored. See the "
                           "project's upload list.", status=409, session=session)
    project, filename, assay = claimed["project"], claimed["filename"], claimed.get("assay")
    mapping = claimed.get("mapping") or {}
    supersedes = claimed.get("supersedes") if correct else None
    with ctx.commit_lock:  # one commit at a time, so the re-check below stays true until stored
        try:
            path = ctx.staging.verified_path(sha)
            check = _dry_run(ctx, path, project, filename, assay, session.user.name, mapping)
            if fingerprint(check) != claimed["fingerprint"]:
                ctx.staging.finish(pending_id, {"status": "changed"})
                return _validation_page(ctx, session, project, filename, assay, path.read_bytes(), sha, path,
                                        mapping=mapping, notice="The twin changed since you checked this file (another "
                                               "upload came in). Nothing was stored yet: look at the "
                                               "table again and confirm if it is still right.")
            report = upload_assay_file(ctx.store, path, project, uploader=session.user.name,
                                       default_assay=assay, display_name=filename, supersedes=supersedes,
                                       mapping=mapping or None,
                                       archive_dir=ctx.settings.archive_dir, structure_key=ctx.structure_key)
        except StagingError as exc:
            ctx.staging.finish(pending_id, {"status": "lost"})
            return ctx.message("Upload again, please", f"Nothing was stored: {exc}.", status=410,
                               session=session, links=[(project_url(project), "Back to the project")])
        except BadInputError as exc:  # e.g. the upload to correct was superseded meanwhile
            ctx.staging.release(pending_id)
            return ctx.message("Nothing was stored", exc.message, status=409, session=session,
                               links=[(project_url(project), "Back to the project")])
        except MolTwinError as exc:
            ctx.staging.release(pending_id)
            return ctx.message("Nothing was stored", f"The twin store refused the upload: {exc}", status=500,
                               session=session, links=[(project_url(project), "Back to the project")])
        except Exception:
            ctx.staging.release(pending_id)  # nothing was stored (one transaction), so it may be retried
            raise
    ctx.staging.finish(pending_id, {"status": report.status, "upload_id": report.upload_id})
    if report.status == "duplicate":
        return ctx.message("Already stored", f"This exact file was already stored as upload "
                           f"{report.upload_id}; nothing was stored twice.", status=200, session=session,
                           tone="notice",
                           links=[(f"/uploads/{report.upload_id}", "See that upload"),
                                  (project_url(project), "Back to the project")])
    if report.status != "committed":
        return ctx.message("Nothing was stored", "No row of this file passed the checks.", status=422,
                           session=session, links=[(project_url(project), "Back to the project")])
    if mapping:  # the columns the chemist stored this file with: read the project's next file the same way
        remember_mapping(ctx.store, project, mapping, session.user.name)
    ctx.staging.save_report(report.upload_id, report.to_dict())
    ctx.updater.start(project, report.upload_id)
    return RedirectResponse(f"/uploads/{report.upload_id}", status_code=303)


@router.post("/commit")
async def commit_upload(request: Request) -> Response:
    ctx = get_ctx(request)
    session = await run_in_threadpool(current_session, request)
    if session is None:
        return _expired(ctx)
    try:
        form = await read_form(request, SMALL_FORM_BYTES)
    except (BodyTooLarge, BadForm):
        return ctx.message("Confirmation not understood", "Reload the page and try again. Nothing was "
                           "stored.", status=400, session=session)
    if not csrf_ok(session, form.get("csrf_token")):
        return _stale_form(ctx, session)
    if not session.user.can_upload:
        return ctx.message("You cannot store measurements", f"You are signed in as '{session.user.name}', "
                           "who may check files but not store them (role: viewer). Nothing was stored. Ask "
                           "whoever runs MolTwin to give you the uploader role.", status=403, session=session)
    return await run_in_threadpool(_commit, ctx, session, form.get("pending_id"), form.get("sha256"),
                                   form.get("supersedes") == "1")


@router.get("/uploads/{upload_id}")
def upload_page(request: Request, upload_id: str) -> Response:
    session = current_session(request)
    if session is None:
        return signin_redirect()
    ctx = get_ctx(request)
    rows = ctx.store.read_table("uploads", upload_id=upload_id) if valid_id(upload_id) else None
    if rows is None or rows.empty:
        return ctx.message("No such upload", f"There is no upload '{upload_id}'.", status=404, session=session)
    upload = {k: (None if isinstance(v, float) and v != v else v) for k, v in rows.iloc[0].to_dict().items()}
    quarantined = ctx.store.read_table("quarantine", upload_id=upload_id).sort_values("source_row")
    added = ctx.store.read_table("measurements", upload_id=upload_id)
    compounds = sorted(set(added["compound_id"])) if len(added) else []
    project_rows = ctx.store.read_table("measurements", upload["project"])
    now = aggregate_measurements(project_rows[project_rows["compound_id"].isin(compounds)])
    twin = ctx.staging.twin_update(upload_id) or {"status": "unknown"}
    return ctx.render("upload.html", session=session, upload=upload, project_url=project_url(upload["project"]),
                      quarantined=quarantined.head(ctx.settings.max_rows_shown).to_dict("records"),
                      n_quarantined=len(quarantined), n_added=len(added), aggregated=now.to_dict("records"),
                      report={"new_compounds": [], "supersedes": None, "notes": [],
                              **(ctx.staging.report(upload_id) or {})}, twin=twin)
