"""Upload an assay file into the twin: validate every row, then commit in one transaction.

Order of work, so that nothing stored is ever lost or half-written:
1. read and validate all rows (no writes);
2. stop here on ``dry_run``, or when the same bytes were already uploaded to the project;
3. one transaction: archive the raw bytes (content-addressed by SHA-256), the upload
   record, newly seen compounds (origin ``assay upload``), the valid measurements, and
   the invalid rows in the quarantine table. Any exception rolls all of it back.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from lab_sync import duplicates, row_checks, schema
from lab_sync.project_settings import project_date_order
from lab_sync.read_stream import open_assay_stream
from lab_sync.store import TwinStore, utcnow
from lab_sync.supersede import check_supersedable, mark_superseded, same_name_notes
from lab_sync.validate import Measurement, RowError, check_columns, validate_row
from lab_sync.field_limits import NOTE_LIMIT, check_text
from moltwin.errors import BadInputError, ChemistryError, MolTwinError
from moltwin.paths import archive_dir as archive_dir_default

#: (smiles) -> (canonical smiles, InChIKey[, changes]); raises ChemistryError for a bad structure.
StructureKey = Callable[[str], tuple]


@dataclass(slots=True)
class UploadReport:
    """What happened to one upload; ``exit_code`` follows the CLI convention."""

    filename: str
    project: str
    sha256: str
    status: str  # committed | dry_run | duplicate | rejected
    n_rows: int
    n_valid: int
    n_invalid: int
    upload_id: str | None = None
    errors: list[RowError] = field(default_factory=list)
    #: rows stored but flagged: suspected duplicates (kept, not counted), mixed assay versions
    warnings: list[RowError] = field(default_factory=list)
    new_compounds: list[str] = field(default_factory=list)
    #: new compound id -> its standardized SMILES (drawn on the check page)
    new_structures: dict[str, str] = field(default_factory=dict)
    #: id in the file -> registered id its (already known) structure is filed under
    filed_under: dict[str, str] = field(default_factory=dict)
    #: the first valid measurements as they will be stored (for a preview; not in to_dict)
    preview: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    supersedes: str | None = None

    @property
    def exit_code(self) -> int:
        if self.status in {"rejected", "duplicate"} or (self.status == "dry_run" and self.n_valid == 0):
            return 2
        return 1 if self.n_invalid else 0

    def to_dict(self) -> dict:
        return {"filename": self.filename, "project": self.project, "sha256": self.sha256,
                "status": self.status, "upload_id": self.upload_id, "n_rows": self.n_rows,
                "n_valid": self.n_valid, "n_invalid": self.n_invalid,
                "errors": [e.to_dict() for e in self.errors],
                "warnings": [w.to_dict() for w in self.warnings], "new_compounds": self.new_compounds,
                "new_structures": self.new_structures, "filed_under": self.filed_under,
                "notes": self.notes, "supersedes": self.supersedes, "exit_code": self.exit_code}


def default_structure_key(smiles: str) -> tuple[str, str]:
    from chem.standardize import standardize_smiles  # heavy import kept out of module load

    std = standardize_smiles(smiles)
    return std.smiles, std.inchikey


def standardized_structure(smiles: str) -> tuple[str, str, tuple[str, ...]]:
    """Like :func:`default_structure_key`, plus the standardization steps that changed it
    (recorded beside the input structure in the registry)."""
    from chem.standardize import standardize_smiles

    std = standardize_smiles(smiles)
    return std.smiles, std.inchikey, std.changes


def _match_structures(measurements: list[Measurement], registry: dict[str, str],
                      registered_by_key: dict[str, str], structure_key: StructureKey,
                      filed_under: dict[str, str] | None = None
                      ) -> tuple[list[Measurement], list[RowError], dict[str, dict]]:
    """Resolve each row to a registered compound id, or a new compound to register.

    ``filed_under`` collects ``{id in the file: registered id}`` for known structures that the
    file names differently.
    """
    ok, errors, new = [], [], {}
    filed_under = {} if filed_under is None else filed_under
    cache: dict[str, tuple | ChemistryError] = {}
    for m in measurements:
        key = None
        if m.smiles:
            if m.smiles not in cache:
                try:
                    cache[m.smiles] = structure_key(m.smiles)
                except ChemistryError as exc:
                    cache[m.smiles] = exc
            result = cache[m.smiles]
            if isinstance(result, ChemistryError):
                errors.append(RowError(m.source_row, "smiles", m.smiles, f"invalid structure: {result}"))
                continue
            canonical, key, *changes = result
        if m.compound_id in registry:
            if key and key != registry[m.compound_id]:
                errors.append(RowError(m.source_row, "smiles", m.smiles,
                                       f"compound {m.compound_id} is registered with a different "
                                       "structure; fix the id or the SMILES"))
                continue
        elif key and key in registered_by_key:
            filed_under[m.compound_id] = registered_by_key[key]
            m.compound_id = registered_by_key[key]  # same structure known under its registered id
        elif m.compound_id in new:
            if key and key != new[m.compound_id]["inchikey"]:
                errors.append(RowError(m.source_row, "smiles", m.smiles,
                                       f"compound {m.compound_id} appears earlier in this file with a "
                                       "different structure"))
                continue
        elif key:
            new[m.compound_id] = {"compound_id": m.compound_id, "smiles": canonical, "inchikey": key,
                                  "origin": "assay upload", "input_smiles": m.smiles,
                                  "standardization": ";".join(changes[0]) if changes else ""}
        else:
            errors.append(RowError(m.source_row, "smiles", "", f"compound {m.compound_id} is not "
                                   "registered yet; give its SMILES"))
            continue
        ok.append(m)
    return ok, errors, new


PREVIEW_ROWS = 1000
_INTERNED = ("compound_id", "smiles", "assay_id", "endpoint", "qualifier", "units", "replicate",
             "test_date", "operator")


def _check_file(store: TwinStore, path: Path, name: str, project: str, sha: str, *,
                default_assay: str | None, mapping: dict[str, str] | None, comma_decimal: bool,
                structure_key: StructureKey, date_order: str | None
                ) -> tuple[UploadReport, list[Measurement], dict[str, dict]]:
    """Read and validate every row (no writes): the report, the valid rows, new compounds.

    Rows are streamed from disk and only the validated measurements are kept, with their
    repeated texts (ids, SMILES, assay, units, dates) shared: a 50 MB file is checked in a
    few times its size of memory (``bench/check_memory.py``).
    """
    table = open_assay_stream(path, name, mapping)
    report = UploadReport(name, project, sha, "rejected", 0, 0, 0)
    if table.unmapped_columns:
        report.notes.append("ignored columns: " + ", ".join(table.unmapped_columns))
    report.errors = check_columns(table, name, default_assay)
    if report.errors:
        report.n_rows = report.n_invalid = sum(1 for _ in table.rows())
        return report, [], {}
    valid: list[Measurement] = []
    versions: dict[int, str] = {}
    order = date_order or project_date_order(store, project)
    comma = comma_decimal or table.delimiter == ";"
    shared: dict[str, dict[str, str]] = {c: {} for c in _INTERNED}
    # An identical line repeated is a copy-paste slip, not a replicate: store it once. Rows are
    # remembered by a 64-bit hash of their cells (not the cells), to keep memory flat.
    first_seen: dict[int, int] = {}
    for row, line in table.rows():
        report.n_rows += 1
        key = hash(tuple(row.items()))
        if key in first_seen:
            report.errors.append(RowError(line, "_row", "", f"exact duplicate of row {first_seen[key]} "
                                          "(stored once; give replicates a replicate id to keep both)"))
            continue
        first_seen[key] = line
        m, errs = validate_row(row, line, default_assay=default_assay, comma_decimal=comma,
                               date_order=order)
        report.errors.extend(errs)
        if m is not None:
            for column, seen in shared.items():
                text = getattr(m, column)
                setattr(m, column, seen.setdefault(text, text))
            valid.append(m)
            if row.get("assay_version"):
                versions[line] = row["assay_version"]
    del first_seen, shared

    comp = schema.compounds
    with store.engine.connect() as conn:
        reg = conn.execute(select(comp.c.compound_id, comp.c.inchikey).where(comp.c.project == project)).all()
        known_endpoints = row_checks.stored_endpoints(conn, project, {m.assay_id for m in valid})
    registry = {r.compound_id: r.inchikey for r in reg}
    cross = (row_checks.endpoint_errors(valid, known_endpoints)
             + row_checks.version_errors(valid, versions))
    report.errors.extend(cross)
    bad_rows = {e.row for e in cross}
    valid = [m for m in valid if m.source_row not in bad_rows]
    report.warnings.extend(row_checks.version_suffix_warnings(valid))
    valid, struct_errors, new_compounds = _match_structures(
        valid, registry, {r.inchikey: r.compound_id for r in reg}, structure_key,
        report.filed_under)
    report.new_structures = {cid: c["smiles"] for cid, c in sorted(new_compounds.items())}
    report.notes.extend(f"{name} is the same structure as registered compound {registered}: its "
                        f"measurements are filed under {registered}"
                        for name, registered in sorted(report.filed_under.items()))
    report.errors.extend(struct_errors)
    report.errors.sort(key=lambda e: e.row)
    report.n_valid = len(valid)
    report.n_invalid = len({e.row for e in report.errors})
    report.new_compounds = sorted(new_compounds)
    report.preview = valid[:PREVIEW_ROWS]
    return report, valid, new_compounds


def upload_assay_file(store: TwinStore, path: Path, project: str, *, uploader: str = "cli",
                      default_assay: str | None = None, mapping: dict[str, str] | None = None,
                      dry_run: bool = False, comma_decimal: bool = False,
                      archive_dir: Path | None = None, display_name: str | None = None,
                      structure_key: StructureKey = standardized_structure,
                      supersedes: str | None = None, confirm_replicates: bool = False,
                      date_order: str | None = None) -> UploadReport:
    """Validate ``path`` and, unless ``dry_run``, commit its valid rows to ``project``.

    A row equal to an active measurement of an earlier upload (same compound, assay, endpoint,
    value, date and operator) is a suspected duplicate: stored inactive and flagged in
    ``report.warnings`` unless ``confirm_replicates`` (:mod:`lab_sync.duplicates`).
    ``date_order`` overrides the project's setting for ``NN/NN/YYYY`` dates.

    ``supersedes`` names an earlier upload of the project that this file corrects: in the same
    transaction its measurements become inactive and it is marked superseded (nothing is deleted;
    see :mod:`lab_sync.supersede`).
    """
    name = display_name or Path(path).name
    if supersedes:
        with store.engine.connect() as conn:
            check_supersedable(conn, project, supersedes)
    try:
        sha = _file_sha256(Path(path))
    except OSError as exc:
        raise BadInputError(f"cannot read the file: {exc.strerror}", file=str(path)) from exc
    check_text("uploader", uploader)
    check_text("project name", project)
    check_text("file name", name, NOTE_LIMIT)
    try:
        report, valid, new_compounds = _check_file(
            store, Path(path), name, project, sha, default_assay=default_assay, mapping=mapping,
            comma_decimal=comma_decimal, structure_key=structure_key, date_order=date_order)
    except MolTwinError:
        raise
    except Exception as exc:  # a bug or an input nobody foresaw: the chemist gets a plain answer
        raise BadInputError(f"this file could not be read ({exc.__class__.__name__}: {exc}); "
                            "nothing was stored. Check it is a CSV export of the assay table, or "
                            "send it to whoever runs MolTwin", file=name) from exc
    if report.errors and report.errors[0].row == 1:  # the file's columns are unusable
        return report
    if dry_run:
        report.status = "dry_run"
        if not confirm_replicates:
            with store.engine.connect() as conn:
                _flag_duplicates(conn, report, project, valid)
        return report
    if not valid:
        report.notes.append("nothing was stored: no row passed validation")
        return report
    up = schema.uploads
    upload_id = uuid.uuid4().hex[:16]
    archive = (archive_dir or archive_dir_default()) / f"{sha}.csv"
    with store.transaction() as conn:
        # Checked again under the project's write lock: the same file sent twice at the same
        # moment must be stored once.
        store.lock_project(conn, project)
        previous = conn.execute(select(up.c.upload_id).where(
            (up.c.project == project) & (up.c.sha256 == sha))).first()
        if previous is None:
            _commit(store, conn, report, project, upload_id, uploader, archive, Path(path), valid,
                    new_compounds, supersedes, confirm_replicates)
    if previous is not None:
        report.status, report.upload_id = "duplicate", previous.upload_id
        report.notes.append(f"this exact file was already uploaded as {previous.upload_id}; "
                            "nothing was stored again")
        return report
    report.status, report.upload_id = "committed", upload_id
    if not supersedes:
        report.notes.extend(same_name_notes(store, project, name, sha, upload_id))
    return report


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _flag_duplicates(conn, report: UploadReport, project: str, valid: list[Measurement]) -> set[int]:
    """Add a warning per suspected duplicate; returns their source rows."""
    hits = duplicates.earlier_copies(conn, project, valid)
    report.warnings.extend(RowError(row, duplicates.FLAG, "", duplicates.reason(*hit))
                           for row, hit in sorted(hits.items()))
    report.warnings.sort(key=lambda w: w.row)
    if hits:
        report.notes.append(f"{len(hits)} suspected duplicate rows are stored but not counted; "
                            "confirm true replicates with moltwin assays confirm-replicate")
    return set(hits)


def _commit(store: TwinStore, conn, report: UploadReport, project: str, upload_id: str, uploader: str,
            archive: Path, source: Path, valid: list[Measurement], new_compounds: dict[str, dict],
            supersedes: str | None, confirm_replicates: bool = False) -> None:
    """The writes of one upload, inside the caller's transaction."""
    up = schema.uploads
    store.ensure_project(project, conn=conn)
    archive.parent.mkdir(parents=True, exist_ok=True)
    if not archive.exists():
        tmp = archive.with_suffix(".tmp")
        shutil.copyfile(source, tmp)
        if _file_sha256(tmp) != report.sha256:  # the file changed since it was checked
            tmp.unlink()
            raise BadInputError("the file changed while it was being stored; nothing was stored",
                                file=report.filename)
        tmp.replace(archive)
    conn.execute(up.insert().values(
        upload_id=upload_id, project=project, filename=report.filename, sha256=report.sha256,
        uploader=uploader, uploaded_at=utcnow(), archive_path=str(archive), n_rows=report.n_rows,
        n_valid=report.n_valid, n_invalid=report.n_invalid, status="committed"))
    registered = store.register_compounds(project, new_compounds.values(), conn=conn)
    # A concurrent upload may have registered the same structure under its own id meanwhile.
    same = dict(zip(registered["compound_id"], registered["registered_id"]))
    for m in valid:
        m.compound_id = same.get(m.compound_id, m.compound_id)
    if supersedes:  # before the duplicate check: rows repeated from the corrected file are no copies
        n_off = mark_superseded(conn, project, supersedes, upload_id)
        report.supersedes = supersedes
        report.notes.append(f"supersedes upload {supersedes}: its {n_off} measurements are kept as "
                            "history and no longer counted")
    # Checked under the project's lock, after ids are resolved to registered ones.
    suspected = set() if confirm_replicates else _flag_duplicates(conn, report, project, valid)
    store.insert_rows("measurements", [
        {**{k: v for k, v in m.to_dict().items() if k != "smiles"}, "project": project,
         "upload_id": upload_id, "active": m.source_row not in suspected}
        for m in valid], conn=conn)
    store.insert_rows("quarantine", [
        {"upload_id": upload_id, "source_row": e.row, "column_name": e.column, "value": e.value,
         "reason": e.reason} for e in report.errors + [w for w in report.warnings
                                                        if w.column == duplicates.FLAG]],
        conn=conn)
